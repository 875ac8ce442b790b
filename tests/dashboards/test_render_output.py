"""Structure of the rendered provisioning files (rendered in-process from dashboards/)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import yaml

from app.metrics import ChatMetrics
from dashboards.core.alerting import ContactPoint, Route, RuleGroup
from dashboards.core.layout import Row
from dashboards.core.panels import TimeSeries
from scripts.common.paths import REPO_ROOT
from scripts.render.discover import discover
from scripts.render.files import render_files
from scripts.rendered.slug import slugify

REPO = REPO_ROOT
DASHBOARD_UIDS = {"chat-overview", "chat-logs", "chat-service-health"}
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
REQUIRED_ALERTS = {
    "chat-app-down",
    "chat-rejected-frames-high",
    "chat-broadcast-p99-slow",
    "chat-log-shipper-dropping",
    "chat-error-log-spike",
}


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_files(discover(REPO / "dashboards"))


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


def test_the_three_dashboards_render_with_current_schema(dashboards: dict[str, dict[str, Any]]) -> None:
    assert set(dashboards) == DASHBOARD_UIDS
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
    for change in (
        lambda d: d["panels"][1].update(links=[]),
        lambda d: d.pop("weekStart"),
        lambda d: d.update(schemaVersion=41),
    ):
        dashboard = copy.deepcopy(dashboards["chat-overview"])
        change(dashboard)
        assert grafana_save_model(dashboard) != dashboard


def test_every_dashboard_links_to_the_others(dashboards: dict[str, dict[str, Any]]) -> None:
    for dashboard in dashboards.values():
        links = [link for link in dashboard["links"] if link["type"] == "dashboards"]
        assert links, dashboard["uid"]
        for other in dashboards.values():
            assert any(set(link["tags"]) <= set(other["tags"]) for link in links)


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
    logs_variables = {v["name"]: v for v in dashboards["chat-logs"]["templating"]["list"]}
    assert logs_variables["loki_datasource"]["current"]["value"] == "loki"
    assert logs_variables["level"]["query"].split(",") == ["debug", "info", "warning", "error", "critical"]


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
    assert len(exprs) > 20
    for expr in exprs:
        selectors = re.findall(r"\{([^}]*)\}", expr)
        assert selectors, expr
        for matchers in selectors:
            assert 'job=~"$job"' in matchers and 'instance=~"$instance"' in matchers, expr
        if re.search(r"\b(rate|increase)\(", expr):
            assert set(re.findall(r"\[([^\]]+)\]", expr)) == {"$__rate_interval"}, expr
    assert any("histogram_quantile(0.99, sum by (le) (rate(" in e for e in exprs)
    assert any("chat_message_handling_seconds_sum" in e and "_count" in e for e in exprs)


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
    assert used - known == set()
    assert {"registered_clients", "python_info", "process_open_fds", "python_gc_collections_total"} <= used


def test_logql_uses_the_stream_labels(dashboards: dict[str, dict[str, Any]]) -> None:
    loki_exprs = [
        t["expr"] for p in data_panels(dashboards["chat-logs"]) for t in p["targets"] if "queryType" in t
    ]
    assert any(e.startswith('{app="chat", env=~"$env", level=~"$level"}') for e in loki_exprs)
    assert any(e.startswith("sum by (level) (count_over_time(") for e in loki_exprs)
    for expr in loki_exprs:
        assert set(re.findall(r"(\w+)=~?\"", expr)) <= {"app", "env", "level"}, expr


def test_embeds_point_at_embeddable_panels(
    files: dict[str, str], dashboards: dict[str, dict[str, Any]]
) -> None:
    embeds = json.loads(files["embeds.json"])
    assert {e["dashboard_uid"] for e in embeds} == DASHBOARD_UIDS
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
    rule_groups: list[dict[str, Any]], dashboards: dict[str, dict[str, Any]]
) -> None:
    rules = [rule for group in rule_groups for rule in group["rules"]]
    assert {r["uid"] for r in rules} >= REQUIRED_ALERTS
    for group in rule_groups:
        assert group["folderUid"] == "chat" and group["interval"] % 10 == 0 and group["interval"] > 0
        for rule in group["rules"]:
            assert (rule["folderUID"], rule["ruleGroup"], rule["orgID"]) == ("chat", group["title"], 1)
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["noDataState"] and rule["execErrState"] and rule["for"]
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"] and notes["runbook_url"].startswith("https://")
        panel_ids = {p["id"] for p in dashboards[notes["__dashboardUid__"]]["panels"]}
        assert int(notes["__panelId__"]) in panel_ids
        query, reduce, threshold = rule["data"]
        assert [query["refId"], reduce["refId"], threshold["refId"]] == ["A", "B", "C"]
        assert rule["condition"] == "C"
        assert query["datasourceUid"] in {"prometheus", "loki"} and query["model"]["instant"] is True
        assert query["relativeTimeRange"]["from"] > 0
        assert (reduce["model"]["type"], reduce["model"]["expression"]) == ("reduce", "A")
        assert (threshold["model"]["type"], threshold["model"]["expression"]) == ("threshold", "B")
    by_uid = {r["uid"]: r for r in rules}
    assert by_uid["chat-error-log-spike"]["data"][0]["datasourceUid"] == "loki"
    assert by_uid["chat-app-down"]["noDataState"] == "Alerting"  # an absent target is a down app
    assert {r["labels"]["severity"] for r in rules} == {"critical", "warning"}


def github_anchor(heading: str) -> str:
    """GitHub's id for a Markdown heading: lower-case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_runbook_urls_point_at_readme_headings(rule_groups: list[dict[str, Any]]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    anchors = {github_anchor(line.lstrip("#")) for line in readme.splitlines() if line.startswith("#")}
    for rule in (rule for group in rule_groups for rule in group["rules"]):
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page.endswith("/README.md") and anchor in anchors, rule["uid"]


