"""The lint's rules on small synthetic dashboards and alert rules of the real Grafana shape.

Each test breaks ONE thing in an otherwise clean fixture and asserts the lint names that thing (rule, panel,
message), so every rule is proven able to fail. These run the real promtool and the real lezer grammars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from scripts.lint.cli import lint_directory
from scripts.lint.contributing import load_guides, runbook_anchors
from scripts.lint.promql import MAX_GROUP_CARDINALITY
from scripts.lint.queries import lint_queries
from scripts.lint.registry import build_registry
from scripts.lint.waivers import Waiver
from scripts.rendered.model import Finding, PanelQuery
from tests.support.rendered_fixtures import (
    SEL,
    clean_dashboard,
    clean_guides,
    clean_rules,
    lint,
    only,
    set_expr,
    write_guides,
    write_rendered,
)

pytestmark = pytest.mark.prometheus  # promtool (Debian package prometheus) checks the PromQL


def test_clean_fixture_passes(tmp_path: Path) -> None:
    assert lint(tmp_path, clean_dashboard()) == []


def test_metric_typo_names_panel_query_and_closest_name(tmp_path: Path) -> None:
    dashboard = set_expr(
        clean_dashboard(), 0, f"sum(rate(chat_mesages_received_total{{{SEL}}}[$__rate_interval]))"
    )
    finding = only(lint(tmp_path, dashboard), "promql-metric")
    assert finding.where == "chat-overview / #1 Messages [A]"
    assert "chat_mesages_received_total" in finding.message
    assert "did you mean chat_messages_received_total" in finding.message


def test_label_typo_suggests_existing_label(tmp_path: Path) -> None:
    dashboard = set_expr(
        clean_dashboard(), 2, f"sum by (reasn) (rate(chat_frames_rejected_total{{{SEL}}}[$__rate_interval]))"
    )
    assert "did you mean reason" in only(lint(tmp_path, dashboard), "promql-label").message
    dashboard = set_expr(
        clean_dashboard(),
        2,
        f'sum(rate(chat_frames_rejected_total{{{SEL}, reasn="invalid_json"}}[$__rate_interval]))',
    )
    finding = only(lint(tmp_path, dashboard), "promql-label")
    assert finding.message == "chat_frames_rejected_total has no label 'reasn'; did you mean reason?"
    assert finding.where == "chat-overview / #3 Rejected by reason [A]" and "reasn=" in finding.query


def test_promql_syntax_error_comes_from_promtool(tmp_path: Path) -> None:
    dashboard = set_expr(
        clean_dashboard(), 0, f"sum(rate(chat_messages_received_total{{{SEL}}}[$__rate_interval])"
    )
    finding = only(lint(tmp_path, dashboard), "promql-syntax")
    assert "promtool" in finding.message and "parse error" in finding.message
    assert finding.where.startswith("chat-overview / #1")


def test_rate_needs_rate_interval(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 0, f"sum(rate(chat_messages_received_total{{{SEL}}}[5m]))")
    assert "[$__rate_interval]" in only(lint(tmp_path, dashboard), "promql-rate-interval").message


def test_rate_of_gauge_and_raw_counter_fail(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 0, f"sum(rate(registered_clients{{{SEL}}}[$__rate_interval]))")
    assert "deriv()" in only(lint(tmp_path, dashboard), "promql-counter-rate").message
    dashboard = set_expr(clean_dashboard(), 0, f"sum(chat_messages_received_total{{{SEL}}})")
    assert "must be wrapped in rate()" in only(lint(tmp_path, dashboard), "promql-counter-rate").message


def test_histogram_quantile_needs_buckets_by_le(tmp_path: Path) -> None:
    dashboard = set_expr(
        clean_dashboard(),
        1,
        "histogram_quantile(0.95, sum(rate("
        f"chat_broadcast_duration_seconds_bucket{{{SEL}}}[$__rate_interval])))",
    )
    assert "keep `le`" in only(lint(tmp_path, dashboard), "promql-histogram-quantile").message
    dashboard = set_expr(
        clean_dashboard(),
        1,
        f"histogram_quantile(0.95, sum by (le) (rate(chat_broadcast_duration_seconds_count{{{SEL}}}"
        "[$__rate_interval])))",
    )
    assert "_bucket" in only(lint(tmp_path, dashboard), "promql-histogram-quantile").message


def test_job_instance_matchers_required(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 3, 'sum(registered_clients{job=~"$job"})')
    assert 'instance=~"$instance"' in only(lint(tmp_path, dashboard), "promql-job-instance").message


def test_high_cardinality_by_label(tmp_path: Path) -> None:
    dashboard = set_expr(
        clean_dashboard(), 2, f"sum by (user) (rate(chat_frames_rejected_total{{{SEL}}}[$__rate_interval]))"
    )
    assert "user" in only(lint(tmp_path, dashboard), "promql-label").message


def test_unknown_template_variable(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 3, 'sum(registered_clients{job=~"$jbo", instance=~"$instance"})')
    assert "$jbo" in only(lint(tmp_path, dashboard), "template-variable").message


def test_logql_syntax_error_has_position(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 4, '{app="chat" | json')
    finding = only(lint(tmp_path, dashboard), "logql-syntax")
    assert "column 13" in finding.message


def test_logql_stream_label_not_shipped(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 4, '{app="chat", levl="error"} | json')
    message = only(lint(tmp_path, dashboard), "logql-stream-labels").message
    assert "levl" in message and "did you mean level" in message


def test_grid_overlap_and_width(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["panels"][1]["gridPos"]["x"] = 6
    assert "overlap" in only(lint(tmp_path, dashboard), "dashboard-structure").message
    dashboard = clean_dashboard()
    dashboard["panels"][1]["gridPos"]["w"] = 13
    assert "24-column" in only(lint(tmp_path, dashboard), "dashboard-structure").message


def test_datasource_must_resolve_and_be_templated(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["panels"][0]["datasource"] = {"type": "prometheus", "uid": "${promds}"}
    assert "resolves to nothing" in only(lint(tmp_path, dashboard), "datasource-ref").message
    dashboard = clean_dashboard()
    dashboard["panels"][0]["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    assert "template variable" in only(lint(tmp_path, dashboard), "panel-datasource").message


def test_duplicate_refids_and_empty_targets(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["panels"][0]["targets"].append(dict(dashboard["panels"][0]["targets"][0]))
    assert "duplicate refId A" in only(lint(tmp_path, dashboard), "target-refid").message
    dashboard = clean_dashboard()
    dashboard["panels"][3]["targets"] = []
    assert "no targets" in only(lint(tmp_path, dashboard), "panel-targets").message


def test_best_practice_panel_rules(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["panels"][0]["type"] = "graph"
    assert "timeseries" in only(lint(tmp_path, dashboard), "panel-deprecated-type").message
    dashboard = clean_dashboard()
    dashboard["panels"][0]["fieldConfig"]["defaults"]["unit"] = "furlongs"
    assert "furlongs" in only(lint(tmp_path, dashboard), "panel-units").message
    dashboard = clean_dashboard()
    del dashboard["panels"][0]["description"]
    assert "description" in only(lint(tmp_path, dashboard), "panel-title-description").message


def test_template_variables_required(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["templating"]["list"][0]["label"] = "Prometheus"
    assert "Data source" in only(lint(tmp_path, dashboard), "template-datasource").message
    dashboard = clean_dashboard()
    dashboard["templating"]["list"] = [v for v in dashboard["templating"]["list"] if v["name"] != "instance"]
    findings = lint(tmp_path, dashboard)
    assert "instance" in only(findings, "template-job-instance").message


def test_alert_rules_structure_and_practice(tmp_path: Path) -> None:
    rules = clean_rules(panel_id=99)
    assert "__panelId__" in only(lint(tmp_path, clean_dashboard(), rules), "alert-dashboard-link").message
    rules = clean_rules()
    rules[0]["rules"][0]["condition"] = "D"
    assert "condition" in only(lint(tmp_path, clean_dashboard(), rules), "alert-group").message
    rules = clean_rules()
    del rules[0]["rules"][0]["annotations"]["runbook_url"]
    del rules[0]["rules"][0]["labels"]["severity"]
    findings = lint(tmp_path, clean_dashboard(), rules)
    assert "runbook_url" in only(findings, "alert-annotations").message
    assert only(findings, "alert-severity").where == "alert chat-app-down Chat app down"
    rules = clean_rules()
    rules[0]["rules"][0]["data"][0]["model"]["expr"] = "sum(up)"
    assert 'job="chat"' in only(lint(tmp_path, clean_dashboard(), rules), "promql-job-instance").message


def test_waiver_needs_reason_and_a_match(tmp_path: Path) -> None:
    dashboard = set_expr(clean_dashboard(), 3, 'sum(registered_clients{job=~"$job"})')
    waiver = Waiver(
        "chat-overview", "Clients", "promql-job-instance", "summed over every instance on purpose"
    )
    root = write_rendered(tmp_path / "out", [dashboard], clean_rules())
    findings = lint_directory(root, clean_guides(tmp_path), (waiver,))
    assert [(f.rule, f.status) for f in findings] == [("promql-job-instance", "waived")]
    empty_reason = Waiver("chat-overview", "Clients", "promql-job-instance", " ")
    findings = [
        f for f in lint_directory(root, clean_guides(tmp_path), (empty_reason,)) if f.status == "fail"
    ]
    assert {f.rule for f in findings} == {"promql-job-instance", "waiver"}
    stale = Waiver("chat-overview", "Messages", "panel-units", "no longer needed")
    assert "matches no finding" in only(lint(tmp_path, clean_dashboard(), waivers=(stale,)), "waiver").message


@pytest.mark.parametrize(
    "expr",
    [
        "histogram_quantile(0.9, sum by (le) (rate(chat_message_size_bytes_bucket{SEL}[$__rate_interval])))",
        "sum(rate(chat_message_handling_seconds_sum{SEL}[$__rate_interval]))"
        " / sum(rate(chat_message_handling_seconds_count{SEL}[$__rate_interval]))",
        "sum(increase(chat_connections_total{SEL}[$__range]))",
        "max(up{SEL})",
        "sum by (le) (rate(chat_message_size_bytes_bucket{SEL}[$__rate_interval]))",
    ],
)
def test_good_queries_pass(tmp_path: Path, expr: str) -> None:
    assert lint(tmp_path, set_expr(clean_dashboard(), 0, expr.replace("{SEL}", "{" + SEL + "}"))) == []


def test_variable_query_names_exported_metric_and_label(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["templating"]["list"][2]["query"] = "label_values(registered_client, job)"
    message = only(lint(tmp_path, dashboard), "template-variable-query").message
    assert "did you mean registered_clients" in message
    dashboard["templating"]["list"][2]["query"] = {
        "query": "label_values(registered_clients, jbo)",
        "refId": "v",
    }
    assert "no label 'jbo'" in only(lint(tmp_path, dashboard), "template-variable-query").message


def _without(path: tuple[Any, ...]) -> Any:
    """A change that deletes dashboard[path[0]]...[path[-1]] (for the parametrized cases below)."""

    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "rule", "words"),
    [
        (lambda d: d["panels"][0].update(title=""), "panel-title-description", "no title"),
        (_without(("panels", 0, "fieldConfig", "defaults", "unit")), "panel-units", "pass unit=UNIT_"),
        (lambda d: d["panels"][0]["targets"][0].update(expr=" "), "panel-targets", "empty query"),
        (lambda d: d["panels"][0].update(type="singlestat"), "panel-deprecated-type", "'stat'"),
        (lambda d: d["panels"][0].pop("datasource"), "datasource-ref", "no datasource"),
    ],
)
def test_each_panel_rule_fails_on_its_own(tmp_path: Path, change: Any, rule: str, words: str) -> None:
    dashboard = clean_dashboard()
    change(dashboard)
    assert words in only(lint(tmp_path, dashboard), rule).message


@pytest.mark.parametrize(
    ("change", "rule", "words"),
    [
        (_without((0, "rules", 0, "annotations", "summary")), "alert-annotations", "summary"),
        (
            lambda r: r[0]["rules"][0]["annotations"].update(runbook_url="see wiki"),
            "alert-annotations",
            "URL",
        ),
        (
            lambda r: r[0]["rules"][0]["annotations"].update(__dashboardUid__="nope"),
            "alert-dashboard-link",
            "'nope'",
        ),
        (
            _without((0, "rules", 0, "annotations", "__panelId__")),
            "alert-dashboard-link",
            "add __dashboardUid__",
        ),
        (lambda r: r[0]["rules"][0]["labels"].update(severity="urgent"), "alert-severity", "severity"),
        (
            lambda r: r[0]["rules"][0]["data"][2]["model"].update(expression="Z"),
            "alert-data",
            "missing refId 'Z'",
        ),
        (lambda r: r[0]["rules"][0].update(noDataState="Sometimes"), "alert-states", "noDataState"),
        (
            lambda r: r[0]["rules"][0]["data"][2]["model"]["conditions"][0]["evaluator"].update(type="above"),
            "alert-data",
            "threshold needs an evaluator type",
        ),
    ],
)
def test_each_alert_rule_check_fails_on_its_own(tmp_path: Path, change: Any, rule: str, words: str) -> None:
    rules = clean_rules()
    change(rules)
    assert words in only(lint(tmp_path, clean_dashboard(), rules), rule).message


def _with_runbook(anchor: str) -> list[dict[str, Any]]:
    rules = clean_rules()
    notes = rules[0]["rules"][0]["annotations"]
    notes["runbook_url"] = notes["runbook_url"].replace("#app-down", f"#{anchor}")
    return rules


def test_a_runbook_url_needs_a_section_under_runbooks_in_the_readme(tmp_path: Path) -> None:
    readme, _ = write_guides(tmp_path / "guides")
    finding = only(lint(tmp_path, clean_dashboard(), _with_runbook("chat-app-down")), "alert-runbook")
    assert finding.where == "alert chat-app-down Chat app down"
    assert finding.message == (
        f"runbook_url points at {readme}#chat-app-down, which has no section: "
        f"add `### Chat app down` under `## Runbooks` in {readme}"
    )
    other = only(lint(tmp_path, clean_dashboard(), _with_runbook("restart-it")), "alert-runbook")
    assert (
        "add `### Restart it` under `## Runbooks`" in other.message
    )  # no title to reuse: the anchor's words
    outside = _with_runbook("see-wiki")
    outside[0]["rules"][0]["annotations"]["runbook_url"] = "https://wiki.example/runbooks#see-wiki"
    assert lint(tmp_path, clean_dashboard(), outside) == []  # a runbook elsewhere is not the README's


def test_only_headings_under_runbooks_outside_code_are_runbook_sections() -> None:
    readme = (
        "# Title\n## Runbooks\nIntro.\n### Chat app down\n#### Details, in depth\n"
        "```python\n# not a heading\n```\n## Troubleshooting\n### Evictions\n"
    )
    assert runbook_anchors(readme) == {"chat-app-down", "details-in-depth"}


def test_a_promql_rule_needs_a_fires_and_a_quiet_case(tmp_path: Path) -> None:
    readme, cases = write_guides(tmp_path / "guides")
    cases.write_text("chat-app-down:\n  fires: {}\n")
    finding = only(lint(tmp_path, clean_dashboard(), guides=load_guides(readme, cases)), "alert-cases")
    assert finding.where == "alert chat-app-down Chat app down"
    assert finding.message == f"no `quiet` case: add one under `chat-app-down:` in {cases} (see its header)"
    cases.write_text("{}\n")
    missing = [f.message for f in lint(tmp_path, clean_dashboard(), guides=load_guides(readme, cases))]
    assert [m.split(":")[0] for m in missing] == ["no `fires` case", "no `quiet` case"]


def test_a_logql_rule_needs_no_cases_and_stale_cases_fail(tmp_path: Path) -> None:
    readme, cases = write_guides(tmp_path / "guides")
    logql = clean_rules()
    query = logql[0]["rules"][0]["data"][0]
    query["datasourceUid"] = "loki"
    query["model"]["expr"] = 'sum(count_over_time({app="chat", level="error"}[5m]))'
    cases.write_text("{}\n")
    assert (
        lint(tmp_path, clean_dashboard(), logql, load_guides(readme, cases)) == []
    )  # promtool cannot run it
    cases.write_text("chat-app-down: {fires: {}, quiet: {}}\nchat-renamed: {fires: {}, quiet: {}}\n")
    stale = only(lint(tmp_path, clean_dashboard(), guides=load_guides(readme, cases)), "alert-cases")
    assert (stale.where, stale.panel) == (str(cases), "chat-renamed")
    assert stale.message.startswith("cases for `chat-renamed`, which is no alert rule: rename them")


def test_some_panel_must_be_embeddable(tmp_path: Path) -> None:
    root = write_rendered(tmp_path / "out", [clean_dashboard()], clean_rules())
    (root / "embeds.json").write_text("[]")
    finding = only(lint_directory(root, clean_guides(tmp_path)), "embeddable-panels")
    assert finding.where == "embeds.json"
    assert finding.message == (
        "no panel is embeddable: pass embeddable=True to the panels viewers should see"
        " (README: Embedding for viewers)"
    )
    (root / "embeds.json").unlink()  # render always writes it: a missing file embeds nothing either
    assert only(lint_directory(root, clean_guides(tmp_path)), "embeddable-panels") == finding


def test_the_contributor_rules_can_be_waived(tmp_path: Path) -> None:
    root = write_rendered(tmp_path / "out", [clean_dashboard()], _with_runbook("nowhere"))
    (root / "embeds.json").write_text("[]")
    readme, cases = write_guides(tmp_path / "guides")
    cases.write_text("chat-app-down: {fires: {}}\n")
    waivers = (
        Waiver("embeds.json", "", "embeddable-panels", "an engineers-only stack, no viewers"),
        Waiver("alert:chat-app-down", "Chat app down", "alert-runbook", "the runbook lives in the wiki"),
        Waiver("alert:chat-app-down", "Chat app down", "alert-cases", "proven live by make verify"),
    )
    findings = lint_directory(root, load_guides(readme, cases), waivers)
    assert sorted((f.rule, f.status) for f in findings) == [
        ("alert-cases", "waived"),
        ("alert-runbook", "waived"),
        ("embeddable-panels", "waived"),
    ]


def test_high_cardinality_by_is_measured_on_the_registry() -> None:
    """No app label has more than 10 values today, so prove the rule on a registry that has one."""
    registry = CollectorRegistry()
    rooms = Counter("chat_room_messages", "Messages per room.", ["room"], registry=registry)
    for n in range(MAX_GROUP_CARDINALITY + 5):
        rooms.labels(room=f"room-{n}").inc()
    Counter("chat_user_messages", "Messages per user.", ["user"], registry=registry).labels(user="ann").inc()

    def findings(expr: str) -> list[Finding]:
        query = PanelQuery("alert rooms", "A", "promql", expr, in_dashboard=False)  # needs only job=
        return lint_queries([query], build_registry(registry))

    by_room = only(
        findings('sum by (room) (rate(chat_room_messages_total{job="chat"}[5m]))'), "promql-cardinality"
    )
    assert "by (room) splits into 15 series" in by_room.message
    by_user = only(
        findings('sum by (user) (rate(chat_user_messages_total{job="chat"}[5m]))'), "promql-cardinality"
    )
    assert "by (user) splits into 1 series" in by_user.message  # unbounded by nature, whatever it has now
    assert findings('sum by (job) (rate(chat_room_messages_total{job="chat"}[5m]))') == []


def test_variable_queries_must_parse(tmp_path: Path) -> None:
    dashboard = clean_dashboard()
    dashboard["templating"]["list"][3]["query"] = 'label_values(registered_clients{job=~"$job", instance)'
    finding = only(lint(tmp_path, dashboard), "promql-syntax")
    assert finding.where == "chat-overview / variable instance [query]" and "promtool" in finding.message
    dashboard["templating"]["list"][3]["query"] = "values_of(registered_clients, instance)"
    assert "label_values(" in only(lint(tmp_path, dashboard), "template-variable-query").message
