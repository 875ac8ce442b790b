"""The Grafana → Prometheus alert translation, and `promtool test rules` on every real alert rule.

The translator is tested on its own (each reducer, threshold and no-data mode), then the rendered
rules.json with the hand-written cases in dashboards/alerts.cases.yaml must pass with the real promtool,
and a wrong expectation or a missing case must fail. `make alert-tests` runs them alone, without the app.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from scripts.common.alert_cases import load_cases
from scripts.common.exits import ExitCode
from scripts.common.paths import REPO_ROOT
from scripts.rendered.tree import load_tree
from scripts.verify import cli
from scripts.verify.alert_tests import run_alert_tests
from scripts.verify.translate import UntranslatableRuleError, translate_groups, translate_rule

pytestmark = pytest.mark.prometheus


def grafana_rule(
    expr: str, reducer: str = "last", evaluator: dict[str, Any] | None = None, **extra: Any
) -> dict:
    """A rule in provisioning-API shape: A (PromQL) → B reduce → C threshold."""
    rule = {
        "uid": "r1",
        "title": "Rule one",
        "condition": "C",
        "for": "2m",
        "noDataState": "OK",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "s {{ $values.B.Value }}"},
        "data": [
            {
                "refId": "A",
                "datasourceUid": "prometheus",
                "relativeTimeRange": {"from": 600, "to": 0},
                "model": {"expr": expr, "instant": True, "intervalMs": 1000},
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"type": "reduce", "expression": "A", "reducer": reducer},
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "model": {
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": evaluator or {"type": "gt", "params": [5]}}],
                },
            },
        ],
    }
    rule.update(extra)
    return rule


def test_instant_query_with_gt_threshold() -> None:
    assert translate_rule(grafana_rule("sum(up)")) == {
        "alert": "r1",
        "expr": "(sum(up)) > 5",
        "for": "2m",
        "labels": {"severity": "warning"},
    }


def test_range_query_reducers_become_over_time_subqueries_of_numbers() -> None:
    rule = grafana_rule("x", reducer="max", evaluator={"type": "lt", "params": [0.5]})
    rule["data"][0]["model"]["instant"] = False
    rule["data"][0]["model"]["intervalMs"] = 15000
    rule["data"][1]["model"]["settings"] = {"mode": "dropNN"}
    assert translate_rule(rule)["expr"] == "max_over_time(((x) < Inf > -Inf)[600s:15s]) < 0.5"
    rule["data"][1]["model"]["reducer"] = "last"
    assert translate_rule(rule)["expr"] == "last_over_time(((x) < Inf > -Inf)[600s:15s]) < 0.5"
    rule["data"][1]["model"]["reducer"] = "sum"  # Grafana sums no numbers to 0, PromQL to nothing
    assert translate_rule(rule)["expr"] == (
        "(sum_over_time(((x) < Inf > -Inf)[600s:15s]) or (count_over_time((x)[600s:15s]) * 0)) < 0.5"
    )


def test_thresholds() -> None:
    within = translate_rule(grafana_rule("x", evaluator={"type": "within_range", "params": [1, 3]}))
    assert within["expr"] == "((x) > 1) and ((x) < 3)"
    outside = translate_rule(
        grafana_rule("x", evaluator={"type": "outside_range_included", "params": [1, 3]})
    )
    assert outside["expr"] == "((x) <= 1) or ((x) >= 3)"
    assert translate_rule(grafana_rule("x", evaluator={"type": "ne", "params": [0]}))["expr"] == "(x) != 0"


def test_no_data_alerting_adds_nil_series_and_no_series() -> None:
    strict = translate_rule(
        grafana_rule('up{job="chat"}', evaluator={"type": "lt", "params": [1]}, noDataState="Alerting")
    )
    assert strict["expr"] == '(up{job="chat"}) < 1 or absent(count(up{job="chat"}))'
    rule = grafana_rule('up{job="chat"}', evaluator={"type": "lt", "params": [1]}, noDataState="Alerting")
    rule["data"][1]["model"]["settings"] = {"mode": "dropNN"}
    assert translate_rule(rule)["expr"] == (
        '((up{job="chat"}) == (up{job="chat"})) < 1 or ((up{job="chat"}) != (up{job="chat"}))'
        ' or absent(count(up{job="chat"}))'
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r["data"][0].update(datasourceUid="loki"), "LogQL"),
        (lambda r: r["data"][1]["model"].update(type="math"), "reduce"),
        (lambda r: r["data"][1]["model"].update(settings={"mode": "replaceNN"}), "replaceNN"),
        (lambda r: r["data"][1]["model"].update(reducer="count"), "count"),
        (lambda r: r.update(condition="B"), "threshold"),
        (lambda r: r.update(noDataState="NoData"), "noDataState 'NoData'"),
        (lambda r: r.update(noDataState="KeepLast"), "noDataState 'KeepLast'"),
        (lambda r: r["data"][0]["relativeTimeRange"].update(to=60), "ends before now"),
        (lambda r: r["data"][0]["model"].update(instant=False), "strict reduce of a range query"),
        (
            lambda r: r["data"][2]["model"]["conditions"][0].update(
                unloadEvaluator={"type": "lt", "params": [3]}
            ),
            "recovery threshold",
        ),
    ],
)
def test_untranslatable_rules_say_why(change: Any, reason: str) -> None:
    rule = grafana_rule("x")
    change(rule)
    with pytest.raises(UntranslatableRuleError, match=reason):
        translate_rule(rule)


def test_translate_groups_lists_skipped_rules() -> None:
    loki_rule = grafana_rule("x", uid="logs")
    loki_rule["data"][0]["datasourceUid"] = "loki"
    rules_file, skipped = translate_groups(
        [{"title": "g", "interval": 60, "rules": [grafana_rule("x"), loki_rule]}]
    )
    assert [r["alert"] for r in rules_file["groups"][0]["rules"]] == ["r1"]
    assert rules_file["groups"][0]["interval"] == "60s"
    assert set(skipped) == {"logs"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Today's definitions rendered afresh (the committed tree may lag behind a definition being edited)."""
    out = tmp_path_factory.mktemp("rendered")
    subprocess.run([sys.executable, "-m", "scripts.render", "--out", str(out)], cwd=REPO_ROOT, check=True)
    return out


