"""The rendered tree in the units lint and verify work on: dashboards, panels, queries, alert rules, findings.

Flattens what scripts/rendered/tree.py reads into a panel, a query (PromQL or LogQL, with the datasource it
resolves to), an alert rule. A check returns Findings; a Finding names the dashboard/panel (or alert rule),
the rule that failed and a message that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboards.core.conventions import QUERY_DATASOURCES

# The datasources Grafana is provisioned with (fixed uids), by uid → type; the dashboards layer owns the
# mapping, tests/lint/test_lint_cli.py checks it against the stack's datasource provisioning file.
PROVISIONED_DATASOURCES = QUERY_DATASOURCES
QUERY_LANGUAGE = {"prometheus": "promql", "loki": "logql"}
_VARIABLE_REF = re.compile(r"^\$\{?(\w+)\}?$")
# Grafana's Prometheus variable query `label_values(<series selector>, <label>)` (selector optional).
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$")

Json = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    """One failed check. `where` is "<dashboard uid> / #<panel id> <title>" or "alert <uid> <title>"."""

    where: str
    rule: str
    message: str
    status: str = "fail"  # "fail", or "waived" once a waiver with a reason covers it
    reason: str = ""
    dashboard_uid: str = ""
    panel: str = ""  # panel title, or the alert rule's title
    query: str = ""  # the query as written, for findings about one query
    panel_id: int | None = None  # with dashboard_uid, the key of the panel's source
    rule_uid: str = ""  # for findings about one alert rule, the key of its source
    source: str = ""  # where the author's Python built the object: "dashboards/x.py:40" (sources.json)


@dataclass(frozen=True)
class Dashboard:
    uid: str
    path: Path
    data: Json

    @property
    def variables(self) -> dict[str, Json]:
        templating = self.data.get("templating")
        items = templating.get("list", []) if isinstance(templating, dict) else []
        return {v["name"]: v for v in items if isinstance(v, dict) and isinstance(v.get("name"), str)}


@dataclass(frozen=True)
class PanelRef:
    dashboard: Dashboard
    panel: Json

    @property
    def title(self) -> str:
        title = self.panel.get("title")
        return title if isinstance(title, str) else ""

    @property
    def id(self) -> int | None:
        panel_id = self.panel.get("id")
        return panel_id if isinstance(panel_id, int) else None

    @property
    def where(self) -> str:
        return f"{self.dashboard.uid} / #{self.panel.get('id')} {self.title}".rstrip()

    def finding(self, rule: str, message: str) -> Finding:
        return Finding(
            self.where, rule, message, dashboard_uid=self.dashboard.uid, panel=self.title, panel_id=self.id
        )


@dataclass(frozen=True)
class PanelQuery:
    """One query of a panel target or of an alert rule, with the language of the datasource it resolves to."""

    where: str
    ref_id: str
    lang: str  # "promql" | "logql"
    expr: str
    dashboard_uid: str = ""
    panel: str = ""
    variables: dict[str, Json] = field(default_factory=dict)  # template variables of the dashboard
    in_dashboard: bool = True  # False for alert rule queries
    syntax_only: bool = False  # a template variable's series selector: only its syntax is checked
    panel_id: int | None = None
    rule_uid: str = ""

    def finding(self, rule: str, message: str) -> Finding:
        where = f"{self.where} [{self.ref_id}]"
        return Finding(
            where, rule, message, dashboard_uid=self.dashboard_uid, panel=self.panel, query=self.expr,
            panel_id=self.panel_id, rule_uid=self.rule_uid,
        )  # fmt: skip


def variable_query(variable: Json) -> str:
    """A template variable's query text (Grafana stores it as a string or as {"query": ...})."""
    query = variable.get("query")
    query = query.get("query") if isinstance(query, dict) else query
    return query if isinstance(query, str) else ""


def label_values_query(variable: Json) -> tuple[str | None, str] | None:
    """(series selector or None, label) of a `label_values(...)` query variable, else None."""
    match = _LABEL_VALUES.match(variable_query(variable)) if variable.get("type") == "query" else None
    return (match.group(1), match.group(2)) if match else None


