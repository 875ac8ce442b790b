"""Panels and queries, exactly as Grafana stores them (see dashboards/core/exact.py for how they render).

One class per built-in visualisation, each with the options class of its `options`; PluginPanel carries
any other panel type, LibraryPanel a reference to a library panel (its model lives in Grafana's library,
not in the dashboard). Panels go into `layout.grid(...)` like the chat panels, which gives them their
position; an explicit `id` or query `refId` is kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attr

from dashboards.core.conventions import LOKI, PROMETHEUS
from dashboards.core.exact import JsonObject, key
from dashboards.core.exact_fields import FieldConfig, Link
from dashboards.core.panels import targets_datasource
from dashboards.core.sources import Location, source_field

# A panel's datasource defaults to the one its queries share (as the chat panels do).
FROM_QUERIES = "<the queries' datasource>"


@attr.s
class PromQuery(JsonObject):
    """A PromQL query as the Prometheus query editor stores it."""

    expr: str = attr.ib()
    refId: str = key(default="")
    datasource: dict[str, str] | None = key(factory=lambda: dict(PROMETHEUS))
    legendFormat: str | None = key()
    instant: bool | None = key()
    range: bool | None = key()
    format: str | None = key()
    interval: str | None = key()
    intervalFactor: int | None = key()
    step: int | None = key()
    exemplar: bool | None = key()
    editorMode: str | None = key()
    hide: bool | None = key()
    queryType: str | None = key()

    def own_json(self) -> dict[str, Any]:
        return {"expr": self.expr, **super().own_json()}


@attr.s
class LokiQuery(JsonObject):
    """A LogQL query as the Loki query editor stores it."""

    expr: str = attr.ib()
    refId: str = key(default="")
    datasource: dict[str, str] | None = key(factory=lambda: dict(LOKI))
    legendFormat: str | None = key()
    queryType: str | None = key()
    maxLines: int | None = key()
    editorMode: str | None = key()
    hide: bool | None = key()
    instant: bool | None = key()
    range: bool | None = key()
    step: str | None = key()
    resolution: int | None = key()

    def own_json(self) -> dict[str, Any]:
        return {"expr": self.expr, **super().own_json()}


@attr.s
class Query(JsonObject):
    """A query of any other datasource: what its editor stores beyond these keys is in `raw`."""

    refId: str = key(default="")
    datasource: dict[str, str] | None = key()
    hide: bool | None = key()
    queryType: str | None = key()


@attr.s
class Legend(JsonObject):
    displayMode: str | None = key()
    placement: str | None = key()
    showLegend: bool | None = key()
    calcs: list[str] | None = key()
    width: float | None = key()
    sortBy: str | None = key()
    sortDesc: bool | None = key()
    asTable: bool | None = key()
    isVisible: bool | None = key()
    show: bool | None = key()


@attr.s
class Tooltip(JsonObject):
    mode: str | None = key()
    sort: str | None = key()
    maxHeight: int | None = key()
    hideZeros: bool | None = key()
    yHistogram: bool | None = key()
    showColorScale: bool | None = key()


@attr.s
class ReduceOptions(JsonObject):
    """How a single-value panel reduces each series: `calcs` (["lastNotNull"]), all `values` or one."""

    calcs: list[str] | None = key()
    fields: str | None = key()
    values: bool | None = key()
    limit: int | None = key()


@attr.s
class TextSize(JsonObject):
    titleSize: int | None = key()
    valueSize: int | None = key()


@attr.s
class TimeSeriesOptions(JsonObject):
    legend: Legend | None = key(Legend)
    tooltip: Tooltip | None = key(Tooltip)
    timezone: list[str] | None = key()
    orientation: str | None = key()


@attr.s
class StatOptions(JsonObject):
    colorMode: str | None = key()
    graphMode: str | None = key()
    justifyMode: str | None = key()
    orientation: str | None = key()
    reduceOptions: ReduceOptions | None = key(ReduceOptions)
    text: TextSize | None = key(TextSize)
    textMode: str | None = key()
    wideLayout: bool | None = key()
    showPercentChange: bool | None = key()
    percentChangeColorMode: str | None = key()


@attr.s
class GaugeOptions(JsonObject):
    orientation: str | None = key()
    reduceOptions: ReduceOptions | None = key(ReduceOptions)
    showThresholdLabels: bool | None = key()
    showThresholdMarkers: bool | None = key()
    sizing: str | None = key()
    minVizHeight: int | None = key()
    minVizWidth: int | None = key()
    text: TextSize | None = key(TextSize)


@attr.s
class BarGaugeOptions(JsonObject):
    displayMode: str | None = key()
    orientation: str | None = key()
    reduceOptions: ReduceOptions | None = key(ReduceOptions)
    showUnfilled: bool | None = key()
    valueMode: str | None = key()
    namePlacement: str | None = key()
    sizing: str | None = key()
    minVizHeight: int | None = key()
    minVizWidth: int | None = key()
    maxVizHeight: int | None = key()
    text: TextSize | None = key(TextSize)
    legend: Legend | None = key(Legend)


@attr.s
class TableOptions(JsonObject):
    showHeader: bool | None = key()
    cellHeight: str | None = key()
    footer: dict[str, Any] | None = key()
    sortBy: list[dict[str, Any]] | None = key()
    frameIndex: int | None = key()
    showTypeIcons: bool | None = key()


@attr.s
class HeatmapOptions(JsonObject):
    calculate: bool | None = key()
    calculation: dict[str, Any] | None = key()
    cellGap: int | None = key()
    cellValues: dict[str, Any] | None = key()
    color: dict[str, Any] | None = key()
    exemplars: dict[str, Any] | None = key()
    filterValues: dict[str, Any] | None = key()
    legend: Legend | None = key(Legend)
    rowsFrame: dict[str, Any] | None = key()
    showValue: str | None = key()
    tooltip: Tooltip | None = key(Tooltip)
    yAxis: dict[str, Any] | None = key()
    selectionMode: str | None = key()


@attr.s
class StateTimelineOptions(JsonObject):
    alignValue: str | None = key()
    legend: Legend | None = key(Legend)
    mergeValues: bool | None = key()
    rowHeight: float | None = key()
    showValue: str | None = key()
    tooltip: Tooltip | None = key(Tooltip)
    perPage: int | None = key()


@attr.s
class LogsOptions(JsonObject):
    dedupStrategy: str | None = key()
    enableLogDetails: bool | None = key()
    enableInfiniteScrolling: bool | None = key()
    prettifyLogMessage: bool | None = key()
    showCommonLabels: bool | None = key()
    showLabels: bool | None = key()
    showTime: bool | None = key()
    sortOrder: str | None = key()
    wrapLogMessage: bool | None = key()


@attr.s
class TextOptions(JsonObject):
    mode: str | None = key()
    content: str | None = key()
    code: dict[str, Any] | None = key()


@attr.s
class Transformation(JsonObject):
    """One step of the panel's transformation pipeline: `id` ("organize", "merge", ...) and its options."""

    id: str = key()
    options: dict[str, Any] | None = key(factory=dict)
    disabled: bool | None = key()
    filter: dict[str, Any] | None = key()
    topic: str | None = key()


