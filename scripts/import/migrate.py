"""Old dashboards, migrated the way Grafana migrates them when it loads them, so the import (and its round
trip) works on Grafana's migrated form.

- schemaVersion 9..35 (an old `rows` layout included): the schema steps up to the latest version
  (migrate_steps.py, migrate_grid.py: ports of grafana/grafana:
  public/app/features/dashboard/state/DashboardMigrator.ts and
  apps/dashboard/pkg/migration/schemaversion/), then DashboardModel's defaults filled in, the panels
  sorted by position and the nulls dropped, as DashboardModel's constructor and save model do
  (getSaveModelClone: sortedDeepCloneWithoutNulls; the backend's apps/dashboard/pkg/migration/
  frontend_defaults.go), a threshold's null base value excepted (it is -Infinity, which JSON writes as
  null). Queries without a refId get one (PanelModel.ensureQueryIds). The result is the form Grafana's
  own migration tests expect (apps/dashboard/pkg/migration/testdata/output/latest_version/).
  The steps that need the Grafana instance are done as a Grafana without a default datasource does them
  (null datasources stay null, listed on stderr), or refused in one line naming the step (a datasource
  given by name, CloudWatch queries, Angular tables).
- Older than 9 (or without a schemaVersion): refused, as Grafana's backend refuses them
  (apps/dashboard/pkg/migration/schemaversion/migrations.go: MIN_VERSION).
- 36 and later: taken as they are; the steps 37..42 are the ones a UI save applies, and the API path
  publish uses stores dashboards as they are, so the import does too.
In every dashboard, top-level Angular graph and singlestat panels become timeseries and stat panels
(migrate_angular.py), as Grafana 11+ does when it loads them; panels inside a collapsed row stay as they are
until the row is opened in Grafana (frontend_defaults.go auto-migrates top-level panels only), so they
are carried visibly as PluginPanel (build.py).
"""

from __future__ import annotations

import copy
import string
from typing import Any

from dashboards.core.dashboard import BUILT_IN_ANNOTATIONS, SCHEMA_VERSION

from .build import ImportRefused, Notes
from .migrate_angular import migrate_angular_panel
from .migrate_grid import sort_by_position
from .migrate_steps import SAVE_AGAIN, STEPS, Migration

MIN_SCHEMA_VERSION = 36  # from here on a dashboard is taken as it is
OLDEST_MIGRATED = 9  # Grafana's backend refuses older ones


def schema_version(dashboard: dict[str, Any]) -> int | None:
    """GetSchemaVersion: an integer (or a string of one); None when there is none."""
    version = dashboard.get("schemaVersion")
    if isinstance(version, bool):
        return None
    if isinstance(version, int | float):
        return int(version)
    if isinstance(version, str) and version.strip().isdigit():
        return int(version)
    return None


