"""Current Grafana panel types on top of grafanalib's panels, with its outdated defaults fixed.

What changes compared with grafanalib 0.7.1 (weaveworks/grafanalib: grafanalib/core.py, Panel.panel_json):
- only keys current Grafana reads are emitted (no `span`, `height`, `error`, `maxDataPoints: 100`, ...);
- the panel query options `interval`, `maxDataPoints`, `timeFrom` and `timeShift` are emitted when set,
  and `extraJson` is merged last, so nothing an author passes is dropped silently;
- the panel datasource defaults to the datasource of its queries, as a `{type, uid}` object;
- every panel has a `unit` and a proper base threshold step (grafanalib's Stat emits `steps: ""`);
- Stat, BarGauge and Gauge reduce with `lastNotNull` (grafanalib: `mean`) under `options.reduceOptions`;
- Heatmap uses the Grafana 9+ option model (grafanalib emits the pre-9 `cards`/`color`/`dataFormat`).
`embeddable=True` marks a panel for viewers: it is listed in embeds.json with its /d-solo/ path.
"""

from __future__ import annotations

import json
from typing import Any

import attr
from attr.validators import in_, instance_of, optional
from grafanalib import core

from dashboards.core.cleanup import keep_keys, merged
from dashboards.core.conventions import UNIT_COUNT, UNIT_NONE
from dashboards.core.sources import Location, source_field

PANEL_KEYS = frozenset(
    {
        "datasource",
        "description",
        "fieldConfig",
        "gridPos",
        "id",
        "interval",
        "links",
        "maxDataPoints",
        "options",
        "targets",
        "timeFrom",
        "timeShift",
        "title",
        "transformations",
        "transparent",
        "type",
    }
)
ROW_KEYS = frozenset({"collapsed", "gridPos", "id", "panels", "title", "type"})
# Panel keys at these values are dropped, as Grafana's save model does (PanelModel.getSaveModel, and the
# backend's cleanupPanelForSave in 12.2+, which would otherwise strip them and make publish see drift).
PANEL_DEFAULTS: dict[str, Any] = {
    "fieldConfig": {"defaults": {}, "overrides": []},
    "links": [],
    "options": {},
    "transformations": [],
    "transparent": False,
}
REDUCERS = ("lastNotNull", "last", "mean", "max", "min", "sum", "count")


def steps(base_color: str, *levels: tuple[float, str]) -> list[dict[str, Any]]:
    """Threshold steps: the base colour (value null = -Infinity), then (value, colour) pairs ascending."""
    return [{"color": base_color, "value": None}] + [{"color": c, "value": v} for v, c in levels]


def _base_thresholds() -> Any:
    return attr.ib(factory=lambda: steps("green"), validator=instance_of(list))


def targets_datasource(targets: list[Any]) -> dict[str, str] | None:
    """The one datasource all queries share, or None when there are none or they disagree."""
    refs = {json.dumps(getattr(t, "datasource", None), sort_keys=True) for t in targets}
    if len(refs) != 1:
        return None
    return json.loads(refs.pop())


def modernise(panel: core.Panel, data: dict[str, Any]) -> dict[str, Any]:
    """Drop grafanalib's legacy keys and default-valued keys; default the datasource to the queries' one.

    `extraJson` is merged last, over what our panels compute too, as grafanalib documents it: raw additions
    or overrides for what the classes do not model.
    """
    current = {
        **keep_keys(data, PANEL_KEYS),
        "datasource": panel.dataSource or targets_datasource(panel.targets),
    }
    with_extra = merged(current, panel.extraJson or {})
    return {key: item for key, item in with_extra.items() if PANEL_DEFAULTS.get(key) != item}


def _scaled_field_config(panel: BarGauge | Gauge) -> dict[str, Any]:
    """Field config of the panels that draw a value against a min..max scale, coloured by thresholds."""
    return {
        "defaults": {
            "color": {"mode": "thresholds"},
            "decimals": panel.decimals,
            "max": panel.max,
            "min": panel.min,
            "unit": panel.unit,
        },
        "overrides": [],
    }


