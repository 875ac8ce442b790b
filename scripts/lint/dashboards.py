"""Structure and best-practice checks of rendered dashboards (no query parsing here).

Structure: what Grafana needs to load and lay out a dashboard: a uid matching the file name; the dashboards
layer's own checks (dashboards/core/validate.py: unique panel ids, gridPos inside the 24-column grid, no
overlap), reused here on the rendered file; integer panel ids; datasource references `{type, uid}` that
resolve to a provisioned datasource or a datasource template variable; targets with unique non-empty refIds
and a query.

Best practice (grafana/dashboard-linter: lint/rule_*.go, and its docs/rules): a `datasource`
variable labelled "Data source" (and `loki_datasource` for Loki panels), `job`/`instance` variables on
dashboards with Prometheus panels, panels on the templated datasource, a title and description on every
panel, a valid unit on value panels, and no deprecated (Angular) panel types.

Across dashboards: at least one panel is marked embeddable=True, or the viewers' page shows nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dashboards.core import conventions
from dashboards.core.conventions import UID_PATTERN
from dashboards.core.validate import DefinitionError, check_dashboard
from scripts.lint.registry import did_you_mean
from scripts.rendered.layout import EMBEDS_FILE
from scripts.rendered.model import (
    PROVISIONED_DATASOURCES,
    Dashboard,
    Finding,
    Json,
    iter_panels,
    panel_queries,
    resolve_datasource_type,
    variable_name,
)
from scripts.rendered.units import closest_unit, is_grafana_unit

_UID = re.compile(UID_PATTERN)  # the dashboards layer's uid rule, applied to the rendered file
# Grafana's built-in panel types (public/app/plugins/panel); anything else needs a plugin install.
CORE_PANEL_TYPES = frozenset({
    "row", "timeseries", "stat", "gauge", "bargauge", "table", "text", "logs", "barchart", "piechart",
    "heatmap", "histogram", "state-timeline", "status-history", "news", "dashlist", "alertlist",
    "annolist", "nodeGraph", "traces", "flamegraph", "canvas", "geomap", "xychart", "trend",
    "candlestick", "datagrid",
})  # fmt: skip
# Angular panels: off by default in Grafana 11, removed in 12 (docs: angular_deprecation).
DEPRECATED_PANEL_TYPES = {
    "graph": "timeseries",
    "singlestat": "stat",
    "table-old": "table",
    "grafana-piechart-panel": "piechart",
    "grafana-worldmap-panel": "geomap",
    "grafana-singlestat-panel": "stat",
    "natel-discrete-panel": "state-timeline",
}
# Panels that show query results and therefore need targets (text, news, lists query nothing).
NON_QUERY_PANEL_TYPES = frozenset({"row", "text", "news", "dashlist", "alertlist", "annolist"})
UNIT_PANEL_TYPES = frozenset({"stat", "timeseries", "table", "gauge", "bargauge", "barchart"})
# Authors pass units as the dashboards layer's constants, so the fix names them, not the JSON path.
UNIT_CONSTANTS = tuple(name for name in vars(conventions) if name.startswith("UNIT_"))
MISSING_UNIT = f"pass unit=UNIT_... (dashboards.core: {', '.join(UNIT_CONSTANTS)}) or a Grafana unit id"


def check_dashboard_fields(dashboard: Dashboard) -> Iterator[Finding]:
    where = dashboard.uid or str(dashboard.path)
    if not _UID.fullmatch(dashboard.uid):
        yield Finding(where, "dashboard-uid", "uid must be 1-40 characters of A-Z a-z 0-9 - _")
    elif dashboard.path.stem != dashboard.uid:
        yield Finding(
            where, "dashboard-uid", f"file {dashboard.path.name} must be named {dashboard.uid}.json"
        )
    if not str(dashboard.data.get("title") or "").strip():
        yield Finding(where, "dashboard-title", "the dashboard has no title")
    if not isinstance(dashboard.data.get("panels"), list):
        yield Finding(where, "dashboard-panels", "`panels` must be a list")
    if dashboard.data.get("id") is not None:
        yield Finding(
            where, "dashboard-id", "a provisioned dashboard must have `id` null (Grafana assigns it)"
        )


def check_structure(dashboard: Dashboard) -> Iterator[Finding]:
    """The dashboards layer's checks: unique panel ids, a datasource, gridPos in the grid, no overlap."""
    try:
        check_dashboard(dashboard.path.name, dashboard.uid, dashboard.data)
    except DefinitionError as exc:
        yield Finding(dashboard.uid, "dashboard-structure", exc.message, dashboard_uid=dashboard.uid)
    except (KeyError, TypeError, AttributeError) as exc:  # a hand-edited file can miss anything
        yield Finding(
            dashboard.uid, "dashboard-structure", f"malformed panel data ({type(exc).__name__}: {exc})",
            dashboard_uid=dashboard.uid,
        )  # fmt: skip


