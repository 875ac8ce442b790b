"""Our layer over grafanalib: conventions, modern panels, layout, dashboard wrapper, alerting, checks.

Dashboard and alert modules import what they need from here:
`from dashboards.core import ChatDashboard, Row, TimeSeries, PromTarget, grid, rate, ...`.

The names are resolved on first use (PEP 562 module `__getattr__`): importing grafanalib takes ~0.1 s, and
scripts/ import only `dashboards.core.conventions`, which must not pay for it through this package.
Type checkers and IDEs read the `TYPE_CHECKING` imports instead.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboards.core.alerting import AlertRule, ContactPoint, NotificationPolicy, Route, RuleGroup
    from dashboards.core.conventions import (
        APP_JOB,
        CHAT_FOLDER,
        LOG_LEVELS,
        LOG_STREAM,
        LOKI,
        LOKI_UID,
        PROMETHEUS,
        PROMETHEUS_UID,
        UNIT_BYTES,
        UNIT_COUNT,
        UNIT_NONE,
        UNIT_PER_SECOND,
        UNIT_RATIO,
        UNIT_SECONDS,
        rate,
        selector,
    )
    from dashboards.core.dashboard import ChatDashboard
    from dashboards.core.layout import Row, grid
    from dashboards.core.panels import BarGauge, Gauge, Heatmap, Logs, Stat, Table, TimeSeries, steps
    from dashboards.core.targets import LokiTarget, PromTarget
    from dashboards.core.variables import CustomVariable, QueryVariable

__all__ = [
    "APP_JOB",
    "CHAT_FOLDER",
    "LOG_LEVELS",
    "LOG_STREAM",
    "LOKI",
    "LOKI_UID",
    "PROMETHEUS",
    "PROMETHEUS_UID",
    "UNIT_BYTES",
    "UNIT_COUNT",
    "UNIT_NONE",
    "UNIT_PER_SECOND",
    "UNIT_RATIO",
    "UNIT_SECONDS",
    "AlertRule",
    "BarGauge",
    "ChatDashboard",
    "ContactPoint",
    "CustomVariable",
    "Gauge",
    "Heatmap",
    "Logs",
    "LokiTarget",
    "NotificationPolicy",
    "PromTarget",
    "QueryVariable",
    "Route",
    "Row",
    "RuleGroup",
    "Stat",
    "Table",
    "TimeSeries",
    "grid",
    "rate",
    "selector",
    "steps",
]

# The submodule that defines each exported name (a test checks it against the imports above and __all__).
_SUBMODULE_OF = {
    "AlertRule": "alerting",
    "ContactPoint": "alerting",
    "NotificationPolicy": "alerting",
    "Route": "alerting",
    "RuleGroup": "alerting",
    "APP_JOB": "conventions",
    "CHAT_FOLDER": "conventions",
    "LOG_LEVELS": "conventions",
    "LOG_STREAM": "conventions",
    "LOKI": "conventions",
    "LOKI_UID": "conventions",
    "PROMETHEUS": "conventions",
    "PROMETHEUS_UID": "conventions",
    "UNIT_BYTES": "conventions",
    "UNIT_COUNT": "conventions",
    "UNIT_NONE": "conventions",
    "UNIT_PER_SECOND": "conventions",
    "UNIT_RATIO": "conventions",
    "UNIT_SECONDS": "conventions",
    "rate": "conventions",
    "selector": "conventions",
    "ChatDashboard": "dashboard",
    "Row": "layout",
    "grid": "layout",
    "BarGauge": "panels",
    "Gauge": "panels",
    "Heatmap": "panels",
    "Logs": "panels",
    "Stat": "panels",
    "Table": "panels",
    "TimeSeries": "panels",
    "steps": "panels",
    "LokiTarget": "targets",
    "PromTarget": "targets",
    "CustomVariable": "variables",
    "QueryVariable": "variables",
}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` on first use, and keep the value for later look-ups."""
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
