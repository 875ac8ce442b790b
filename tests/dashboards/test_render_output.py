"""Structure of the rendered provisioning files (rendered in-process from dashboards/).

Every assertion holds for whatever dashboards/ defines: expectations come from the definitions and the
shared conventions, never from a list of today's dashboards, panels or rules.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from typing import Any

import pytest
import yaml

from app.logship import STREAM_LABEL_NAMES
from app.metrics import ChatMetrics
from dashboards.core.alerting import ContactPoint, Route, RuleGroup
from dashboards.core.conventions import (
    LOG_LEVELS,
    LOG_STREAM,
    LOKI_UID,
    ORG_ID,
    SEVERITIES,
    WEBHOOK_TOKEN_PLACEHOLDER,
    parse_duration,
)
from dashboards.core.layout import Row
from dashboards.core.panels import TimeSeries
from scripts.common.paths import DEFINITIONS_DIR
from scripts.render.discover import Definitions, discover
from scripts.render.files import render_files
from scripts.rendered.layout import DASHBOARDS_DIR, dashboard_file
from scripts.rendered.slug import slugify

CURRENT_PANEL_TYPES = {"timeseries", "stat", "heatmap", "logs", "table", "bargauge", "gauge", "row"}
LEGACY_DASHBOARD_KEYS = {"rows", "style", "sharedCrosshair", "hideControls", "gnetId", "__inputs"}
LEGACY_PANEL_KEYS = {"span", "height", "minSpan", "error", "cacheTimeout", "maxDataPoints", "repeat"}
LEGACY_TARGET_KEYS = {"query", "target", "step", "intervalFactor", "metric"}
DATASOURCE_REFS = {
    "prometheus": {"type": "prometheus", "uid": "${datasource}"},
    "loki": {"type": "loki", "uid": "${loki_datasource}"},
}
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds"}  # written by Prometheus itself, not by the app
# What Grafana 12.2+ changes when it saves a dashboard through its v1beta1 API (the legacy /api/dashboards/db
# too): apps/dashboard/pkg/migration/frontend_defaults.go (applyFrontendDefaults, cleanupPanelForSave).
GRAFANA_DASHBOARD_DEFAULTS = {
    "editable": True,
    "fiscalYearStartMonth": 0,
    "graphTooltip": 0,
    "links": [],
    "tags": [],
    "timepicker": {},
    "timezone": "",
    "weekStart": "",
}
GRAFANA_PANEL_DEFAULTS = {
    "fieldConfig": {"defaults": {}, "overrides": []},
    "gridPos": {"h": 3, "w": 6, "x": 0, "y": 0},
    "links": [],
    "options": {},
    "targets": [{"refId": "A"}],
    "title": "",
    "transparent": False,
}
GRAFANA_LATEST_SCHEMA = 42


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return discover(DEFINITIONS_DIR)


@pytest.fixture(scope="module")
def files(definitions: Definitions) -> dict[str, str]:
    return render_files(definitions)


@pytest.fixture(scope="module")
def dashboards(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    found = [json.loads(text) for name, text in files.items() if name.startswith("dashboards/")]
    return {d["uid"]: d for d in found}


@pytest.fixture(scope="module")
def rule_groups(files: dict[str, str]) -> list[dict[str, Any]]:
    return json.loads(files["alerting/rules.json"])


def data_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def app_series_names() -> set[str]:
    """Every series name the app exposes, from a fresh registry (histogram/summary parts included)."""
    return {sample.name for family in ChatMetrics().registry.collect() for sample in family.samples}


def prom_exprs(dashboards: dict[str, dict[str, Any]]) -> list[str]:
    return [
        t["expr"]
        for d in dashboards.values()
        for p in data_panels(d)
        for t in p["targets"]
        if t["datasource"]["type"] == "prometheus"
    ]


def test_every_defined_dashboard_renders_to_its_uid_with_current_schema(
    definitions: Definitions, files: dict[str, str], dashboards: dict[str, dict[str, Any]]
) -> None:
    assert dashboards, "dashboards/ defines no dashboard"
    rendered = {name for name in files if name.startswith(f"{DASHBOARDS_DIR}/")}
    assert rendered == {dashboard_file(found.obj.uid) for found in definitions.dashboards}
    assert rendered == {dashboard_file(uid) for uid in dashboards}
    for dashboard in dashboards.values():
        assert dashboard["schemaVersion"] == 42  # the final v1 schema: Grafana 12.2+ migrates anything older
        assert not LEGACY_DASHBOARD_KEYS & dashboard.keys()
        assert "chat" in dashboard["tags"] and dashboard["description"]
        assert "null" not in json.dumps(dashboard)


def grafana_save_model(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard as Grafana 12.2+ would store it: defaults added, default panel keys dropped, migrated."""
    saved = copy.deepcopy(dashboard)
    for key, value in GRAFANA_DASHBOARD_DEFAULTS.items():
        saved.setdefault(key, value)
    saved["schemaVersion"] = max(saved["schemaVersion"], GRAFANA_LATEST_SCHEMA)
    for panel in saved["panels"]:
        for key, default in GRAFANA_PANEL_DEFAULTS.items():
            if key in panel and panel[key] == default:
                del panel[key]
        if panel.get("transformations") == []:
            del panel["transformations"]
    saved["panels"].sort(key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    return saved


def test_grafana_stores_the_dashboards_unchanged(dashboards: dict[str, dict[str, Any]]) -> None:
    """Publish compares what it sent with what Grafana returns, so the JSON must already be in saved form."""
    for dashboard in dashboards.values():
        assert grafana_save_model(dashboard) == dashboard, dashboard["uid"]


def test_grafana_save_model_catches_default_valued_keys(dashboards: dict[str, dict[str, Any]]) -> None:
    """The check above can fail: a default-valued key, a missing default or an old schemaVersion all show."""
    for original, change in itertools.product(
        dashboards.values(),
        (
            lambda d: d["panels"][0].update(links=[]),
            lambda d: d.pop("weekStart"),
            lambda d: d.update(schemaVersion=41),
        ),
    ):
        dashboard = copy.deepcopy(original)
        change(dashboard)
        assert grafana_save_model(dashboard) != dashboard, original["uid"]


def test_every_dashboard_links_to_the_others(dashboards: dict[str, dict[str, Any]]) -> None:
    for dashboard in dashboards.values():
        links = [link for link in dashboard["links"] if link["type"] == "dashboards"]
        assert links, dashboard["uid"]
        for other in dashboards.values():
            assert any(set(link["tags"]) <= set(other["tags"]) for link in links)


def uses_loki(dashboard: dict[str, Any]) -> bool:
    return any(p["datasource"] == DATASOURCE_REFS["loki"] for p in data_panels(dashboard))


def test_template_variables_follow_the_contract(dashboards: dict[str, dict[str, Any]]) -> None:
    for dashboard in dashboards.values():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variables["datasource"]["label"] == "Data source"
        assert variables["datasource"]["current"]["value"] == "prometheus"
        for name in ("job", "instance"):
            assert variables[name]["query"].startswith("label_values(registered_clients")
            assert variables[name]["datasource"] == DATASOURCE_REFS["prometheus"]
        # The Loki picker only where a panel queries Loki, defaulting to the provisioned Loki.
        assert ("loki_datasource" in variables) == uses_loki(dashboard), dashboard["uid"]
        if "loki_datasource" in variables:
            assert variables["loki_datasource"]["current"]["value"] == LOKI_UID
        if "level" in variables:  # a log-level filter offers exactly the levels the app logs at
            assert tuple(variables["level"]["query"].split(",")) == LOG_LEVELS, dashboard["uid"]


def test_panels_are_current_types_with_title_description_unit(dashboards: dict[str, dict[str, Any]]) -> None:
    for dashboard in dashboards.values():
        for panel in dashboard["panels"]:
            assert panel["type"] in CURRENT_PANEL_TYPES
            assert not LEGACY_PANEL_KEYS & panel.keys()
            assert panel["title"]
        for panel in data_panels(dashboard):
            assert panel["description"], panel["title"]
            if panel["type"] != "logs":  # log lines have no unit
                assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            if panel["type"] == "heatmap":
                assert panel["options"]["yAxis"]["unit"] == "s"
                assert panel["options"]["calculate"] is False


def test_stat_panels_show_the_last_value_with_real_thresholds(dashboards: dict[str, dict[str, Any]]) -> None:
    stats = [
        p for d in dashboards.values() for p in data_panels(d) if p["type"] in {"stat", "gauge", "bargauge"}
    ]
    assert stats
    for panel in stats:
        assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
        assert isinstance(panel["fieldConfig"]["defaults"]["thresholds"]["steps"], list)


def test_thresholds_start_with_a_base_step_and_heatmaps_have_none(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    panels = [p for d in dashboards.values() for p in data_panels(d)]
    for panel in panels:
        thresholds = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds")
        if panel["type"] in {"heatmap", "logs"}:
            assert thresholds is None, panel["title"]
            continue
        base, *levels = thresholds["steps"]
        assert base["color"] and "value" not in base, panel["title"]  # Grafana reads a missing value as -Inf
        values = [step["value"] for step in levels]
        assert values == sorted(values), panel["title"]


def test_time_series_legends_are_explicitly_shown_or_hidden(dashboards: dict[str, dict[str, Any]]) -> None:
    series = [p for d in dashboards.values() for p in data_panels(d) if p["type"] == "timeseries"]
    assert series and all(p["options"]["legend"]["showLegend"] is True for p in series)
    hidden = TimeSeries(title="t", legendDisplayMode="hidden").to_json_data()["options"]["legend"]
    assert (hidden["displayMode"], hidden["showLegend"]) == ("list", False)


def test_datasources_are_type_uid_refs_through_variables(dashboards: dict[str, dict[str, Any]]) -> None:
    for dashboard in dashboards.values():
        for panel in data_panels(dashboard):
            assert panel["datasource"] in DATASOURCE_REFS.values(), panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"]
                assert not LEGACY_TARGET_KEYS & target.keys()
                assert target["refId"]


def test_ids_unique_and_layout_inside_24_columns_without_overlap(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    for dashboard in dashboards.values():
        panels = dashboard["panels"]
        assert len({p["id"] for p in panels}) == len(panels)
        cells: set[tuple[int, int]] = set()
        for panel in panels:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["w"] >= 1 and pos["x"] + pos["w"] <= 24
            covered = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & covered, panel["title"]
            cells |= covered
        for panel in panels:
            refs = [t["refId"] for t in panel.get("targets", [])]
            assert len(set(refs)) == len(refs)


def test_promql_filters_by_job_and_instance_and_uses_rate_interval(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    exprs = prom_exprs(dashboards)
    assert exprs
    for expr in exprs:
        selectors = re.findall(r"\{([^}]*)\}", expr)
        assert selectors, expr
        for matchers in selectors:
            assert 'job=~"$job"' in matchers and 'instance=~"$instance"' in matchers, expr
        if re.search(r"\b(rate|increase)\(", expr):
            assert set(re.findall(r"\[([^\]]+)\]", expr)) == {"$__rate_interval"}, expr
        if "histogram_quantile(" in expr:  # quantiles of the buckets summed over everything but `le`
            assert re.search(r"histogram_quantile\([\d.]+, sum by \(le\) \(rate\(\w+_bucket\{", expr), expr
        for average_of in re.findall(r"(\w+)_sum\{", expr):  # a mean divides the sum by its count
            assert f"{average_of}_count{{" in expr, expr


def test_every_metric_exists_in_the_app(
    dashboards: dict[str, dict[str, Any]], rule_groups: list[Any]
) -> None:
    alert_exprs = [
        q["model"]["expr"]
        for g in rule_groups
        for r in g["rules"]
        for q in r["data"]
        if q["datasourceUid"] == "prometheus"
    ]
    known = app_series_names() | PROMETHEUS_SERIES
    used = {
        name
        for expr in prom_exprs(dashboards) + alert_exprs
        for name in re.findall(r"([a-zA-Z_:][\w:]*)\{", expr)
    }
    assert used and used - known == set()


def test_logql_selects_the_chat_stream_by_its_shipped_labels(dashboards: dict[str, dict[str, Any]]) -> None:
    loki_exprs = [
        t["expr"]
        for d in dashboards.values()
        for p in data_panels(d)
        for t in p["targets"]
        if t["datasource"]["type"] == "loki"
    ]
    for expr in loki_exprs:
        selectors = re.findall(r"\{([^}]*)\}", expr)
        assert selectors and all(LOG_STREAM in s for s in selectors), expr
        assert set(re.findall(r"(\w+)=~?\"", expr)) <= set(STREAM_LABEL_NAMES), expr


def test_embeds_are_the_panels_marked_embeddable(
    definitions: Definitions, files: dict[str, str], dashboards: dict[str, dict[str, Any]]
) -> None:
    embeds = json.loads(files["embeds.json"])
    marked = {(f.obj.uid, panel.id) for f in definitions.dashboards for panel in f.obj.embeddable_panels()}
    assert {(e["dashboard_uid"], e["panel_id"]) for e in embeds} == marked
    for embed in embeds:
        dashboard = dashboards[embed["dashboard_uid"]]
        panel = next(p for p in dashboard["panels"] if p["id"] == embed["panel_id"])
        assert panel["title"] == embed["title"]
        assert embed["slug"] == slugify(
            dashboard["title"]
        )  # Grafana's share-embed URL uses the dashboard slug
        assert (
            embed["path"] == f"/d-solo/{embed['dashboard_uid']}/{embed['slug']}?orgId=1&panelId={panel['id']}"
        )


def test_alert_rules_have_the_provisioning_api_shape(
    definitions: Definitions, rule_groups: list[dict[str, Any]], dashboards: dict[str, dict[str, Any]]
) -> None:
    defined_groups = {found.obj.title: found.obj for found in definitions.rule_groups}
    defined = {rule.uid: rule for group in defined_groups.values() for rule in group.rules}
    rules = [rule for group in rule_groups for rule in group["rules"]]
    assert rules and sorted(r["uid"] for r in rules) == sorted(defined)
    for group in rule_groups:
        folder = defined_groups[group["title"]].folder.uid
        assert group["folderUid"] == folder and group["interval"] % 10 == 0 and group["interval"] > 0
        for rule in group["rules"]:
            assert (rule["folderUID"], rule["ruleGroup"], rule["orgID"]) == (folder, group["title"], ORG_ID)
    for rule in rules:
        assert rule["labels"]["severity"] in SEVERITIES
        assert rule["noDataState"] and rule["execErrState"] and rule["for"]
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"] and notes["runbook_url"].startswith("https://")
        panel_ids = {p["id"] for p in dashboards[notes["__dashboardUid__"]]["panels"]}
        assert int(notes["__panelId__"]) in panel_ids
        query, reduce, threshold = rule["data"]
        assert [query["refId"], reduce["refId"], threshold["refId"]] == ["A", "B", "C"]
        assert rule["condition"] == "C"
        assert query["datasourceUid"] == defined[rule["uid"]].datasource_uid and query["model"]["instant"]
        if query["datasourceUid"] == LOKI_UID:
            assert query["model"]["queryType"] == "instant"
        if re.search(r"\bup\{", query["model"]["expr"]):  # no `up` series at all: the target is gone
            assert rule["noDataState"] == "Alerting", rule["uid"]
        assert query["relativeTimeRange"]["from"] > 0
        assert (reduce["model"]["type"], reduce["model"]["expression"]) == ("reduce", "A")
        assert (threshold["model"]["type"], threshold["model"]["expression"]) == ("threshold", "B")


def test_contact_points_and_the_policy_route_every_severity_sooner_when_graver(files: dict[str, str]) -> None:
    contact_points = json.loads(files["alerting/contact-points.json"])
    assert contact_points
    for point in contact_points:  # a token placeholder, never a secret, in the committed files
        assert point["settings"]["authorization_credentials"] == WEBHOOK_TOKEN_PLACEHOLDER, point["uid"]
    receivers = {point["name"] for point in contact_points}
    policy = json.loads(files["alerting/policies.json"])
    assert policy["receiver"] in receivers
    by_severity = {
        matcher[2]: route
        for route in policy["routes"]
        for matcher in route["object_matchers"]
        if matcher[:2] == ["severity", "="]
    }
    assert set(by_severity) == set(SEVERITIES)  # SEVERITIES runs from the gravest down
    routes = [by_severity[severity] for severity in SEVERITIES]
    assert all(route["receiver"] in receivers for route in routes)
    for key in ("group_wait", "repeat_interval"):
        waits = [parse_duration(route[key]) for route in routes]
        assert waits == sorted(waits), key


def test_file_provisioning_yaml_matches_the_api_files(
    definitions: Definitions, files: dict[str, str], rule_groups: list[Any]
) -> None:
    provisioning = yaml.safe_load(files["alerting/alerting.yaml"])
    assert provisioning["apiVersion"] == 1
    folders = {found.obj.folder.uid: found.obj.folder.title for found in definitions.rule_groups}
    assert [(g["name"], g["interval"], g["folder"], g["orgId"]) for g in provisioning["groups"]] == [
        (g["title"], f"{g['interval']}s", folders[g["folderUid"]], ORG_ID) for g in rule_groups
    ]
    for file_group, api_group in zip(provisioning["groups"], rule_groups, strict=True):
        for file_rule, api_rule in zip(file_group["rules"], api_group["rules"], strict=True):
            assert file_rule["uid"] == api_rule["uid"] and file_rule["data"] == api_rule["data"]
            assert file_rule["dashboardUid"] == api_rule["annotations"]["__dashboardUid__"]
            assert str(file_rule["panelId"]) == api_rule["annotations"]["__panelId__"]
    api_points = json.loads(files["alerting/contact-points.json"])
    assert [(p["name"], p["receivers"]) for p in provisioning["contactPoints"]] == [
        (p["name"], [{k: v for k, v in p.items() if k != "name"}]) for p in api_points
    ]
    assert provisioning["policies"][0]["receiver"] == json.loads(files["alerting/policies.json"])["receiver"]


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Production Overview", "production-overview"),
        ("CPU / Memory", "cpu-2f-memory"),
        ("Latency (p99)", "latency-p99"),
        ("  Fan-out & size  ", "fan-out-and-size"),
        ("Müller's Café", "muellers-cafe"),
        ("Tab\there", "tab9here"),  # Go's %x writes a byte without zero padding
        ("Привет, мир", "privet-mir"),
        ("Tiếng Việt", "tieng-viet"),
        ("İzmir ǽ ץ", "izmir-ae-C"),  # Go lower-cases rune by rune; Grafana maps ץ to a capital C
        ("Ελλάδα", "ceb5cebbcebbceacceb4ceb1"),  # no replacement: hex of the UTF-8 bytes
    ],
)
def test_slugify_follows_grafana(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slugify_falls_back_to_a_name_based_uuid() -> None:
    assert slugify("") == "0a68eb57-c88a-5f34-9e9d-27f85e68af4f"  # Go: uuid.NewSHA1(uuid.NameSpaceOID, "")
    assert len(slugify("x" * 51)) == 36


def test_grafana_name_and_matcher_limits_are_checked_when_declared() -> None:
    hook = ContactPoint(uid="hook", name="hook", url="http://x")
    timings = {"group_wait": "1s", "group_interval": "1m", "repeat_interval": "1h"}
    Route(receiver=hook, object_matchers=[("severity", "=~", "critical|warning")], **timings)
    for matcher in [("severity", "==", "critical"), ["severity", "=", "critical"], ("severity", "=")]:
        with pytest.raises(ValueError, match="must be \\(label, one of"):
            Route(receiver=hook, object_matchers=[matcher], **timings)
    with pytest.raises(ValueError, match="190"):
        RuleGroup(title="g" * 191, interval_s=60, rules=[])


def test_row_widths_must_fill_the_grid() -> None:
    panels = [TimeSeries(title=str(i)) for i in range(5)]
    with pytest.raises(ValueError, match="sum to 24"):
        Row(panels=panels[:2], widths=(12, 10))
    with pytest.raises(ValueError, match="pass widths"):
        Row(panels=panels)
