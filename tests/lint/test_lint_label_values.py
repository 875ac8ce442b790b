"""Label values and grouping labels: a matcher on a closed label set (the app's pre-initialised results and
reasons, the shipper's `app` and `level`) must match a value the app really sends, and a by/without/on/
ignoring/group_left label must exist on the series under it. Each mistake fails alone with a suggestion;
open labels, match-anything regexes and variable values never fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.metrics import CONNECTION_RESULTS
from scripts.common.paths import REPO_ROOT
from scripts.lint.cli import lint_directory
from scripts.lint.contributing import load_guides
from tests.support.rendered_fixtures import SEL, clean_dashboard, lint, only, set_expr

pytestmark = pytest.mark.prometheus  # promtool (Debian package prometheus) checks the PromQL

LABEL_RULES = ("promql-label", "promql-label-value", "logql-label-value")


def connections(matcher: str) -> str:
    return f"sum(rate(chat_connections_total{{{SEL}, {matcher}}}[$__rate_interval]))"


def with_variable(dashboard: dict[str, Any], variable: dict[str, Any]) -> dict[str, Any]:
    dashboard["templating"]["list"].append(variable)
    return dashboard


def custom_variable(name: str, values: tuple[str, ...]) -> dict[str, Any]:
    """The shape dashboards.core.variables.CustomVariable renders: multi-select with All."""
    return {
        "name": name, "label": name, "type": "custom", "includeAll": True, "multi": True,
        "query": ",".join(values), "options": [{"text": v, "value": v} for v in values],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("matcher", "words"),
    [
        ('result="evicted"', 'matches no value chat_connections_total has: did you mean "evicted_slow"?'),
        ('result!="evicted"', 'excludes no value chat_connections_total has: did you mean "evicted_slow"?'),
        # Fully anchored, as Prometheus matches: "evict" is not a prefix match.
        ('result=~"evict"', 'matches no value chat_connections_total has: did you mean "evicted_slow"?'),
        ('result=~"acepted|clsed"', "matches no value chat_connections_total has"),
        ('result!~".+"', "excludes every value chat_connections_total has"),
    ],
)
def test_a_wrong_value_of_a_closed_label_fails_with_the_legal_values(
    tmp_path: Path, matcher: str, words: str
) -> None:
    finding = only(lint(tmp_path, set_expr(clean_dashboard(), 0, connections(matcher))), "promql-label-value")
    assert finding.message.startswith(matcher + " ")
    assert words in finding.message
    assert f"(values: {', '.join(sorted(CONNECTION_RESULTS))})" in finding.message


def test_a_custom_variable_whose_only_option_is_wrong_fails(tmp_path: Path) -> None:
    """Our CustomVariable options are checked (All of one option is that option alone)."""
    dashboard = with_variable(clean_dashboard(), custom_variable("result", ("evicted",)))
    dashboard = set_expr(dashboard, 0, connections('result=~"$result"'))
    message = only(lint(tmp_path, dashboard), "promql-label-value").message
    assert message.startswith('result=~"evicted" ') and 'did you mean "evicted_slow"?' in message


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("sum by (status) (rate(chat_connections_total{SEL}[$__rate_interval]))", "by (status)"),
        ("sum without (status) (rate(chat_connections_total{SEL}[$__rate_interval]))", "without (status)"),
        (
            "sum(rate(chat_connections_total{SEL}[$__rate_interval])) / on (status)"
            " sum(rate(chat_connections_total{SEL}[$__rate_interval]))",
            "on (status)",
        ),
        (
            "rate(chat_connections_total{SEL}[$__rate_interval]) / ignoring (status)"
            " group_left sum without (result) (rate(chat_connections_total{SEL}[$__rate_interval]))",
            "ignoring (status)",
        ),
        (
            "rate(chat_connections_total{SEL}[$__rate_interval]) / ignoring (result)"
            " group_left (status) sum without (result) (rate(chat_connections_total{SEL}[$__rate_interval]))",
            "group_left (status)",
        ),
    ],
)
def test_a_grouping_label_the_series_lack_suggests_theirs(tmp_path: Path, expr: str, words: str) -> None:
    dashboard = set_expr(clean_dashboard(), 0, expr.replace("{SEL}", "{" + SEL + "}"))
    finding = only(lint(tmp_path, dashboard), "promql-label")
    assert words in finding.message and "did you mean result?" in finding.message


@pytest.mark.parametrize(
    ("selector", "matcher", "words"),
    [
        (
            '{app="chat", level=~"eror|fatal"}',
            'level=~"eror|fatal"',
            "(values: critical, debug, error, info, warning)",
        ),
        ('{app="chat", level="warn"}', 'level="warn"', 'did you mean "warning"?'),
        ('{app="chats", level=~"error|critical"}', 'app="chats"', 'did you mean "chat"? (values: chat)'),
    ],
)
def test_a_stream_label_value_the_shipper_never_sends_fails(
    tmp_path: Path, selector: str, matcher: str, words: str
) -> None:
    dashboard = set_expr(clean_dashboard(), 4, selector + ' | json | event != ""')
    finding = only(lint(tmp_path, dashboard), "logql-label-value")
    assert finding.message.startswith(f"{matcher} ") and "the log shipper sends" in finding.message
    assert words in finding.message


@pytest.mark.parametrize(
    "expr",
    [
        connections('result=~".*"'),
        connections('result=~".+"'),
        connections('result!=""'),
        connections('result=~"evicted_.*|closed"'),
        connections('result!~"closed"'),
        # Open labels: target labels, exposition-computed `le`, the runtime collectors' values.
        connections('result="closed", job="anything"'),
        "sum(rate(chat_broadcast_duration_seconds_bucket{" + SEL + ', le="0.1"}[$__rate_interval]))',
        "max(python_info{" + SEL + ', version="9.9.9"})',
        # label_replace writes `kind`: grouping on it is no typo.
        'sum by (kind) (label_replace(rate(chat_connections_total{SEL}[$__rate_interval]), "kind", "all",'
        ' "result", ".*"))'.replace("{SEL}", "{" + SEL + "}"),
        "histogram_quantile(0.9, sum by (le) (rate(chat_message_size_bytes_bucket{"
        + SEL
        + "}[$__rate_interval])))",
    ],
)
def test_legal_and_open_values_pass(tmp_path: Path, expr: str) -> None:
    assert lint(tmp_path, set_expr(clean_dashboard(), 0, expr)) == []


def test_values_from_variables_pass(tmp_path: Path) -> None:
    """A custom variable's legal options (All → `(a|b)`) pass; a query variable's value is never judged."""
    dashboard = with_variable(clean_dashboard(), custom_variable("result", ("accepted", "evicted_slow")))
    dashboard = with_variable(
        dashboard,
        {
            "name": "saved", "type": "query", "query": "label_values(chat_connections_total, result)",
            "datasource": {"type": "prometheus", "uid": "${datasource}"}, "current": {"value": "stale"},
        },
    )  # fmt: skip
    for matcher in ('result=~"$result"', 'result=~"${result}"', 'result="$saved"', 'result=~"$saved"'):
        assert lint(tmp_path, set_expr(dashboard, 0, connections(matcher))) == [], matcher


def test_the_level_variable_of_the_logs_dashboard_passes(tmp_path: Path) -> None:
    dashboard = with_variable(
        clean_dashboard(), custom_variable("level", ("debug", "info", "warning", "error", "critical"))
    )
    assert lint(tmp_path, set_expr(dashboard, 4, '{app="chat", level=~"$level"} | json')) == []


def test_the_repository_dashboards_have_no_label_findings() -> None:
    findings = lint_directory(REPO_ROOT / "provisioning" / "grafana", load_guides())
    assert [f for f in findings if f.rule in LABEL_RULES] == []
