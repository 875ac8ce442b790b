"""The fixed names every dashboard and alert rule shares (see the team contract).

Dashboards never name a datasource directly: panels reference the `datasource` / `loki_datasource`
template variables, whose defaults are the provisioned UIDs. Alert rules cannot use template variables,
so they use the UIDs themselves.
"""

from __future__ import annotations

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


def selector(metric: str, **matchers: str) -> str:
    """`metric{job=~"$job", instance=~"$instance", ...}`: every dashboard query follows the variables."""
    labels = [f'{name}="{value}"' for name, value in matchers.items()]
    return metric + "{" + ", ".join(['job=~"$job"', 'instance=~"$instance"', *labels]) + "}"


def rate(metric: str, **matchers: str) -> str:
    """Per-second rate of a counter (or bucket series) over `$__rate_interval`."""
    return f"rate({selector(metric, **matchers)}[{RATE_INTERVAL}])"
