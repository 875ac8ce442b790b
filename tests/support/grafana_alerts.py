"""Grafana's webhook notifications as the app's alert endpoint receives them, and a poster for them."""

from __future__ import annotations

import json
from typing import Any

import requests

TOKEN = "test-token-7f3a9c"
FIRING_AT = "2026-11-26T09:51:03.157076+02:00"
RESOLVED_AT = "2026-11-26T10:01:03Z"
PANEL_URL = "http://localhost:3000/d/chat-overview/chat-overview?orgId=1&viewPanel=4"


def grafana_alert(summary: str, status: str = "firing", **overrides: Any) -> dict[str, Any]:
    """One alert as Grafana's webhook contact point sends it."""
    alert = {
        "status": status,
        "labels": {"alertname": "ChatBroadcastSlow", "grafana_folder": "Chat", "severity": "warning"},
        "annotations": {"summary": summary, "description": "p99 broadcast time above 250 ms"},
        "startsAt": FIRING_AT,
        "endsAt": RESOLVED_AT if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://localhost:3000/alerting/grafana/chat-broadcast-slow/view?orgId=1",
        "fingerprint": "c6eadffa33fcdf37",
        "silenceURL": "http://localhost:3000/alerting/silence/new?alertmanager=grafana",
        "dashboardURL": "http://localhost:3000/d/chat-overview?orgId=1",
        "panelURL": PANEL_URL,
        "values": {"A": 0.31, "C": 1},
    }
    return {**alert, **overrides}


def grafana_notification(*alerts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The whole webhook body (receiver, status, alerts, group/common labels, version "1", ...)."""
    body = {
        "receiver": "chat-webhook",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "ChatBroadcastSlow"},
        "commonLabels": {"alertname": "ChatBroadcastSlow", "severity": "warning"},
        "commonAnnotations": {},
        "externalURL": "http://localhost:3000/",
        "version": "1",
        "groupKey": '{}:{alertname="ChatBroadcastSlow"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] ChatBroadcastSlow",
        "state": "alerting",
        "message": "**Firing**",
    }
    return {**body, **overrides}


def post_alerts(base_url: str, body: Any, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    headers.update(kwargs.pop("headers", {}))
    return requests.post(f"{base_url}/api/alerts/grafana", data=body, headers=headers, timeout=10, **kwargs)
