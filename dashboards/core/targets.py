"""Panel queries without grafanalib's Graphite/Prometheus leftovers.

grafanalib's `Target` always emits `query`, `target`, `step`, `intervalFactor` and `metric`, even for
Loki, and has no `queryType`. These value objects emit only what Grafana's query editors store.
An empty `refId` is filled in by the layout helper (`layout.grid`).
"""

from __future__ import annotations

from typing import Any

import attr
from attr.validators import in_, instance_of, optional

from dashboards.core.conventions import LOKI, PROMETHEUS

PROM_FORMATS = ("time_series", "table", "heatmap")
LOKI_QUERY_TYPES = ("range", "instant")


@attr.s
class PromTarget:
    """A PromQL query. `format="heatmap"` turns cumulative `le` buckets into per-bucket series."""

    expr: str = attr.ib(validator=instance_of(str))
    legendFormat: str = attr.ib(default="__auto", validator=instance_of(str))
    refId: str = attr.ib(default="", validator=instance_of(str))
    instant: bool = attr.ib(default=False, validator=instance_of(bool))
    format: str = attr.ib(default="time_series", validator=in_(PROM_FORMATS))
    datasource: dict[str, str] = attr.ib(factory=lambda: dict(PROMETHEUS), validator=instance_of(dict))

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": self.datasource,
            "editorMode": "code",
            "expr": self.expr,
            "format": self.format,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }


@attr.s
class LokiTarget:
    """A LogQL query: a log stream selector (logs panel) or a metric query (time series)."""

    expr: str = attr.ib(validator=instance_of(str))
    legendFormat: str | None = attr.ib(default=None, validator=optional(instance_of(str)))
    refId: str = attr.ib(default="", validator=instance_of(str))
    queryType: str = attr.ib(default="range", validator=in_(LOKI_QUERY_TYPES))
    maxLines: int | None = attr.ib(default=None, validator=optional(instance_of(int)))
    datasource: dict[str, str] = attr.ib(factory=lambda: dict(LOKI), validator=instance_of(dict))

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": self.datasource,
            "editorMode": "code",
            "expr": self.expr,
            "legendFormat": self.legendFormat,
            "maxLines": self.maxLines,
            "queryType": self.queryType,
            "refId": self.refId,
        }
