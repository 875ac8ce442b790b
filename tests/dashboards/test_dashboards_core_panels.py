"""Panel fields inherited from grafanalib reach the rendered JSON instead of vanishing."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards.core.cleanup import plain_json
from dashboards.core.dashboard import ChatDashboard
from dashboards.core.layout import Row, grid
from dashboards.core.panels import BarGauge, Gauge, Heatmap, Logs, Stat, Table, TimeSeries
from dashboards.core.targets import LokiTarget, PromTarget

PANEL_CLASSES = [TimeSeries, Stat, BarGauge, Gauge, Table, Heatmap, Logs]
# Grafana's panel-level query options, with a value an author might set.
QUERY_OPTIONS = {"interval": "1m", "maxDataPoints": 500, "timeFrom": "24h", "timeShift": "1d"}


def panel_of(panel_class: type[Any], **fields: Any) -> Any:
    target = LokiTarget(expr='{app="chat"}') if panel_class is Logs else PromTarget(expr="up")
    return panel_class(title="Panel", targets=[target], **fields)


def rendered(panel: Any) -> dict[str, Any]:
    """The panel as a dashboard renders it."""
    return plain_json(panel)


@pytest.mark.parametrize("panel_class", PANEL_CLASSES)
@pytest.mark.parametrize(("field", "value"), QUERY_OPTIONS.items())
def test_query_options_are_emitted_when_set(panel_class: type[Any], field: str, value: Any) -> None:
    assert rendered(panel_of(panel_class, **{field: value}))[field] == value


@pytest.mark.parametrize("panel_class", PANEL_CLASSES)
def test_unset_query_options_are_not_emitted(panel_class: type[Any]) -> None:
    """grafanalib's maxDataPoints default (100) would cap every query; unset, Grafana follows the width."""
    assert not QUERY_OPTIONS.keys() & rendered(panel_of(panel_class)).keys()


def test_max_data_points_must_be_a_number() -> None:
    with pytest.raises(TypeError, match="maxDataPoints"):
        TimeSeries(title="Panel", maxDataPoints="500")


def test_query_options_survive_the_grid_layout() -> None:
    dashboard = ChatDashboard(
        uid="panel-options",
        title="Panel options",
        description="Query options on a laid-out panel.",
        panels=grid(Row(panels=[panel_of(TimeSeries, **QUERY_OPTIONS)])),
    )
    panel = dashboard.to_json_data()["panels"][0]
    assert {field: panel[field] for field in QUERY_OPTIONS} == QUERY_OPTIONS


@pytest.mark.parametrize("panel_class", PANEL_CLASSES)
def test_extra_json_keys_we_do_not_model_are_emitted(panel_class: type[Any]) -> None:
    extra = {"hideTimeOverride": True, "pluginVersion": "12.3.0"}
    panel = rendered(panel_of(panel_class, extraJson=extra))
    assert {key: panel[key] for key in extra} == extra


@pytest.mark.parametrize("panel_class", PANEL_CLASSES)
def test_extra_json_is_merged_over_what_the_panel_computes(panel_class: type[Any]) -> None:
    panel = rendered(panel_of(panel_class, extraJson={"fieldConfig": {"defaults": {"unit": "ms"}}}))
    assert panel["fieldConfig"]["defaults"]["unit"] == "ms"
    assert panel["fieldConfig"]["overrides"] == []  # merged key by key, not replaced


def test_extra_json_wins_over_the_computed_legend() -> None:
    extra = {"options": {"legend": {"showLegend": False}}}
    legend = rendered(panel_of(TimeSeries, extraJson=extra))["options"]["legend"]
    assert legend["showLegend"] is False
    assert legend["placement"] == "bottom"