@attr.s
class LibraryPanelRef(JsonObject):
    uid: str = key()
    name: str | None = key()


QUERY_KINDS = [PromQuery, LokiQuery, Query]


@attr.s
class ExactPanel(JsonObject):
    """The keys every panel type shares. `type` comes from the class (PluginPanel: from its field)."""

    TYPE: ClassVar[str] = ""
    OPTIONS: ClassVar[type | None] = None

    title: str | None = key()
    description: str | None = key()
    id: int | None = key()
    gridPos: Any = key()
    datasource: Any = key(default=FROM_QUERIES)
    targets: list[Any] = key(QUERY_KINDS, factory=list)
    fieldConfig: FieldConfig | None = key(FieldConfig)
    options: Any = key()
    transformations: list[Transformation] | None = key([Transformation])
    links: list[Link] | None = key([Link])
    pluginVersion: str | None = key()
    interval: str | None = key()
    maxDataPoints: int | None = key()
    timeFrom: str | None = key()
    timeShift: str | None = key()
    hideTimeOverride: bool | None = key()
    transparent: bool | None = key()
    repeat: str | None = key()
    repeatDirection: str | None = key()
    maxPerRow: int | None = key()
    cacheTimeout: str | None = key()
    queryCachingTTL: int | None = key()
    embeddable: bool = attr.ib(default=False, kw_only=True)  # listed in embeds.json, as the chat panels
    source: Location = source_field()

    def own_json(self) -> dict[str, Any]:
        data = super().own_json()
        if self.datasource == FROM_QUERIES:
            shared = targets_datasource(self.targets or [])
            data.pop("datasource")
            if shared is not None:
                data["datasource"] = shared
        return {**data, "type": self.TYPE} if self.TYPE else data


