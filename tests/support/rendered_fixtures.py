"""Small clean rendered trees (dashboards and rule groups passing every lint rule), to break one at a time,
and the README and alert rule cases they are linted against."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from dashboards.core.conventions import RUNBOOK_BASE_URL
from scripts.lint.cli import lint_directory
from scripts.lint.contributing import Guides, load_guides
from scripts.rendered.model import Finding

SEL = 'job=~"$job", instance=~"$instance"'


def _variables() -> list[dict[str, Any]]:
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
        {"name": "loki_datasource", "label": "Logs", "type": "datasource", "query": "loki"},
        {
            "name": "job",
            "type": "query",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": "label_values(registered_clients, job)",
        },
        {
            "name": "instance",
            "type": "query",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": 'label_values(registered_clients{job=~"$job"}, instance)',
        },
    ]


def _panel(panel_id: int, title: str, expr: str, x: int, y: int, **extra: Any) -> dict[str, Any]:
    panel = {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "description": f"{title}, for the test.",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": "cps"}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr}],
    }
    panel.update(extra)
    return panel


def clean_dashboard(uid: str = "chat-overview") -> dict[str, Any]:
    """A dashboard that passes every rule: PromQL rate, histogram quantile, gauge, Loki logs."""
    return {
        "uid": uid,
        "title": "Chat overview",
        "schemaVersion": 39,
        "templating": {"list": _variables()},
        "panels": [
            _panel(
                1, "Messages", f"sum(rate(chat_messages_received_total{{{SEL}}}[$__rate_interval]))", 0, 0
            ),
            _panel(
                2,
                "Broadcast p95",
                "histogram_quantile(0.95, sum by (le) "
                f"(rate(chat_broadcast_duration_seconds_bucket{{{SEL}}}[$__rate_interval])))",
                12,
                0,
                fieldConfig={"defaults": {"unit": "s"}},
            ),
            _panel(
                3,
                "Rejected by reason",
                f"sum by (reason) (rate(chat_frames_rejected_total{{{SEL}}}[$__rate_interval]))",
                0,
                8,
            ),
            _panel(4, "Clients", f"sum(registered_clients{{{SEL}}})", 12, 8, type="stat"),
            {
                "id": 5,
                "type": "logs",
                "title": "Errors",
                "description": "Error log lines.",
                "datasource": {"type": "loki", "uid": "${loki_datasource}"},
                "gridPos": {"x": 0, "y": 16, "w": 24, "h": 8},
                "targets": [
                    {"refId": "A", "expr": '{app="chat", level=~"error|critical"} | json | event != ""'}
                ],
            },
        ],
    }


RUNBOOK_ANCHOR = "app-down"  # the clean rule's runbook section, in the README write_guides writes


def clean_rules(dashboard_uid: str = "chat-overview", panel_id: int = 1) -> list[dict[str, Any]]:
    """One group with one Prometheus rule (A query, B reduce last, C threshold gt 0.5), linked to a panel."""
    return [
        {
            "folderUid": "chat",
            "title": "chat",
            "interval": 60,
            "rules": [
                {
                    "uid": "chat-app-down",
                    "title": "Chat app down",
                    "condition": "C",
                    "data": [
                        {
                            "refId": "A",
                            "datasourceUid": "prometheus",
                            "relativeTimeRange": {"from": 300, "to": 0},
                            "model": {"refId": "A", "expr": 'sum(up{job="chat"})', "instant": True},
                        },
                        {
                            "refId": "B",
                            "datasourceUid": "__expr__",
                            "relativeTimeRange": {"from": 0, "to": 0},
                            "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"},
                        },
                        {
                            "refId": "C",
                            "datasourceUid": "__expr__",
                            "relativeTimeRange": {"from": 0, "to": 0},
                            "model": {
                                "refId": "C",
                                "type": "threshold",
                                "expression": "B",
                                "conditions": [{"evaluator": {"type": "lt", "params": [1]}}],
                            },
                        },
                    ],
                    "noDataState": "Alerting",
                    "execErrState": "Error",
                    "for": "1m",
                    "annotations": {
                        "summary": "No chat instance is up",
                        "runbook_url": f"{RUNBOOK_BASE_URL}#{RUNBOOK_ANCHOR}",
                        "__dashboardUid__": dashboard_uid,
                        "__panelId__": str(panel_id),
                    },
                    "labels": {"severity": "critical"},
                }
            ],
        }
    ]


def write_rendered(root: Path, dashboards: list[dict[str, Any]], rules: list[dict[str, Any]]) -> Path:
    """The tree render would write: the files, and embeds.json with each dashboard's first panel."""
    (root / "dashboards").mkdir(parents=True, exist_ok=True)
    (root / "alerting").mkdir(parents=True, exist_ok=True)
    for dashboard in dashboards:
        (root / "dashboards" / f"{dashboard['uid']}.json").write_text(json.dumps(dashboard))
    (root / "alerting" / "rules.json").write_text(json.dumps(rules))
    embeds = [{"dashboard_uid": d["uid"], "panel_id": p["id"]} for d in dashboards for p in d["panels"][:1]]
    (root / "embeds.json").write_text(json.dumps(embeds))
    return root


def write_guides(root: Path) -> tuple[Path, Path]:
    """What the clean rules are linted against: a README with their runbook section, and a `fires` and a
    `quiet` case for each (lint reads only the case names), for `scripts.lint --readme ... --cases ...`."""
    root.mkdir(parents=True, exist_ok=True)
    readme, cases = root / "README.md", root / "alert_rule_cases.yaml"
    readme.write_text(f"# Fixture\n\n## Runbooks\n\n### {RUNBOOK_ANCHOR.replace('-', ' ')}\nRestart it.\n")
    uids = [rule["uid"] for group in clean_rules() for rule in group["rules"]]
    cases.write_text(yaml.safe_dump({uid: {"fires": {}, "quiet": {}} for uid in uids}))
    return readme, cases


def set_expr(dashboard: dict[str, Any], panel_index: int, expr: str) -> dict[str, Any]:
    broken = copy.deepcopy(dashboard)
    broken["panels"][panel_index]["targets"][0]["expr"] = expr
    return broken


def clean_guides(tmp_path: Path) -> Guides:
    return load_guides(*write_guides(tmp_path / "guides"))


def lint(
    tmp_path: Path,
    dashboard: dict[str, Any],
    rules: list[dict[str, Any]] | None = None,
    guides: Guides | None = None,
    **kw: Any,
) -> list[Finding]:
    root = write_rendered(tmp_path / "out", [dashboard], clean_rules() if rules is None else rules)
    findings = lint_directory(root, guides or clean_guides(tmp_path), **kw)
    return [f for f in findings if f.status == "fail"]


def only(findings: list[Finding], rule: str) -> Finding:
    matching = [f for f in findings if f.rule == rule]
    assert len(matching) == 1, f"expected one {rule} finding, got {findings}"
    return matching[0]
