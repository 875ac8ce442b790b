"""The fixed names every dashboard, alert rule and tool shares (README: "Dashboards and alerts as code").

Only constants and pure helpers live here, with no grafanalib import: scripts/ (lint, verify, publish)
import this module to check and compare the rendered files without paying for grafanalib.

Dashboards never name a datasource directly: panels reference the `datasource` / `loki_datasource`
template variables, whose defaults are the provisioned UIDs. Alert rules cannot use template variables,
so they use the UIDs themselves.
"""

from __future__ import annotations

import re

import attr

PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"
PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
LOKI = {"type": "loki", "uid": "${loki_datasource}"}

APP_JOB = "chat"  # the Prometheus scrape job of the app
LOG_STREAM = 'app="chat"'  # the Loki stream label every chat log line carries
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
DASHBOARD_TAG = "chat"  # every chat dashboard carries it; the dashboard links list dashboards by it
RATE_INTERVAL = "$__rate_interval"  # max(interval + scrape interval, 4 x scrape interval): never empty
ORG_ID = 1  # everything is provisioned into Grafana's first organisation (Main Org.)
# Grafana's uid rule (grafana/grafana: pkg/util/shortid_generator.go, IsValidShortUID and IsShortUIDTooLong).
UID_PATTERN = r"[a-zA-Z0-9_-]{1,40}"
# The dashboard grid's width (grafana/grafana: public/app/core/constants.ts, GRID_COLUMN_COUNT).
GRID_COLUMNS = 24


@attr.s(frozen=True)
class Folder:
    """A Grafana folder: the API addresses it by uid, file provisioning by title."""

    uid: str = attr.ib()
    title: str = attr.ib()


CHAT_FOLDER = Folder(uid="chat", title="Chat")

# Grafana unit ids (the unit picker's values).
UNIT_SECONDS = "s"
UNIT_BYTES = "bytes"
UNIT_PER_SECOND = "cps"  # events per second ("c/s")
UNIT_COUNT = "short"
UNIT_RATIO = "percentunit"  # 0..1 shown as a percentage
UNIT_NONE = "none"

# Alerting. The states are Grafana's NoDataState and ExecutionErrorState values (grafana/grafana:
# pkg/services/ngalert/models/alert_rule.go); `__expr__` is its server-side expressions pseudo-datasource.
SEVERITIES = ("critical", "warning")  # the `severity` label every rule carries; the policy routes on it
NO_DATA_STATES = ("Alerting", "NoData", "OK", "KeepLast")
EXEC_ERR_STATES = ("Alerting", "Error", "OK", "KeepLast")
EXPRESSION_UID = "__expr__"
QUERY_DATASOURCES = {PROMETHEUS_UID: "prometheus", LOKI_UID: "loki"}  # uid -> plugin type
# The publisher replaces this with $ALERT_WEBHOOK_TOKEN from its environment before a PUT/POST;
# Grafana's file provisioning expands it itself when it reads alerting.yaml.
WEBHOOK_TOKEN_PLACEHOLDER = "$ALERT_WEBHOOK_TOKEN"
# Grafana rejects longer rule titles and rule group names (grafana/grafana: pkg/services/ngalert/api/
# tooling/definitions/provisioning_alert_rules.go, ProvisionedAlertRule maxLength).
MAX_NAME_CHARS = 190
# Every rule's runbook_url is this README's `## Runbooks` section (`#<anchor>`): lint reads the same README
# and fails a rule whose anchor has no section there. Point it at your repository's copy.
RUNBOOK_BASE_URL = "https://github.com/grafana-chat-as-code/grafana-chat-as-code/blob/main/README.md"

# Durations: Grafana reads a rule's `for` and the policy timings as Prometheus durations (model.Duration;
# grafana/grafana: pkg/services/provisioning/alerting/rules_types.go calls model.ParseDuration).
DURATION_UNIT_MS = {
    "y": 365 * 86_400_000,  # Prometheus counts a year as 365 days and a week as 7
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1000,
    "ms": 1,
}
EXACT_ONLY_UNITS = ("y", "w")  # the formatter writes 90d, not 12w6d
DURATION_RE = re.compile(
    r"\A(?:0|(?=[0-9])" + "".join(f"(?:(?P<{unit}>[0-9]+){unit})?" for unit in DURATION_UNIT_MS) + r")\Z"
)


def parse_duration(text: str) -> int:
    """Milliseconds in a Prometheus duration: "1h30m" -> 5_400_000, "0" -> 0.

    The grammar of prometheus/common: model/time.go ParseDuration: integers with the units y, w, d, h, m,
    s, ms, each at most once and largest first; a bare "0" needs no unit; no sign, no fractions, no spaces.
    """
    match = DURATION_RE.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration like 5m or 1h30m (units {' '.join(DURATION_UNIT_MS)}, largest first)"
        )
    return sum(int(count) * DURATION_UNIT_MS[unit] for unit, count in match.groupdict().items() if count)


def format_duration(milliseconds: int) -> str:
    """The spelling Grafana returns for a duration: 600_000 -> "10m", 0 -> "0s".

    prometheus/common: model/time.go Duration.String: largest units first; years and weeks only when they
    divide what is left exactly.
    """
    if milliseconds < 0:
        raise ValueError(f"a duration cannot be negative, got {milliseconds} ms")
    if milliseconds == 0:
        return "0s"
    parts = []
    rest = milliseconds
    for unit, unit_ms in DURATION_UNIT_MS.items():
        if unit in EXACT_ONLY_UNITS and rest % unit_ms:
            continue
        count, rest = divmod(rest, unit_ms)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def selector(metric: str, **matchers: str) -> str:
    """`metric{job=~"$job", instance=~"$instance", ...}`: every dashboard query follows the variables."""
    labels = [f'{name}="{value}"' for name, value in matchers.items()]
    return metric + "{" + ", ".join(['job=~"$job"', 'instance=~"$instance"', *labels]) + "}"


def rate(metric: str, **matchers: str) -> str:
    """Per-second rate of a counter (or bucket series) over `$__rate_interval`."""
    return f"rate({selector(metric, **matchers)}[{RATE_INTERVAL}])"
