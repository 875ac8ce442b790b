"""Our layer over grafanalib: conventions, modern panels, layout, dashboard wrapper, alerting, checks.

Dashboard and alert modules import what they need from here:
`from dashboards.core import ChatDashboard, Row, TimeSeries, PromTarget, grid, rate, ...`.
"""

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