def check_panel_ids(dashboard: Dashboard) -> Iterator[Finding]:
    """Alert links and embeds address panels by id: ids must be positive integers (nested rows included)."""
    for ref in iter_panels(dashboard):
        panel_id = ref.panel.get("id")
        if not isinstance(panel_id, int) or isinstance(panel_id, bool) or panel_id < 1:
            yield ref.finding("panel-id", f"panel id must be a positive integer, got {panel_id!r}")


def _datasource_problem(ref: object, variables: dict[str, Json]) -> str | None:
    if (
        not isinstance(ref, dict)
        or not isinstance(ref.get("uid"), str)
        or not isinstance(ref.get("type"), str)
    ):
        return f"datasource must be an object {{type, uid}}, got {ref!r}"
    if resolve_datasource_type(ref, variables) is None:
        known = sorted(PROVISIONED_DATASOURCES) + [
            f"${{{n}}}" for n, v in variables.items() if v.get("type") == "datasource"
        ]
        return f"datasource {ref['type']}/{ref['uid']} resolves to nothing (known: {', '.join(known)})"
    return None


def check_datasources(dashboard: Dashboard) -> Iterator[Finding]:
    variables = dashboard.variables
    for ref in iter_panels(dashboard):
        if ref.panel.get("type") in NON_QUERY_PANEL_TYPES:
            continue
        sources = [ref.panel.get("datasource")]
        sources += [t.get("datasource") for t in ref.panel.get("targets") or [] if isinstance(t, dict)]
        for source in sources:
            if source is None:
                continue
            problem = _datasource_problem(source, variables)
            if problem:
                yield ref.finding("datasource-ref", problem)
            elif variable_name(source["uid"]) is None:
                yield ref.finding(
                    "panel-datasource",
                    f"use the datasource template variable, not the fixed uid {source['uid']}",
                )
        if ref.panel.get("datasource") is None:
            yield ref.finding("datasource-ref", "the panel has no datasource")


def check_targets(dashboard: Dashboard) -> Iterator[Finding]:
    for ref in iter_panels(dashboard):
        if ref.panel.get("type") in NON_QUERY_PANEL_TYPES:
            continue
        targets = ref.panel.get("targets")
        if not isinstance(targets, list) or not targets:
            yield ref.finding("panel-targets", "the panel has no targets (queries)")
            continue
        ref_ids = [t.get("refId") if isinstance(t, dict) else None for t in targets]
        if any(not isinstance(r, str) or not r for r in ref_ids):
            yield ref.finding("target-refid", "every target needs a non-empty refId")
        duplicates = sorted({r for r in ref_ids if isinstance(r, str) and r and ref_ids.count(r) > 1})
        if duplicates:
            yield ref.finding("target-refid", f"duplicate refId {', '.join(duplicates)}")
        for target in targets:
            if isinstance(target, dict) and not str(target.get("expr") or "").strip():
                yield ref.finding("panel-targets", f"target {target.get('refId')} has an empty query")
        if targets and not panel_queries(ref):
            yield ref.finding("panel-targets", "no target is a PromQL or LogQL query on a known datasource")


