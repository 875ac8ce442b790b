"""A dashboard exactly as its fields say, with template variables and annotations of every kind.

ForeignDashboard is what `python -m scripts.import` writes: unlike ChatDashboard it adds none of our
conventions (chat tag, dashboard links, standard variables, editable=False), so a dashboard of another
service renders as it was, and an imported chat dashboard says its conventions itself. It is a
ChatDashboard for everything else (the renderer finds it, sources.json, embeds, alert links).
Defaults are what Grafana fills in on save (fiscalYearStartMonth 0, weekStart "", timepicker {}).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attr

from dashboards.core.dashboard import SAVE_MODEL_DEFAULTS, ChatDashboard
from dashboards.core.exact import JsonObject, key
from dashboards.core.exact_fields import Link


@attr.s
class Variable(JsonObject):
    """The keys template variables share; each kind's class sets `type`."""

    TYPE: ClassVar[str] = ""

    name: str = attr.ib()
    label: str | None = key()
    description: str | None = key()
    hide: int | None = key()
    skipUrlSync: bool | None = key()
    current: dict[str, Any] | None = key()
    options: list[dict[str, Any]] | None = key(factory=list)
    query: Any = key()
    datasource: dict[str, str] | None = key()
    definition: str | None = key()
    refresh: int | None = key()
    regex: str | None = key()
    sort: int | None = key()
    includeAll: bool | None = key()
    multi: bool | None = key()
    allValue: str | None = key()
    allowCustomValue: bool | None = key()
    queryValue: str | None = key()
    auto: bool | None = key()
    auto_count: int | None = key()
    auto_min: str | None = key()
    filters: list[dict[str, Any]] | None = key()
    baseFilters: list[dict[str, Any]] | None = key()
    defaultKeys: list[Any] | None = key()

    def own_json(self) -> dict[str, Any]:
        return {"name": self.name, **super().own_json(), "type": self.TYPE}


@attr.s
class QueryVar(Variable):
    TYPE: ClassVar[str] = "query"


@attr.s
class CustomVar(Variable):
    TYPE: ClassVar[str] = "custom"


@attr.s
class DatasourceVar(Variable):
    TYPE: ClassVar[str] = "datasource"


@attr.s
class IntervalVar(Variable):
    TYPE: ClassVar[str] = "interval"


@attr.s
class ConstantVar(Variable):
    TYPE: ClassVar[str] = "constant"


@attr.s
class TextboxVar(Variable):
    TYPE: ClassVar[str] = "textbox"


@attr.s
class AdhocVar(Variable):
    TYPE: ClassVar[str] = "adhoc"


@attr.s
class GroupByVar(Variable):
    TYPE: ClassVar[str] = "groupby"


@attr.s
class SwitchVar(Variable):
    TYPE: ClassVar[str] = "switch"


VARIABLE_TYPES: dict[str, type[Variable]] = {
    cls.TYPE: cls
    for cls in (
        QueryVar,
        CustomVar,
        DatasourceVar,
        IntervalVar,
        ConstantVar,
        TextboxVar,
        AdhocVar,
        GroupByVar,
        SwitchVar,
    )
}


@attr.s
class Annotation(JsonObject):
    """An annotation query; `builtIn=1` marks Grafana's own "Annotations & Alerts"."""

    name: str = attr.ib()
    datasource: dict[str, str] | None = key()
    enable: bool | None = key()
    hide: bool | None = key()
    iconColor: str | None = key()
    target: dict[str, Any] | None = key()
    builtIn: int | None = key()
    type: str | None = key()
    expr: str | None = key()
    filter: dict[str, Any] | None = key()
    step: str | None = key()
    titleFormat: str | None = key()
    textFormat: str | None = key()
    tagKeys: str | None = key()
    useValueForTime: bool | None = key()

    def own_json(self) -> dict[str, Any]:
        return {"name": self.name, **super().own_json()}


@attr.s
class TimeRange(JsonObject):
    start: str = key(name="from", default="now-6h")
    end: str = key(name="to", default="now")


@attr.s
class ForeignDashboard(JsonObject, ChatDashboard):
    """A dashboard rendered exactly as written: `panels` from `layout.grid(...)` (or placed panels),
    `variables` the whole templating list, `annotations` the whole annotation list."""

    uid: str = key()
    title: str = key()
    description: str | None = key()
    tags: list[str] | None = key()
    panels: list[Any] = key(factory=list)
    variables: list[Variable] = key([Variable], factory=list)
    annotations: list[Annotation] = key([Annotation], factory=list)
    links: list[Link] | None = key([Link], factory=list)
    time: TimeRange | None = key(TimeRange)
    timepicker: dict[str, Any] | None = key(factory=dict)
    timezone: str | None = key()
    refresh: str | None = key()
    editable: bool | None = key()
    graphTooltip: int | None = key()
    liveNow: bool | None = key()
    preload: bool | None = key()
    schemaVersion: int | None = key()
    fiscalYearStartMonth: int | None = key(default=SAVE_MODEL_DEFAULTS["fiscalYearStartMonth"])
    weekStart: str | None = key(default=SAVE_MODEL_DEFAULTS["weekStart"])
    style: str | None = key()
    revision: int | None = key()
    gnetId: int | None = key()

    def own_json(self) -> dict[str, Any]:
        data = super().own_json()
        data["templating"] = {"list": data.pop("variables")}
        data["annotations"] = {"list": data.pop("annotations")}
        return data

    def to_json_data(self) -> dict[str, Any]:
        return self.json()