def iter_panels(dashboard: Dashboard) -> Iterator[PanelRef]:
    """Every panel, including the ones nested in (collapsed) rows."""
    panels = dashboard.data.get("panels")
    for panel in panels if isinstance(panels, list) else []:
        if not isinstance(panel, dict):
            continue
        yield PanelRef(dashboard, panel)
        nested = panel.get("panels")
        if panel.get("type") == "row" and isinstance(nested, list):
            yield from (PanelRef(dashboard, p) for p in nested if isinstance(p, dict))


def variable_name(uid: str) -> str | None:
    """`${datasource}` / `$datasource` → `datasource`; None for a literal uid."""
    match = _VARIABLE_REF.match(uid)
    return match.group(1) if match else None


def resolve_datasource_type(ref: object, variables: dict[str, Json]) -> str | None:
    """The datasource type a `{type, uid}` reference resolves to, or None when it does not resolve."""
    if not isinstance(ref, dict) or not isinstance(ref.get("uid"), str):
        return None
    uid = ref["uid"]
    name = variable_name(uid)
    if name is not None:
        variable = variables.get(name)
        if variable is None or variable.get("type") != "datasource":
            return None
        resolved = variable.get("query")
    else:
        resolved = PROVISIONED_DATASOURCES.get(uid)
    declared = ref.get("type")
    return resolved if resolved and declared in (None, resolved) else None


def panel_queries(ref: PanelRef) -> list[PanelQuery]:
    """The PromQL/LogQL queries of a panel (targets inherit the panel's datasource)."""
    targets = ref.panel.get("targets")
    variables = ref.dashboard.variables
    queries = []
    for target in targets if isinstance(targets, list) else []:
        if not isinstance(target, dict) or not isinstance(target.get("expr"), str):
            continue
        datasource = target.get("datasource") or ref.panel.get("datasource")
        lang = QUERY_LANGUAGE.get(resolve_datasource_type(datasource, variables) or "")
        if lang:
            queries.append(
                PanelQuery(
                    ref.where, str(target.get("refId", "")), lang, target["expr"],
                    ref.dashboard.uid, ref.title, variables, panel_id=ref.id,
                )
            )  # fmt: skip
    return queries


def variable_selector_queries(dashboard: Dashboard) -> list[PanelQuery]:
    """The series selectors of the Prometheus `label_values(<selector>, <label>)` variables, to parse."""
    queries = []
    for name, variable in dashboard.variables.items():
        parsed = label_values_query(variable)
        prometheus = resolve_datasource_type(variable.get("datasource"), dashboard.variables) == "prometheus"
        if parsed and parsed[0] and prometheus:
            where, title = f"{dashboard.uid} / variable {name}", f"variable {name}"
            queries.append(
                PanelQuery(
                    where, "query", "promql", parsed[0], dashboard.uid, title, dashboard.variables,
                    syntax_only=True,
                )
            )  # fmt: skip
    return queries


def alert_where(rule: Json) -> str:
    return f"alert {rule.get('uid', '?')} {rule.get('title', '')}".rstrip()


def alert_queries(rule: Json) -> list[PanelQuery]:
    """The datasource queries (not the server-side expressions) of an alert rule."""
    queries = []
    for item in rule.get("data") or []:
        if not isinstance(item, dict):
            continue
        lang = QUERY_LANGUAGE.get(PROVISIONED_DATASOURCES.get(str(item.get("datasourceUid")), ""))
        model = item.get("model")
        if lang and isinstance(model, dict) and isinstance(model.get("expr"), str):
            queries.append(
                PanelQuery(
                    alert_where(rule), str(item.get("refId", "")), lang, model["expr"],
                    panel=str(rule.get("title", "")), in_dashboard=False, rule_uid=str(rule.get("uid", "")),
                )
            )  # fmt: skip
    return queries


def iter_rules(groups: list[Json]) -> Iterator[Json]:
    for group in groups:
        rules = group.get("rules") if isinstance(group, dict) else None
        yield from (r for r in rules or [] if isinstance(r, dict))