def check_panel_types(dashboard: Dashboard) -> Iterator[Finding]:
    for ref in iter_panels(dashboard):
        kind = ref.panel.get("type")
        if kind in DEPRECATED_PANEL_TYPES:
            yield ref.finding(
                "panel-deprecated-type",
                f"panel type '{kind}' is Angular (gone in Grafana 12): use '{DEPRECATED_PANEL_TYPES[kind]}'",
            )
        elif kind not in CORE_PANEL_TYPES:
            yield ref.finding("panel-type", f"unknown panel type {kind!r} (not a core Grafana panel)")


def check_titles_descriptions(dashboard: Dashboard) -> Iterator[Finding]:
    for ref in iter_panels(dashboard):
        if not ref.title.strip():
            yield ref.finding("panel-title-description", "the panel has no title")
        if ref.panel.get("type") != "row" and not str(ref.panel.get("description") or "").strip():
            yield ref.finding("panel-title-description", "the panel has no description")


def _unit(panel: Json) -> str:
    defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
    return str(defaults.get("unit") or "")


def check_units(dashboard: Dashboard) -> Iterator[Finding]:
    for ref in iter_panels(dashboard):
        if ref.panel.get("type") not in UNIT_PANEL_TYPES:
            continue
        unit = _unit(ref.panel)
        if not unit:
            yield ref.finding("panel-units", MISSING_UNIT)
        elif not is_grafana_unit(unit):
            hint = did_you_mean(closest_unit(unit))
            yield ref.finding("panel-units", f"unit {unit!r} is not a Grafana unit id{hint}")


def _datasource_variable_problem(
    variables: dict[str, Json], name: str, kind: str, label: str | None
) -> str | None:
    variable = variables.get(name)
    if variable is None:
        return f"add a template variable `{name}` of type datasource ({kind})"
    if variable.get("type") != "datasource" or variable.get("query") != kind:
        return f"template variable `{name}` must be type datasource with query {kind!r}"
    if label is not None and variable.get("label") != label:
        return f"template variable `{name}` must be labelled {label!r}"
    return None


def check_template_variables(dashboard: Dashboard) -> Iterator[Finding]:
    """Datasource variables for every language used; job and instance variables when PromQL is used."""
    variables = dashboard.variables
    languages = {q.lang for ref in iter_panels(dashboard) for q in panel_queries(ref)}
    where = dashboard.uid
    requirements = [("datasource", "prometheus", "Data source")] if "promql" in languages else []
    requirements += [("loki_datasource", "loki", None)] if "logql" in languages else []
    for name, kind, label in requirements:
        problem = _datasource_variable_problem(variables, name, kind, label)
        if problem:
            yield Finding(where, "template-datasource", problem, dashboard_uid=dashboard.uid)
    if "promql" in languages:
        for name in ("job", "instance"):
            if variables.get(name, {}).get("type") != "query":
                yield Finding(
                    where, "template-job-instance", f"add a query template variable `{name}`",
                    dashboard_uid=dashboard.uid,
                )  # fmt: skip


# A dashboard failing these is not one Grafana can show as drawn: never published, not even to a preview.
STRUCTURE_CHECKS = (check_dashboard_fields, check_structure, check_panel_ids)
DASHBOARD_CHECKS = (
    *STRUCTURE_CHECKS,
    check_datasources,
    check_targets,
    check_panel_types,
    check_titles_descriptions,
    check_units,
    check_template_variables,
)


def lint_dashboard(dashboard: Dashboard) -> list[Finding]:
    return [finding for check in DASHBOARD_CHECKS for finding in check(dashboard)]


def structure_findings(dashboard: Dashboard) -> list[Finding]:
    return [finding for check in STRUCTURE_CHECKS for finding in check(dashboard)]


def check_embeddable(embeds: list[Json]) -> Iterator[Finding]:
    """Viewers see only the panels in embeds.json (the app's /dashboards page): with none, it is empty.

    A dashboard of its own may well embed nothing (detail dashboards are for engineers), so the rule is
    about the whole tree. Waive it as Waiver("embeds.json", "", "embeddable-panels", reason).
    """
    if not embeds:
        yield Finding(
            EMBEDS_FILE, "embeddable-panels",
            "no panel is embeddable: pass embeddable=True to the panels viewers should see"
            " (README: Embedding for viewers)",
            dashboard_uid=EMBEDS_FILE,
        )  # fmt: skip