def _reduce_options(calc: str, all_values: bool = False) -> dict[str, Any]:
    return {"calcs": [calc], "fields": "", "values": all_values}


@attr.s
class ChatPanel:
    """The fields every panel of ours adds or redefines. List it first among the bases: attrs takes an
    inherited field from the first base in the MRO that has it, so these replace grafanalib's.

    grafanalib defaults `maxDataPoints` to 100, a cap on every query's resolution; Grafana's own default
    follows the panel's width, so here it is unset unless an author sets it.
    `embeddable=True` marks a panel for viewers (see the module docstring).
    `source` is where the author built it (dashboards/core/sources.py).
    """

    maxDataPoints: int | None = attr.ib(default=None, validator=optional(instance_of(int)), kw_only=True)
    embeddable: bool = attr.ib(default=False, validator=instance_of(bool), kw_only=True)
    source: Location = source_field()


@attr.s
class TimeSeries(ChatPanel, core.TimeSeries):
    """Time series. grafanalib hides a legend with displayMode "hidden", which schemaVersion 37 replaced by
    `showLegend` (a dashboard at 42 is not migrated), so the legend's visibility is written explicitly."""

    thresholds: list[dict[str, Any]] = _base_thresholds()

    def to_json_data(self) -> dict[str, Any]:
        data = super().to_json_data()
        legend = data["options"]["legend"]
        legend["showLegend"] = self.legendDisplayMode != "hidden"
        if not legend["showLegend"]:
            legend["displayMode"] = "list"
        return modernise(self, data)


@attr.s
class Stat(ChatPanel, core.Stat):
    unit: str = attr.ib(default=UNIT_NONE, validator=instance_of(str))
    reduceCalc: str = attr.ib(default="lastNotNull", validator=in_(REDUCERS))
    thresholds: list[dict[str, Any]] = _base_thresholds()

    def to_json_data(self) -> dict[str, Any]:
        overrides = {
            "fieldConfig": {
                "defaults": {
                    "color": {"mode": "thresholds"},
                    "decimals": self.decimals,
                    "mappings": self.mappings,
                    "unit": self.unit,
                },
                "overrides": self.overrides,
            },
            "options": {
                "colorMode": self.colorMode,
                "graphMode": self.graphMode,
                "justifyMode": self.alignment,
                "orientation": self.orientation,
                "reduceOptions": _reduce_options(self.reduceCalc),
                "textMode": self.textMode,
            },
            "type": core.STAT_TYPE,
        }
        return modernise(self, self.panel_json(overrides))


@attr.s
class BarGauge(ChatPanel, core.BarGauge):
    unit: str = attr.ib(default=UNIT_NONE, validator=instance_of(str))
    calc: str = attr.ib(default="lastNotNull", validator=in_(REDUCERS))
    displayMode: str = attr.ib(default=core.GAUGE_DISPLAY_MODE_GRADIENT)
    max: float | None = attr.ib(default=None)
    thresholds: list[dict[str, Any]] = _base_thresholds()

    def to_json_data(self) -> dict[str, Any]:
        overrides = {
            "fieldConfig": _scaled_field_config(self),
            "options": {
                "displayMode": self.displayMode,
                "orientation": self.orientation,
                "reduceOptions": _reduce_options(self.calc, self.allValues),
                "showUnfilled": True,
                "valueMode": "color",
            },
            "type": core.BARGAUGE_TYPE,
        }
        return modernise(self, self.panel_json(overrides))


