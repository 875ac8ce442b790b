"""A dashboard diff says what it is about: the dashboard's title on its file headers, and on each hunk header
the panel (within its row) the hunk changes, as line numbers alone tell a reviewer nothing."""

from __future__ import annotations

import copy
from typing import Any

from scripts.publish.compare import unified_diff


def panel(panel_id: int, title: str, expr: str) -> dict[str, Any]:
    return {"id": panel_id, "title": title, "type": "timeseries", "targets": [{"expr": expr, "refId": "A"}]}


BEFORE: dict[str, Any] = {
    "title": "Chat overview",
    "uid": "chat-overview",
    "panels": [
        panel(1, "Messages", "sum(rate(chat_messages_received_total[1m]))"),
        panel(2, "Registered clients", "registered_clients"),
        {
            "id": 3,
            "title": "Latency",
            "type": "row",
            "panels": [panel(4, "p99", "histogram_quantile(0.99, x)")],
        },
    ],
}


def hunk_headers(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line.startswith("@@")]


def test_the_hunk_names_the_panel_it_changes_and_the_headers_the_dashboard() -> None:
    after = copy.deepcopy(BEFORE)
    after["panels"][1]["targets"][0]["expr"] = "sum(registered_clients)"

    diff = unified_diff(BEFORE, after, "live in Grafana", "code", "dashboard")

    assert diff.splitlines()[:2] == [
        '--- live in Grafana: dashboard "Chat overview"',
        '+++ code: dashboard "Chat overview"',
    ]
    [header] = hunk_headers(diff)
    assert header.endswith(' @@ panel "Registered clients" (id 2)'), header


def test_a_panel_in_a_row_is_named_within_its_row() -> None:
    after = copy.deepcopy(BEFORE)
    after["panels"][2]["panels"][0]["title"] = "p95"

    [header] = hunk_headers(unified_diff(BEFORE, after, "live in Grafana", "code", "dashboard"))

    assert header.endswith(' @@ panel "p99" (id 4) in row "Latency" (id 3)'), header


def test_a_removed_panel_is_named_from_the_old_side_and_a_renamed_dashboard_on_each_side() -> None:
    after = {**copy.deepcopy(BEFORE), "title": "Chat"}
    del after["panels"][0]

    diff = unified_diff(BEFORE, after, "live in Grafana", "code", "dashboard")

    assert diff.splitlines()[:2] == [
        '--- live in Grafana: dashboard "Chat overview"',
        '+++ code: dashboard "Chat"',
    ]
    assert hunk_headers(diff)[0].endswith(' @@ panel "Messages" (id 1)'), diff


def test_a_change_outside_every_panel_keeps_the_plain_header() -> None:
    after = {**BEFORE, "uid": "chat-overview-2"}

    [header] = hunk_headers(unified_diff(BEFORE, after, "live in Grafana", "code", "dashboard"))

    assert header.endswith("@@"), header


def test_a_rule_group_hunk_names_the_rule() -> None:
    rules = [{"uid": "chat-app-down", "title": "Chat app down", "for": 60000}]
    before = {"interval": 60, "rules": rules}
    after = {"interval": 60, "rules": [{**rules[0], "for": 120000}]}

    [header] = hunk_headers(unified_diff(before, after, "live in Grafana", "code", "rule-group"))

    assert header.endswith(' @@ rule "Chat app down" (uid chat-app-down)'), header
