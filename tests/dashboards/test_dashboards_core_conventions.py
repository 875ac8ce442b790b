"""dashboards.core.conventions: the one duration grammar, and the constants scripts/ share."""

from __future__ import annotations

from types import ModuleType

import attr
import pytest

from dashboards import alerts, notifications
from dashboards.core import alerting, conventions, dashboard, layout
from dashboards.core.conventions import format_duration, parse_duration

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("0", 0),
        ("0s", 0),
        ("500ms", 500),
        ("90s", 90 * SECOND_MS),
        ("10m", 10 * MINUTE_MS),
        ("1h30m", 90 * MINUTE_MS),
        ("1w", 7 * DAY_MS),
        ("1y", 365 * DAY_MS),
        ("01m", MINUTE_MS),
        ("1y2w3d4h5m6s7ms", 365 * DAY_MS + 17 * DAY_MS + 4 * HOUR_MS + 5 * MINUTE_MS + 6 * SECOND_MS + 7),
    ],
)
def test_parse_duration_reads_prometheus_durations(text: str, milliseconds: int) -> None:
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "5",
        "00",
        "1x",
        "1M",
        "5m5m",
        "30s1m",
        "1d2w",
        "1.5h",
        "-5m",
        " 5m",
        "5m\n",
        "5 m",
        "1h 30m",
        "\u0665m",
    ],
)
def test_parse_duration_refuses_what_prometheus_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 5m or 1h30m"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [
        (0, "0s"),
        (500, "500ms"),
        (MINUTE_MS, "1m"),
        (90 * MINUTE_MS, "1h30m"),
        (90 * SECOND_MS + 500, "1m30s500ms"),
        (14 * DAY_MS, "2w"),
        (8 * DAY_MS, "8d"),
        (90 * DAY_MS, "90d"),
        (365 * DAY_MS, "1y"),
        (366 * DAY_MS, "366d"),
    ],
)
def test_format_duration_spells_durations_as_grafana_returns_them(milliseconds: int, text: str) -> None:
    assert format_duration(milliseconds) == text
    assert parse_duration(text) == milliseconds


def test_spellings_of_one_duration_format_alike() -> None:
    assert {format_duration(parse_duration(text)) for text in ("60s", "1m", "60000ms")} == {"1m"}


def test_format_duration_refuses_negative_durations() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        format_duration(-1)


def test_alert_definitions_accept_every_prometheus_duration() -> None:
    rule = alerts.service.rules[0]
    for pending_for in ("1w", "1h30m", "0"):
        assert attr.evolve(rule, pending_for=pending_for).pending_for == pending_for
    with pytest.raises(ValueError, match=r"^pending_for: '5m5m' is not a duration"):
        attr.evolve(rule, pending_for="5m5m")
    with pytest.raises(ValueError, match=r"^repeat_interval: '4 hours' is not a duration"):
        attr.evolve(notifications.policy, repeat_interval="4 hours")


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (alerting, "EXEC_ERR_STATES"),
        (alerting, "EXPRESSION_UID"),
        (alerting, "MAX_NAME_CHARS"),
        (alerting, "NO_DATA_STATES"),
        (alerting, "ORG_ID"),
        (alerting, "QUERY_DATASOURCES"),
        (alerting, "RUNBOOK_BASE_URL"),
        (alerting, "SEVERITIES"),
        (alerting, "WEBHOOK_TOKEN_PLACEHOLDER"),
        (dashboard, "UID_PATTERN"),
        (layout, "GRID_COLUMNS"),
    ],
)
def test_moved_constants_are_still_importable_from_their_old_modules(module: ModuleType, name: str) -> None:
    assert getattr(module, name) is getattr(conventions, name)