@attr.s
class TimeSeriesPanel(ExactPanel):
    TYPE: ClassVar[str] = "timeseries"
    OPTIONS: ClassVar[type | None] = TimeSeriesOptions


@attr.s
class StatPanel(ExactPanel):
    TYPE: ClassVar[str] = "stat"
    OPTIONS: ClassVar[type | None] = StatOptions


@attr.s
class GaugePanel(ExactPanel):
    TYPE: ClassVar[str] = "gauge"
    OPTIONS: ClassVar[type | None] = GaugeOptions


@attr.s
class BarGaugePanel(ExactPanel):
    TYPE: ClassVar[str] = "bargauge"
    OPTIONS: ClassVar[type | None] = BarGaugeOptions


@attr.s
class TablePanel(ExactPanel):
    TYPE: ClassVar[str] = "table"
    OPTIONS: ClassVar[type | None] = TableOptions


@attr.s
class HeatmapPanel(ExactPanel):
    TYPE: ClassVar[str] = "heatmap"
    OPTIONS: ClassVar[type | None] = HeatmapOptions


@attr.s
class StateTimelinePanel(ExactPanel):
    TYPE: ClassVar[str] = "state-timeline"
    OPTIONS: ClassVar[type | None] = StateTimelineOptions


@attr.s
class LogsPanel(ExactPanel):
    TYPE: ClassVar[str] = "logs"
    OPTIONS: ClassVar[type | None] = LogsOptions


@attr.s
class TextPanel(ExactPanel):
    TYPE: ClassVar[str] = "text"
    OPTIONS: ClassVar[type | None] = TextOptions


@attr.s
class PluginPanel(ExactPanel):
    """A panel type our classes do not model (a plugin, or an old Angular panel): its options are data."""

    type: str = key(default="")


@attr.s
class LibraryPanel(ExactPanel):
    """A library panel: the dashboard holds only the reference (and position); Grafana keeps the model."""

    libraryPanel: LibraryPanelRef | None = key(LibraryPanelRef)


@attr.s
class RowPanel(ExactPanel):
    """A row header placed explicitly; a collapsed one holds the panels it hides."""

    TYPE: ClassVar[str] = "row"

    collapsed: bool | None = key()
    panels: list[Any] | None = key()
    datasource: Any = key()
    targets: list[Any] | None = key(QUERY_KINDS)  # a row queries nothing: absent unless the JSON has it


PANEL_TYPES: dict[str, type[ExactPanel]] = {
    cls.TYPE: cls
    for cls in (
        TimeSeriesPanel,
        StatPanel,
        GaugePanel,
        BarGaugePanel,
        TablePanel,
        HeatmapPanel,
        StateTimelinePanel,
        LogsPanel,
        TextPanel,
        RowPanel,
    )
}
