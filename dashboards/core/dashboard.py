"""The dashboard wrapper: grafanalib's Dashboard with current defaults and our fixed conventions.

schemaVersion 42: the final version of the v1 dashboard model, LATEST_VERSION of Grafana 12.2+ (the 12.3 we
pin included). Dashboards saved through the v1beta1 API (which recent releases' /api/dashboards/db uses
too) are migrated to LATEST_VERSION before they are stored, so 41 would come back as 42 and publish would
see drift. Older Grafanas (11.x, 12.0/12.1: latest 39..41) store 42 as-is; their migrators only run for
versions below their latest. grafanalib's 12 would need ~30 migrations; backends with MIN_VERSION 13
refuse it outright.
The same save path normalises the JSON like the frontend's save model (apps/dashboard/pkg/migration/
frontend_defaults.go): it adds `fiscalYearStartMonth: 0` and `weekStart: ""` when missing and drops
default panel keys (see panels.PANEL_DEFAULTS). We emit that form already, so what we send is what it stores.
Also fixed here: no dead keys (`rows`, `style`, `sharedCrosshair`, `hideControls`, `gnetId`, `__inputs`,
`id`), the timezone follows the browser, and nulls are stripped.
"""

from __future__ import annotations

from typing import Any

import attr
from attr.validators import instance_of, matches_re
from grafanalib import core

from dashboards.core.cleanup import keep_keys, plain_json
from dashboards.core.conventions import (
    DASHBOARD_TAG,
    LOKI,
    LOKI_UID,
    PROMETHEUS,
    PROMETHEUS_UID,
    UID_PATTERN,
)
from dashboards.core.sources import Location, source_field
from dashboards.core.variables import DatasourceVariable, QueryVariable

SCHEMA_VERSION = 42
DASHBOARD_KEYS = frozenset(
    {
        "annotations",
        "description",
        "editable",
        "graphTooltip",
        "links",
        "panels",
        "refresh",
        "schemaVersion",
        "tags",
        "templating",
        "time",
        "timepicker",
        "timezone",
        "title",
        "uid",
    }
)
# Defaults Grafana 12.2+ adds on save when they are missing (applyFrontendDefaults).
SAVE_MODEL_DEFAULTS = {"fiscalYearStartMonth": 0, "weekStart": ""}
BUILT_IN_ANNOTATIONS = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}
# Every chat dashboard links to every other one through the shared tag, so a new dashboard needs no edits.
CHAT_DASHBOARDS_LINK = core.DashboardLink(
    asDropdown=False, includeVars=True, keepTime=True, tags=[DASHBOARD_TAG], title="Chat dashboards"
)


def standard_variables(uses_loki: bool) -> list[Any]:
    """Datasource pickers (Loki only when a panel queries it), then `job` and `instance`."""
    variables: list[Any] = [DatasourceVariable("datasource", "Data source", "prometheus", PROMETHEUS_UID)]
    if uses_loki:
        variables.append(DatasourceVariable("loki_datasource", "Logs data source", "loki", LOKI_UID))
    variables += [
        QueryVariable("job", "Job", "label_values(registered_clients, job)", PROMETHEUS),
        QueryVariable(
            "instance", "Instance", 'label_values(registered_clients{job=~"$job"}, instance)', PROMETHEUS
        ),
    ]
    return variables


def _not_used(hint: str) -> Any:
    """Validator for grafanalib fields the wrapper replaces: a value passed there must not vanish silently."""

    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value != attribute.default.factory():
            raise ValueError(f"ChatDashboard does not use {attribute.name}=: {hint}")

    return check


@attr.s
class ChatDashboard(core.Dashboard):
    """A chat dashboard. `panels` normally comes from `layout.grid(...)`; `variables` are extra ones."""

    uid: str = attr.ib(kw_only=True, validator=matches_re(UID_PATTERN))
    description: str = attr.ib(kw_only=True, validator=instance_of(str))
    variables: list[Any] = attr.ib(factory=list, kw_only=True, validator=instance_of(list))
    templating: core.Templating = attr.ib(
        factory=core.Templating,
        validator=_not_used("pass extra variables=[...]; the standard ones are added"),
    )
    rows: list[Any] = attr.ib(factory=list, validator=_not_used("use panels=grid(Row(...), ...)"))
    schemaVersion: int = attr.ib(default=SCHEMA_VERSION)
    editable: bool = attr.ib(default=False)  # dashboards are changed in code, not in the browser
    graphTooltip: int = attr.ib(default=core.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR)
    refresh: str = attr.ib(default="30s")
    timezone: str = attr.ib(default="browser")
    source: Location = source_field()

    def uses_loki(self) -> bool:
        return any(getattr(t, "datasource", None) == LOKI for p in self.panels for t in p.targets)

    def panel_id(self, title: str) -> int:
        """The id of the panel with this title, for alert rules linking to it."""
        ids = [p.id for p in self.panels if p.title == title]
        if len(ids) != 1:
            raise ValueError(f"dashboard '{self.uid}' has {len(ids)} panels titled '{title}', expected 1")
        return ids[0]

    def embeddable_panels(self) -> list[core.Panel]:
        return [p for p in self.panels if getattr(p, "embeddable", False)]

    def to_json_data(self) -> dict[str, Any]:
        data = {**SAVE_MODEL_DEFAULTS, **keep_keys(super().to_json_data(), DASHBOARD_KEYS)}
        data["annotations"] = {"list": [BUILT_IN_ANNOTATIONS]}
        data["links"] = [CHAT_DASHBOARDS_LINK, *self.links]
        data["tags"] = [DASHBOARD_TAG, *(t for t in self.tags if t != DASHBOARD_TAG)]
        data["templating"] = {"list": standard_variables(self.uses_loki()) + self.variables}
        data["timepicker"] = {}
        return plain_json(data)
