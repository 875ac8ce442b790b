"""Translate Grafana alert rules (provisioning-API shape) into equivalent Prometheus alerting rules.

Grafana evaluates a rule as a pipeline of refIds: query A (PromQL, on the `prometheus` datasource) returns
series; reduce B turns each series into one number; threshold C compares that number; the condition (C)
must hold for `for` before the alert fires, one alert instance per series. Prometheus evaluates the same
thing as one alerting rule, so that `promtool test rules` can prove when each Grafana rule fires:

    alert: <rule uid>          for: <for>          labels: <rule labels>
    expr:  <reduce-equivalent of A>  <op>  <threshold>     [or absent(...) when noDataState = Alerting]

Reduce-equivalent of A (over the query's relativeTimeRange `from` seconds):
- instant query (model.instant): one point per series, so last/mean/max/min/sum are the value itself;
- range query: `last` is the value at evaluation time; mean/max/min/sum/count become
  avg/max/min/sum/count_over_time((A)[<from>s:<step>s]) with step = model.intervalMs (min 1 s).
Threshold: gt → `>`, lt → `<`, within_range (a, b) → `> a and < b`, outside_range → `< a or > b`.
noDataState Alerting: Grafana fires when A returns nothing (reduce mode dropNN also drops NaN points), so
the translation adds `or absent(<A> == <A>)` (`x == x` drops NaN samples); like Grafana's no-data alert,
that instance carries only the rule's labels. Annotations are not translated: they are Grafana templates
and the tests are about when a rule fires, not how it reads.

Anything else (math/resample/classic conditions, replaceNN, LogQL queries) raises UntranslatableRuleError
with the reason; callers list such rules as "not verifiable here", never as passing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROMETHEUS_UID = "prometheus"
INSTANT_REDUCERS = frozenset({"last", "mean", "max", "min", "sum"})
OVER_TIME = {"mean": "avg_over_time", "max": "max_over_time", "min": "min_over_time", "sum": "sum_over_time",
             "count": "count_over_time"}  # fmt: skip

Json = dict[str, Any]


class UntranslatableRuleError(ValueError):
    """The rule uses a feature with no faithful Prometheus equivalent (the message says which)."""


@dataclass(frozen=True)
class Pipeline:
    """The three steps of a translatable rule."""

    query: Json  # the data item of refId A
    reduce: Json  # model of the reduce expression
    threshold: Json  # model of the threshold expression (the condition)


def _by_ref(rule: Json) -> dict[str, Json]:
    return {str(item.get("refId")): item for item in rule.get("data") or []}


def pipeline_of(rule: Json) -> Pipeline:
    """Find query → reduce → threshold by following the condition's references."""
    items = _by_ref(rule)
    condition = items.get(str(rule.get("condition")))
    if condition is None or (condition.get("model") or {}).get("type") != "threshold":
        raise UntranslatableRuleError("the condition is not a threshold expression")
    threshold = condition["model"]
    reduce_item = items.get(str(threshold.get("expression")))
    if reduce_item is None or (reduce_item.get("model") or {}).get("type") != "reduce":
        raise UntranslatableRuleError("the threshold does not read a reduce expression")
    reduce = reduce_item["model"]
    query = items.get(str(reduce.get("expression")))
    if query is None or query.get("datasourceUid") != PROMETHEUS_UID:
        kind = (
            "a LogQL (Loki) query"
            if query and query.get("datasourceUid") == "loki"
            else "no Prometheus query"
        )
        raise UntranslatableRuleError(f"the reduce reads {kind}: Prometheus cannot evaluate it")
    return Pipeline(query, reduce, threshold)


def reduced_expr(pipeline: Pipeline) -> str:
    """PromQL whose value per series is Grafana's reduce of query A."""
    model = pipeline.query.get("model") or {}
    expr = str(model.get("expr") or "").strip()
    reducer = pipeline.reduce.get("reducer")
    mode = (pipeline.reduce.get("settings") or {}).get("mode", "dropNN")
    if mode != "dropNN":
        raise UntranslatableRuleError(f"reduce mode {mode!r} (only dropNN is translated)")
    if model.get("instant"):
        if reducer not in INSTANT_REDUCERS:
            raise UntranslatableRuleError(f"reducer {reducer!r} on an instant query")
        return expr
    if reducer == "last":
        return expr
    if reducer not in OVER_TIME:
        raise UntranslatableRuleError(f"reducer {reducer!r}")
    window_s = int((pipeline.query.get("relativeTimeRange") or {}).get("from", 600))
    step_s = max(1, int(model.get("intervalMs", 1000)) // 1000)
    return f"{OVER_TIME[reducer]}(({expr})[{window_s}s:{step_s}s])"


def condition_expr(reduced: str, threshold: Json) -> str:
    evaluator = ((threshold.get("conditions") or [{}])[0]).get("evaluator") or {}
    kind = evaluator.get("type")
    params = [float(p) for p in evaluator.get("params") or []]
    value = f"({reduced})"
    if kind == "gt" and params:
        return f"{value} > {params[0]:g}"
    if kind == "lt" and params:
        return f"{value} < {params[0]:g}"
    if kind == "within_range" and len(params) == 2:
        return f"({value} > {params[0]:g}) and ({value} < {params[1]:g})"
    if kind == "outside_range" and len(params) == 2:
        return f"({value} < {params[0]:g}) or ({value} > {params[1]:g})"
    raise UntranslatableRuleError(f"threshold evaluator {kind!r} with params {params}")


def translate_rule(rule: Json) -> Json:
    """One Prometheus alerting rule equivalent to the Grafana rule (raises UntranslatableRuleError)."""
    pipeline = pipeline_of(rule)
    reduced = reduced_expr(pipeline)
    expr = condition_expr(reduced, pipeline.threshold)
    if rule.get("noDataState") == "Alerting":
        expr = f"({expr}) or absent(({reduced}) == ({reduced}))"
    return {
        "alert": str(rule["uid"]),
        "expr": expr,
        "for": str(rule.get("for") or "0s"),
        "labels": dict(rule.get("labels") or {}),
    }


def translate_groups(groups: list[Json]) -> tuple[Json, dict[str, str]]:
    """A Prometheus rules file for every translatable rule, and {uid: reason} for the others."""
    prom_groups = []
    skipped: dict[str, str] = {}
    for group in groups:
        rules = []
        for rule in group.get("rules") or []:
            try:
                rules.append(translate_rule(rule))
            except UntranslatableRuleError as exc:
                skipped[str(rule.get("uid"))] = str(exc)
        if rules:
            prom_groups.append(
                {"name": str(group.get("title")), "interval": f"{group.get('interval')}s", "rules": rules}
            )
    return {"groups": prom_groups}, skipped
