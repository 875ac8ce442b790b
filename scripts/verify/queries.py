"""Run every rendered panel and alert query against Prometheus, with Grafana's variables substituted.

A query passes when it returns at least one series with a real number; one that fails says which selector
matched nothing, and why (scripts/verify/explain.py). LogQL is syntax-checked only (no Loki here) and
listed as not verifiable, never as passing. "App down" is induced for real.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from scripts.common.procs import poll_until
from scripts.rendered.layout import panel_source_key, rule_source_key
from scripts.rendered.model import (
    Json,
    PanelQuery,
    alert_queries,
    iter_panels,
    iter_rules,
    label_values_query,
    panel_queries,
    resolve_datasource_type,
)
from scripts.rendered.parser import Query, parse_queries
from scripts.rendered.tree import RenderedTree
from scripts.rendered.variables import (
    OptionsLookup,
    UnknownVariableError,
    substitute,
    template_values,
    time_variables,
)
from scripts.verify.explain import explain_no_data
from scripts.verify.stack import SCRAPE_INTERVAL_S, LiveStack, VerifyError, prometheus_api
from scripts.verify.translate import translate_rule

APP_DOWN_RULE = "chat-app-down"  # induced live by stopping the app
CUT_OFF_RULE = "chat-replica-cut-off"  # induced live by killing Redis under the replicas
PER_INSTANCE_LEGEND = "{{instance}}"  # a panel that draws one series per instance
INDUCED_TIMEOUT_S = 30.0  # generous: CI has 2 loaded cores


@dataclass(frozen=True)
class QueryResult:
    where: str
    status: str  # "pass", "fail" or "not verifiable"
    series: int
    detail: str = ""
    source: str = ""  # the definition's file:line (sources.json), so a failure points at the Python


def label_values_lookup(prometheus_url: str, variables: dict[str, Json]) -> OptionsLookup:
    """Options of `label_values(<selector>, <label>)` variables from Prometheus's label values API.

    Variables on the Loki datasource only feed Loki queries, which are syntax-checked, never run, here:
    they get no lookup (so match-anything) instead of a Prometheus one.
    """

    def lookup(name: str, variable: Json, values: Mapping[str, str]) -> list[str] | None:
        parsed = label_values_query(variable)
        on_loki = resolve_datasource_type(variable.get("datasource"), variables) == "loki"
        if parsed is None or on_loki:
            return None
        selector, label = parsed
        params: dict[str, Any] = {}
        try:
            if selector:
                params["match[]"] = substitute(selector, values).text
        except UnknownVariableError as exc:
            raise VerifyError(f"template variable {name}: {exc} (define it before {name})") from exc
        return sorted(prometheus_api(prometheus_url, f"/api/v1/label/{label}/values", params))

    return lookup


def _with_data(result: list[Json]) -> int:
    """Series that hold at least one real number (NaN-only series show nothing in a panel)."""

    def numbers(series: Json) -> list[float]:
        points = series.get("values") or ([series["value"]] if "value" in series else [])
        return [float(value) for _, value in points if not math.isnan(float(value))]

    return sum(1 for series in result if numbers(series))


def run_query(prometheus_url: str, expr: str, start: float, end: float, step_s: float, instant: bool) -> int:
    if instant:
        data = prometheus_api(prometheus_url, "/api/v1/query", {"query": expr, "time": end})
    else:
        params = {"query": expr, "start": start, "end": end, "step": step_s}
        data = prometheus_api(prometheus_url, "/api/v1/query_range", params)
    return _with_data(data["result"])


def _logql_syntax_only(where: str, expr: str) -> QueryResult:
    """No Loki here: a LogQL query is not verifiable, but its syntax is checked with Loki's grammar."""
    [facts] = parse_queries([Query("logql", expr)])
    if facts["errors"]:
        error = facts["errors"][0]
        return QueryResult(where, "fail", 0, f"LogQL syntax error at column {error['from'] + 1}: {expr}")
    return QueryResult(where, "not verifiable", 0, "LogQL: no Loki here; syntax OK (Loki's grammar)")


