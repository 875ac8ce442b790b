"""Write a rendered tree (scripts/rendered/layout.py, what `python -m scripts.render` produces) for tests
and benchmarks.

Shapes follow dashboards/core/alerting.py: plain dashboard JSON per uid, rule groups in provisioning-API
shape, EmbeddedContactPoints with the `$ALERT_WEBHOOK_TOKEN` placeholder, the policy tree, the rule
sources and embeds.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboards.core.conventions import CHAT_FOLDER, WEBHOOK_TOKEN_PLACEHOLDER
from scripts.rendered.layout import (
    CONTACT_POINTS_FILE,
    DASHBOARDS_DIR,
    EMBEDS_FILE,
    POLICIES_FILE,
    RULES_FILE,
    SOURCES_FILE,
    dashboard_file,
    dashboard_source_key,
    rule_source_key,
)

FOLDER_UID = CHAT_FOLDER.uid
WEBHOOK_UID = "chat-webhook"
WEBHOOK_NAME = "chat-webhook"


def dashboard(uid: str, title: str, panel_title: str = "Registered clients") -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["chat"],
        "schemaVersion": 39,
        "editable": True,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "prometheus", "value": "prometheus"},
                },
            ]
        },
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": panel_title,
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [
                    {
                        "refId": "A",
                        "expr": "sum(registered_clients)",
                        "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    }
                ],
            },
        ],
    }


def rule(uid: str, title: str, group: str, dashboard_uid: str = "chat-overview") -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "folderUID": FOLDER_UID,
        "ruleGroup": group,
        "orgID": 1,
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "datasourceUid": "prometheus",
                "relativeTimeRange": {"from": 600, "to": 0},
                "model": {
                    "datasource": {"type": "prometheus", "uid": "prometheus"},
                    "expr": 'up{job="chat"}',
                    "instant": True,
                    "intervalMs": 1000,
                    "maxDataPoints": 43200,
                    "refId": "A",
                },
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "relativeTimeRange": {"from": 0, "to": 0},
                "model": {
                    "datasource": {"type": "__expr__", "uid": "__expr__"},
                    "refId": "C",
                    "type": "threshold",
                    "expression": "A",
                    "conditions": [{"evaluator": {"type": "lt", "params": [1]}}],
                },
            },
        ],
        "noDataState": "Alerting",
        "execErrState": "Error",
        "for": "60s",
        "isPaused": False,
        "labels": {"severity": "critical"},
        "annotations": {"__dashboardUid__": dashboard_uid, "__panelId__": "1", "summary": title},
    }


def rule_group(title: str, rules: list[dict[str, Any]], interval: int = 60) -> dict[str, Any]:
    return {"folderUid": FOLDER_UID, "title": title, "interval": interval, "rules": rules}


def contact_point() -> dict[str, Any]:
    return {
        "uid": WEBHOOK_UID,
        "name": WEBHOOK_NAME,
        "type": "webhook",
        "disableResolveMessage": False,
        "settings": {
            "url": "http://app:8000/api/alerts/grafana",
            "httpMethod": "POST",
            "authorization_scheme": "Bearer",
            "authorization_credentials": WEBHOOK_TOKEN_PLACEHOLDER,
        },
    }


def policy() -> dict[str, Any]:
    return {
        "receiver": WEBHOOK_NAME,
        "group_by": ["grafana_folder", "alertname"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "4h",
        "routes": [
            {
                "receiver": WEBHOOK_NAME,
                "object_matchers": [["severity", "=", "critical"]],
                "group_wait": "10s",
                "group_interval": "1m",
                "repeat_interval": "1h",
            }
        ],
    }


def default_tree() -> dict[str, Any]:
    """Three dashboards, one rule group with two rules, the webhook, the policy, two embeds."""
    dashboards = [
        dashboard("chat-overview", "Chat overview"),
        dashboard("chat-logs", "Chat logs"),
        dashboard("chat-service-health", "Chat service health"),
    ]
    rules = [
        rule("chat-app-down", "Chat app down", "chat"),
        rule("chat-no-clients", "No chat clients", "chat"),
    ]
    embeds = [
        {
            "dashboard_uid": "chat-overview",
            "slug": "chat-overview",
            "panel_id": 1,
            "title": "Registered clients",
            "path": "/d-solo/chat-overview/chat-overview?panelId=1",
        },
        {
            "dashboard_uid": "chat-logs",
            "slug": "chat-logs",
            "panel_id": 1,
            "title": "Log lines",
            "path": "/d-solo/chat-logs/chat-logs?panelId=1",
        },
    ]
    return {
        "dashboards": dashboards,
        "rule_groups": [rule_group("chat", rules)],
        "rule_sources": {"chat-app-down": "dashboards/alerts.py"},  # chat-no-clients: source unknown
        "dashboard_sources": {"chat-overview": "dashboards/chat_overview.py:28"},
        "contact_points": [contact_point()],
        "policy": policy(),
        "embeds": embeds,
    }


def write_tree(directory: Path, tree: dict[str, Any]) -> Path:
    """Write `tree` (as from default_tree()) under `directory` in the rendered layout; return directory."""
    (directory / DASHBOARDS_DIR).mkdir(parents=True, exist_ok=True)
    (directory / RULES_FILE).parent.mkdir(parents=True, exist_ok=True)
    for old in (directory / DASHBOARDS_DIR).glob("*.json"):
        old.unlink()
    files = {
        **{dashboard_file(item["uid"]): item for item in tree["dashboards"]},
        RULES_FILE: tree["rule_groups"],
        SOURCES_FILE: {rule_source_key(uid): where for uid, where in tree.get("rule_sources", {}).items()}
        | {dashboard_source_key(uid): where for uid, where in tree.get("dashboard_sources", {}).items()},
        CONTACT_POINTS_FILE: tree["contact_points"],
        POLICIES_FILE: tree["policy"],
        EMBEDS_FILE: tree["embeds"],
    }
    for name, data in files.items():
        if data is not None:  # like render: no policy defined, no policies.json
            (directory / name).write_text(json.dumps(data, indent=2))
    return directory