@pytest.fixture(scope="module")
def rule_groups(rendered: Path) -> list[dict[str, Any]]:
    return load_tree(rendered).rule_groups


def test_every_promql_alert_fires_and_stays_quiet_as_specified(rule_groups: list[dict[str, Any]]) -> None:
    results = run_alert_tests(rule_groups, load_cases())
    failed = [r for r in results if r.status == "fail"]
    assert failed == [], failed
    passed = {(r.uid, r.case) for r in results if r.status == "pass"}
    promql_uids = {r.uid for r in results if r.status == "pass"}
    assert promql_uids and all({(uid, "fires"), (uid, "quiet")} <= passed for uid in promql_uids)
    assert all(r.case == "" for r in results if r.status == "not verifiable")


def test_nan_follows_grafana_reduce_modes_and_no_data_state() -> None:
    """A ratio of two idle counters is 0/0 = NaN: what each Grafana setting makes of it, proven by promtool.

    dropNN turns NaN into nil (NoData): quiet with noDataState OK, firing (with the series' labels) with
    Alerting. Strict keeps NaN, which Grafana's threshold compares like Go (NaN > t is false): quiet even
    with noDataState Alerting, but NaN != t is true: fires.
    """
    ratio = 'sum(rate(num{job="chat"}[1m])) / sum(rate(den{job="chat"}[1m]))'

    def rule(uid: str, mode: str, no_data: str, kind: str = "gt") -> dict[str, Any]:
        made = grafana_rule(ratio, uid=uid, noDataState=no_data, evaluator={"type": kind, "params": [0.2]})
        made["data"][1]["model"]["settings"] = {"mode": mode}
        return made

    rules = [
        rule("dropnn-ok", "dropNN", "OK"),
        rule("dropnn-alerting", "dropNN", "Alerting"),
        rule("strict-alerting", "", "Alerting"),
        rule("strict-ne", "", "OK", kind="ne"),
    ]
    idle = [
        {"series": 'num{job="chat"}', "values": "5x20"},
        {"series": 'den{job="chat"}', "values": "7x20"},
    ]
    expected = {"dropnn-ok": [], "dropnn-alerting": [{}], "strict-alerting": [], "strict-ne": [{}]}
    groups = [{"title": "nan", "interval": 15, "rules": rules}]

    def verdicts(labels_of: dict[str, list[dict[str, str]]]) -> dict[str, str]:
        cases = {
            uid: {"nan": {"interval": "15s", "input_series": idle, "eval_time": "4m", "exp_labels": labels}}
            for uid, labels in labels_of.items()
        }  # (rule-level "add fires and quiet cases" results are not what this test is about)
        return {r.uid: r.status for r in run_alert_tests(groups, cases) if r.case == "nan"}

    assert verdicts(expected) == dict.fromkeys(expected, "pass")
    # Not vacuous: claiming the opposite outcome fails for every rule.
    opposite = {uid: [] if labels else [{}] for uid, labels in expected.items()}
    assert verdicts(opposite) == dict.fromkeys(expected, "fail")