def _all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, each followed by the panels of its (collapsed) row, as DashboardMigrator visits them."""
    found = []
    for panel in dashboard.get("panels") or []:
        if isinstance(panel, dict):
            found.append(panel)
            found += [p for p in panel.get("panels") or [] if isinstance(p, dict)]
    return found


def ensure_query_ids(panel: dict[str, Any]) -> None:
    """PanelModel.ensureQueryIds: queries without a refId get the first free letter."""
    targets = [t for t in panel.get("targets") or [] if isinstance(t, dict)]
    used = {t.get("refId") for t in targets}
    free = (letter for letter in string.ascii_uppercase if letter not in used)
    for target in targets:
        if not target.get("refId"):
            target["refId"] = next(free, None)


def without_nulls(node: Any, in_steps: bool = False) -> Any:
    """The save model's clone without nulls; a threshold step's null value (-Infinity) stays."""
    if isinstance(node, list):
        return [without_nulls(item, in_steps) for item in node]
    if isinstance(node, dict):
        return {
            key: without_nulls(value, key == "steps")
            for key, value in node.items()
            if value is not None or (in_steps and key == "value")
        }
    return node


def migrate_angular_panels(dashboard: dict[str, Any], notes: Notes) -> None:
    """Top-level graph and singlestat panels as their successors; time regions become annotations."""
    panels = dashboard.get("panels")
    if not isinstance(panels, list):
        return
    added: list[dict[str, Any]] = []
    migrated = []
    for panel in panels:
        successor = migrate_angular_panel(panel, added, notes) if isinstance(panel, dict) else panel
        # The new plugin's model goes through the save model's clone too: its nulls are dropped.
        migrated.append(without_nulls(successor) if successor is not panel else panel)
    dashboard["panels"] = migrated
    if added:
        annotations = dashboard.setdefault("annotations", {})
        if isinstance(annotations, dict):
            annotations["list"] = [*(annotations.get("list") or []), *added]


# What DashboardModel's constructor sets when a dashboard lacks it (the backend's applyFrontendDefaults).
FRONTEND_DEFAULTS: dict[str, Any] = {
    "tags": [],
    "timezone": "",
    "editable": True,
    "graphTooltip": 0,
    "time": {"from": "now-6h", "to": "now"},
    "timepicker": {},
    "links": [],
}


def apply_frontend_defaults(dashboard: dict[str, Any]) -> None:
    """DashboardModel's constructor after the migration (grafana/grafana:
    apps/dashboard/pkg/migration/frontend_defaults.go): its defaults, the templating and annotation lists,
    and the built-in "Annotations & Alerts" first unless the dashboard has a built-in annotation."""
    for key, value in FRONTEND_DEFAULTS.items():
        if dashboard.get(key) is None:
            dashboard[key] = copy.deepcopy(value)
    for part in ("templating", "annotations"):
        if not isinstance(dashboard.get(part), dict):
            dashboard[part] = {}
        if dashboard[part].get("list") is None:
            dashboard[part]["list"] = []
    listed = dashboard["annotations"]["list"]
    if not any(isinstance(a, dict) and a.get("builtIn") == 1 for a in listed):
        dashboard["annotations"]["list"] = [copy.deepcopy(BUILT_IN_ANNOTATIONS), *listed]


def upgrade_schema(dashboard: dict[str, Any], version: int, notes: Notes) -> None:
    """The schema steps after `version`, in Grafana's order: dashboard parts, then panel parts."""
    migration = Migration(dashboard, notes)
    steps = [(dashboard_part, panel_part) for to, dashboard_part, panel_part in STEPS if to > version]
    for dashboard_part, _ in steps:
        if dashboard_part is not None:
            dashboard_part(migration)
    for panel in _all_panels(dashboard):  # PanelModel's constructor, once the rows are panels too
        ensure_query_ids(panel)
    for _, panel_part in steps:
        if panel_part is not None:
            for panel in _all_panels(dashboard):
                panel_part(panel, migration)
    dashboard["schemaVersion"] = SCHEMA_VERSION
    apply_frontend_defaults(dashboard)
    sort_by_position(dashboard)
    notes.add(
        "dashboard",
        f"migrated from schemaVersion {version} to {SCHEMA_VERSION} as Grafana migrates it when it loads it "
        "(read from Grafana, the next publish stores that form)",
    )
    if migration.defaults_left:
        notes.add(
            "dashboard",
            f"schema step 36: the default datasource of {len(migration.defaults_left)} panels/annotations "
            "stays implicit (null): Grafana writes its own default datasource there; to pin it, "
            + SAVE_AGAIN,
        )


def migrate(dashboard: dict[str, Any], notes: Notes) -> dict[str, Any]:
    """The dashboard as Grafana migrates it (a new object), or ImportRefused naming what cannot be."""
    version = schema_version(dashboard)
    if version is None or version < OLDEST_MIGRATED:
        layout = "the old `rows` layout, " if dashboard.get("rows") else ""
        raise ImportRefused(
            f"{layout}schemaVersion {version if version is not None else '(none)'} is older than "
            f"{OLDEST_MIGRATED}, the oldest Grafana's migration takes: {SAVE_AGAIN}"
        )
    body = copy.deepcopy(dashboard)
    if version >= MIN_SCHEMA_VERSION:
        if body.get("rows"):
            raise ImportRefused(
                f"holds an old `rows` layout besides schemaVersion {version}, which Grafana ignores: "
                "save it in Grafana, then use --uid"
            )
        migrate_angular_panels(body, notes)
        return body
    upgrade_schema(body, version, notes)
    migrate_angular_panels(body, notes)
    return without_nulls(body)
