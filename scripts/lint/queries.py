"""Check every query of every dashboard and alert rule in two external calls: one node, one promtool.

Each query gets Grafana's variables substituted the way Grafana would (scripts/rendered/variables.py), then
all queries go through the lezer grammars together and all PromQL through promtool together; the per-query
checks live in scripts/lint/promql.py and scripts/lint/logql.py.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from scripts.lint.logql import check_logql
from scripts.lint.promql import check_promql, promtool_syntax_errors
from scripts.lint.registry import Registry, did_you_mean
from scripts.rendered.model import (
    Dashboard,
    Finding,
    Json,
    PanelQuery,
    label_values_query,
    resolve_datasource_type,
    variable_query,
)
from scripts.rendered.parser import Query, parse_queries
from scripts.rendered.variables import (
    Substituted,
    UnknownVariableError,
    substitute,
    template_values,
    time_variables,
)

# What Grafana would substitute for a dashboard opened on its default hour with our 5 s scrape interval.
LINT_RANGE_S = 3600
SCRAPE_INTERVAL_S = 5
_METRIC_NAME = re.compile(r"^[A-Za-z_:][\w:]*")  # the metric of a series selector `metric{...}`
# Grafana's Prometheus variable queries (label_values is further checked below; the others pass through).
_PROMETHEUS_VARIABLE_QUERY = re.compile(
    r"^\s*(label_values|label_names|metrics|query_result)\(.*\)\s*$", re.S
)


def lint_values(query: PanelQuery) -> dict[str, str]:
    """Variables available to a query: Grafana's time variables plus, on dashboards, the template ones."""
    values = time_variables(LINT_RANGE_S, SCRAPE_INTERVAL_S)
    values.update(template_values(query.variables))  # no datasource here: saved selections stand
    return values


def lint_queries(queries: list[PanelQuery], registry: Registry) -> list[Finding]:
    findings: list[Finding] = []
    checkable: list[tuple[PanelQuery, Substituted]] = []
    for query in queries:
        if not query.expr.strip():
            continue  # an empty query is a structure finding (panel-targets), not a syntax one
        try:
            checkable.append((query, substitute(query.expr, lint_values(query))))
        except UnknownVariableError as exc:
            findings.append(query.finding("template-variable", f"{exc}: define it or use a Grafana global"))
    promql_indices = [i for i, (q, _) in enumerate(checkable) if q.lang == "promql"]
    # node and promtool are independent processes: run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        parsing = pool.submit(parse_queries, [Query(q.lang, sub.text) for q, sub in checkable])
        checking = pool.submit(promtool_syntax_errors, [checkable[i][1].text for i in promql_indices])
        facts, syntax = parsing.result(), checking.result()
    syntax_by_query = {promql_indices[n]: error for n, error in syntax.items()}
    for index, ((query, sub), fact) in enumerate(zip(checkable, facts, strict=True)):
        if query.lang == "promql":
            findings += check_promql(query, sub, fact, syntax_by_query.get(index), registry)
        else:
            findings += check_logql(query, sub, fact, registry)
    return findings


def _unknown_prometheus_query(dashboard: Dashboard, variable: Json) -> bool:
    """A Prometheus query variable whose query is none of the forms Grafana's variable editor supports."""
    if variable.get("type") != "query":
        return False
    if resolve_datasource_type(variable.get("datasource"), dashboard.variables) != "prometheus":
        return False
    return not _PROMETHEUS_VARIABLE_QUERY.match(variable_query(variable))


def _variable_query_problem(dashboard: Dashboard, variable: Json, registry: Registry) -> str | None:
    """What is wrong with a Prometheus query variable's query, or None."""
    parsed = label_values_query(variable)
    if parsed is None:
        if _unknown_prometheus_query(dashboard, variable):
            return "not a Grafana Prometheus variable query: use label_values(<selector>, <label>)"
        return None
    metric_match = _METRIC_NAME.match(parsed[0] or "")
    if metric_match is None:
        return None
    metric, label = metric_match.group(0), parsed[1]
    series = registry.get(metric)
    if series is None:
        return f"metric {metric} is not exported by the app{did_you_mean(registry.closest(metric))}"
    if label not in series.labels:
        return f"{metric} has no label {label!r}"
    return None


def check_variable_queries(dashboard: Dashboard, registry: Registry) -> list[Finding]:
    """`label_values(metric{...}, label)` variables must name an exported metric and one of its labels."""
    findings = []
    for name, variable in dashboard.variables.items():
        message = _variable_query_problem(dashboard, variable, registry)
        if message:
            findings.append(
                Finding(
                    f"{dashboard.uid} / variable {name}", "template-variable-query", message,
                    dashboard_uid=dashboard.uid, query=variable_query(variable),
                )
            )  # fmt: skip
    return findings