@pytest.fixture(scope="module")
def promql_uid(rule_groups: list[dict[str, Any]]) -> str:
    """Some rule promtool can run (any will do), to break its cases."""
    rules_file, _ = translate_groups(rule_groups)
    return next(rule["alert"] for group in rules_file["groups"] for rule in group["rules"])


def test_a_wrong_expectation_fails(rule_groups: list[dict[str, Any]], promql_uid: str) -> None:
    cases = load_cases()
    wrong = copy.deepcopy(cases[promql_uid]["quiet"])
    wrong["exp_labels"] = [{}]  # claims the quiet case fires
    results = run_alert_tests(rule_groups, {**cases, promql_uid: {**cases[promql_uid], "quiet": wrong}})
    failed = [(r.uid, r.case) for r in results if r.status == "fail"]
    assert failed == [(promql_uid, "quiet")]


def test_a_rule_without_a_quiet_case_fails(rule_groups: list[dict[str, Any]], promql_uid: str) -> None:
    cases = load_cases()
    cases[promql_uid] = {"fires": cases[promql_uid]["fires"]}
    failed = [r for r in run_alert_tests(rule_groups, cases) if r.status == "fail"]
    assert [(r.uid, r.detail) for r in failed] == [
        (promql_uid, "add quiet case(s) to dashboards/alerts.cases.yaml")
    ]


def test_make_alert_tests_passes_in_seconds(rendered: Path) -> None:
    """The author's loop after writing a case: only the promtool table, exit 0, fast enough for every edit."""
    started = time.monotonic()
    done = subprocess.run(
        # -o: take the installed .venv as it is; a test must not reinstall it.
        ["make", "--no-print-directory", "-o", ".venv/.installed", "alert-tests", f"RENDER_OUT={rendered}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert " 0 failed" in done.stdout and "Panel and alert queries" not in done.stdout, done.stdout
    assert time.monotonic() - started < 20


def test_alerts_only_starts_no_app_and_no_prometheus(rendered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_live_stack(_work_dir: Path) -> None:
        raise AssertionError("--alerts-only started the app and Prometheus")

    monkeypatch.setattr(cli, "live_stack", no_live_stack)
    monkeypatch.setattr(cli, "exit_cleanly_on_termination", lambda: None)  # keep pytest's signal handlers
    assert cli.main(["--alerts-only", "--dir", str(rendered)]) == ExitCode.OK