def _check_query(
    prometheus_url: str, query: PanelQuery, values: dict[str, str], window: tuple[float, float], instant: bool
) -> QueryResult:
    """One query's result (without its source: the callers know which definition it belongs to)."""
    where = f"{query.where} [{query.ref_id}]"
    try:
        expr = substitute(query.expr, values).text
        if query.lang == "logql":
            return _logql_syntax_only(where, expr)
        step_s = int(values["__interval_ms"]) / 1000  # Grafana's query step is $__interval
        series = run_query(prometheus_url, expr, window[0], window[1], step_s, instant)
    except (UnknownVariableError, VerifyError) as exc:
        return QueryResult(where, "fail", 0, str(exc))
    if series == 0:
        return QueryResult(where, "fail", 0, explain_no_data(prometheus_url, expr, window))
    return QueryResult(where, "pass", series)


def check_panels(
    prometheus_url: str, tree: RenderedTree, window: tuple[float, float], instances: int = 1
) -> list[QueryResult]:
    """Every panel query returns data; one whose legend names {{instance}} shows one series per instance."""
    start, end = window
    times = time_variables(end - start, SCRAPE_INTERVAL_S)
    results = []
    for dashboard in tree.dashboards:
        lookup = label_values_lookup(prometheus_url, dashboard.variables)
        values = {**times, **template_values(dashboard.variables, lookup)}
        for ref in iter_panels(dashboard):
            targets = {str(t.get("refId")): t for t in ref.panel.get("targets") or [] if isinstance(t, dict)}
            for query in panel_queries(ref):
                target = targets.get(query.ref_id, {})
                instant = bool(target.get("instant")) and not target.get("range")
                result = _check_query(prometheus_url, query, values, window, instant)
                if per_instance_short(result, str(target.get("legendFormat", "")), instances):
                    detail = f"{result.series} series, one per instance expected ({instances} instances)"
                    result = replace(result, status="fail", detail=detail)
                source = tree.sources.get(panel_source_key(dashboard.uid, ref.panel.get("id")), "")
                results.append(replace(result, source=source))
    return results


def per_instance_short(result: QueryResult, legend: str, instances: int) -> bool:
    """A passing per-instance query that shows fewer series than there are instances (one is missing)."""
    return result.status == "pass" and PER_INSTANCE_LEGEND in legend and result.series < instances


def check_alert_queries(
    prometheus_url: str, tree: RenderedTree, window: tuple[float, float]
) -> list[QueryResult]:
    # Alert rules have no dashboard: only Grafana's time variables exist for them.
    values = time_variables(window[1] - window[0], SCRAPE_INTERVAL_S)
    return [
        replace(
            _check_query(prometheus_url, query, values, window, instant=True),
            source=tree.sources.get(rule_source_key(str(rule.get("uid"))), ""),
        )
        for rule in iter_rules(tree.rule_groups)
        for query in alert_queries(rule)
    ]


def check_app_down_live(stack: LiveStack, tree: RenderedTree) -> list[QueryResult]:
    """Induce "app down" for real: the translated rule must be quiet while the app runs, fire once stopped."""
    return check_induced(stack, tree, APP_DOWN_RULE, "app", stack.stop_app)


def check_cut_off_live(stack: LiveStack, tree: RenderedTree) -> list[QueryResult]:
    """Induce "replica cut off from the broker" for real: quiet while Redis runs, fires once it is killed."""
    return check_induced(stack, tree, CUT_OFF_RULE, "broker", stack.stop_broker)


def check_induced(
    stack: LiveStack, tree: RenderedTree, uid: str, what: str, induce: Callable[[], None]
) -> list[QueryResult]:
    """Rule `uid`'s translated condition is quiet now and fires once `induce()` has stopped `what`."""
    where = f"alert {uid} live"
    rule = next((r for r in iter_rules(tree.rule_groups) if r.get("uid") == uid), None)
    if rule is None:
        return [QueryResult(where, "fail", 0, f"rules.json has no rule {uid}")]
    condition = translate_rule(rule)["expr"]

    def firing() -> int:
        now = time.time()
        return run_query(stack.prometheus_url, condition, now, now, SCRAPE_INTERVAL_S, instant=True)

    quiet = firing()
    induce()
    # Condition-based: the next scrape that sees it makes it fire; the deadline bounds a stuck Prometheus.
    poll_until(lambda: firing() > 0, INDUCED_TIMEOUT_S, interval_s=SCRAPE_INTERVAL_S / 4)
    fired = firing()
    return [
        QueryResult(
            f"{where}, {what} up",
            "fail" if quiet else "pass",
            quiet,
            f"fires while the {what} is up: {condition}" if quiet else "",
        ),
        QueryResult(
            f"{where}, {what} stopped",
            "pass" if fired else "fail",
            fired,
            "" if fired else f"stays quiet: {condition}",
        ),
    ]
