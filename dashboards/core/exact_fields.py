"""Field config, exactly as Grafana stores it: defaults, overrides, thresholds, value mappings, data links.

A panel's `fieldConfig` says how every field (series) is shown: `defaults` for all of them, `overrides`
for the ones a matcher picks. `custom` holds the visualisation's own field options (line style of a time
series, cell type of a table); FieldStyle models the keys the built-in panels use.
See dashboards/core/exact.py for how these render.
"""

from __future__ import annotations

from typing import Any

import attr

from dashboards.core.exact import JsonObject, key


@attr.s
class Thresholds(JsonObject):
    """`steps` from `panels.steps(base, (value, colour), ...)`: the base step's value null is -Infinity."""

    steps: list[dict[str, Any]] = key(factory=list)
    mode: str | None = key(default="absolute")


@attr.s
class ValueMapping(JsonObject):
    """One value mapping: type "value" (options {value: {text, color, index}}), "range" ({from, to,
    result}), "regex" ({pattern, result}) or "special" ({match, result})."""

    type: str = key()
    options: dict[str, Any] = key()


@attr.s
class Link(JsonObject):
    """A link: a dashboard's (type "link" or "dashboards" by tags), a panel's, or a field's data link."""

    title: str | None = key()
    url: str | None = key()
    type: str | None = key()
    tags: list[str] | None = key()
    asDropdown: bool | None = key()
    includeVars: bool | None = key()
    keepTime: bool | None = key()
    targetBlank: bool | None = key()
    icon: str | None = key()
    tooltip: str | None = key()


@attr.s
class FieldStyle(JsonObject):
    """`fieldConfig.defaults.custom`: the visualisation's field options (time series, state timeline,
    heatmap and table keys; a panel type uses its own subset)."""

    axisBorderShow: bool | None = key()
    axisCenteredZero: bool | None = key()
    axisColorMode: str | None = key()
    axisGridShow: bool | None = key()
    axisLabel: str | None = key()
    axisPlacement: str | None = key()
    axisSoftMax: float | None = key()
    axisSoftMin: float | None = key()
    axisWidth: float | None = key()
    barAlignment: int | None = key()
    barWidthFactor: float | None = key()
    drawStyle: str | None = key()
    fillOpacity: float | None = key()
    gradientMode: str | None = key()
    hideFrom: dict[str, bool] | None = key()
    insertNulls: bool | int | None = key()
    lineInterpolation: str | None = key()
    lineStyle: dict[str, Any] | None = key()
    lineWidth: float | None = key()
    pointSize: float | None = key()
    scaleDistribution: dict[str, Any] | None = key()
    showPoints: str | None = key()
    showValues: bool | None = key()
    spanNulls: bool | int | None = key()
    stacking: dict[str, Any] | None = key()
    thresholdsStyle: dict[str, Any] | None = key()
    transform: str | None = key()
    # table
    align: str | None = key()
    cellOptions: dict[str, Any] | None = key()
    displayMode: str | None = key()
    filterable: bool | None = key()
    footer: dict[str, Any] | None = key()
    hidden: bool | None = key()
    inspect: bool | None = key()
    minWidth: int | None = key()
    width: int | None = key()
    wrapText: bool | None = key()


@attr.s
class FieldDefaults(JsonObject):
    """`fieldConfig.defaults`: unit, decimals, min/max, colour, thresholds, mappings, links, custom."""

    unit: str | None = key()
    decimals: int | None = key()
    min: float | None = key()
    max: float | None = key()
    color: dict[str, Any] | None = key()
    thresholds: Thresholds | None = key(Thresholds)
    mappings: list[ValueMapping] | None = key([ValueMapping], factory=list)
    links: list[Link] | None = key([Link])
    custom: FieldStyle | None = key(FieldStyle)
    displayName: str | None = key()
    noValue: str | None = key()
    description: str | None = key()
    fieldMinMax: bool | None = key()
    filterable: bool | None = key()


@attr.s
class Matcher(JsonObject):
    """Which fields an override applies to: id "byName", "byRegexp", "byType", "byFrameRefID", ..."""

    id: str = key()
    options: Any = key()


@attr.s
class Property(JsonObject):
    """One overridden field option: `id` is its path ("unit", "custom.width", "color", ...)."""

    id: str = key()
    value: Any = key()


@attr.s
class Override(JsonObject):
    matcher: Matcher = key(Matcher)
    properties: list[Property] = key([Property], factory=list)


@attr.s
class FieldConfig(JsonObject):
    defaults: FieldDefaults = key(FieldDefaults, factory=FieldDefaults)
    overrides: list[Override] = key([Override], factory=list)