def test_contact_point_and_policy(files: dict[str, str]) -> None:
    (contact_point,) = json.loads(files["alerting/contact-points.json"])
    assert contact_point["type"] == "webhook" and contact_point["uid"] == "chat-webhook"
    settings = contact_point["settings"]
    assert settings["url"] == "http://app:8000/api/alerts/grafana"
    assert settings["authorization_scheme"] == "Bearer"
    assert settings["authorization_credentials"] == "$ALERT_WEBHOOK_TOKEN"
    policy = json.loads(files["alerting/policies.json"])
    assert policy["receiver"] == contact_point["name"]
    routes = {tuple(r["object_matchers"][0]): r for r in policy["routes"]}
    critical, warning = routes[("severity", "=", "critical")], routes[("severity", "=", "warning")]
    assert critical["receiver"] == warning["receiver"] == contact_point["name"]
    assert critical["group_wait"] == "10s" and warning["group_wait"] == "1m"


def test_file_provisioning_yaml_matches_the_api_files(files: dict[str, str], rule_groups: list[Any]) -> None:
    provisioning = yaml.safe_load(files["alerting/alerting.yaml"])
    assert provisioning["apiVersion"] == 1
    assert [(g["name"], g["interval"], g["folder"], g["orgId"]) for g in provisioning["groups"]] == [
        (g["title"], f"{g['interval']}s", "Chat", 1) for g in rule_groups
    ]
    for file_group, api_group in zip(provisioning["groups"], rule_groups, strict=True):
        for file_rule, api_rule in zip(file_group["rules"], api_group["rules"], strict=True):
            assert file_rule["uid"] == api_rule["uid"] and file_rule["data"] == api_rule["data"]
            assert file_rule["dashboardUid"] == api_rule["annotations"]["__dashboardUid__"]
            assert str(file_rule["panelId"]) == api_rule["annotations"]["__panelId__"]
    (contact_point,) = provisioning["contactPoints"]
    assert contact_point["receivers"][0]["settings"]["authorization_credentials"] == "$ALERT_WEBHOOK_TOKEN"
    assert provisioning["policies"][0]["receiver"] == contact_point["name"]


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