@attr.s
class Gauge(ChatPanel, core.GaugePanel):
    """The gauge panel. grafanalib's GaugePanel puts reduce and marker options where Grafana ignores them."""

    unit: str = attr.ib(default=UNIT_NONE, validator=instance_of(str))
    calc: str = attr.ib(default="lastNotNull", validator=in_(REDUCERS))
    thresholds: list[dict[str, Any]] = _base_thresholds()

    def to_json_data(self) -> dict[str, Any]:
        overrides = {
            "fieldConfig": _scaled_field_config(self),
            "options": {
                "reduceOptions": _reduce_options(self.calc, self.allValues),
                "showThresholdLabels": self.thresholdLabels,
                "showThresholdMarkers": self.thresholdMarkers,
            },
            "type": core.GAUGE_TYPE,
        }
        return modernise(self, self.panel_json(overrides))


@attr.s
class Table(ChatPanel, core.Table):
    thresholds: list[dict[str, Any]] = _base_thresholds()

    def to_json_data(self) -> dict[str, Any]:
        overrides = {
            "fieldConfig": {
                "defaults": {
                    "custom": {"align": self.align, "filterable": self.filterable},
                    "mappings": self.mappings,
                    "unit": self.unit,
                },
                "overrides": self.overrides,
            },
            "options": {"showHeader": self.showHeader, "sortBy": self.sortBy},
            "type": core.TABLE_TYPE,
        }
        return modernise(self, self.panel_json(overrides))


@attr.s
class Heatmap(ChatPanel, core.Panel):
    """Heatmap of Prometheus histogram buckets: `sum by (le) (rate(x_bucket[...]))`, format heatmap.

    `unit` is the bucket axis (e.g. seconds), `cellUnit` the value of one cell.
    """

    unit: str = attr.ib(default=UNIT_NONE, validator=instance_of(str))
    cellUnit: str = attr.ib(default=UNIT_COUNT, validator=instance_of(str))
    colorScheme: str = attr.ib(default="Oranges", validator=instance_of(str))

    def to_json_data(self) -> dict[str, Any]:
        overrides = {
            "options": {
                "calculate": False,  # Prometheus already bucketed the data
                "cellGap": 1,
                "cellValues": {"unit": self.cellUnit},
                "color": {
                    "exponent": 0.5,
                    "mode": "scheme",
                    "reverse": False,
                    "scale": "exponential",
                    "scheme": self.colorScheme,
                    "steps": 64,
                },
                "legend": {"show": True},
                "rowsFrame": {"layout": "auto"},
                "tooltip": {"mode": "single", "yHistogram": False},
                "yAxis": {"axisPlacement": "left", "reverse": False, "unit": self.unit},
            },
            "type": core.HEATMAP_TYPE,
        }
        # Cells are coloured by options.color; grafanalib's empty threshold list would only confuse Grafana.
        field_config = {"defaults": {"unit": self.unit}, "overrides": []}
        return modernise(self, {**self.panel_json(overrides), "fieldConfig": field_config})


@attr.s
class Logs(ChatPanel, core.Logs):
    """Logs panel. It shows lines, not numbers, so it has no unit."""

    showTime: bool = attr.ib(default=True, validator=instance_of(bool))
    wrapLogMessages: bool = attr.ib(default=True, validator=instance_of(bool))
    enableLogDetails: bool = attr.ib(default=True, validator=instance_of(bool))

    def to_json_data(self) -> dict[str, Any]:
        return modernise(self, {**super().to_json_data(), "fieldConfig": PANEL_DEFAULTS["fieldConfig"]})


@attr.s
class RowHeader(core.RowPanel):
    """A titled row above a band of panels (always expanded, so it holds no panels itself)."""

    collapsed: bool = attr.ib(default=False, validator=in_([False]))
    source: Location = source_field()  # grid() passes the Row's, where the author wrote the title
    raw: Any = attr.ib(default=None, kw_only=True)  # an imported header's other keys (exact.Raw)

    def to_json_data(self) -> dict[str, Any]:
        data = keep_keys(super().to_json_data(), ROW_KEYS)
        return merged(data, self.raw.json) if self.raw is not None else data
