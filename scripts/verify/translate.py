"""Translate Grafana alert rules (provisioning-API shape) into equivalent Prometheus alerting rules.

Grafana evaluates a rule as a pipeline of refIds: query A (PromQL, on the `prometheus` datasource) returns
series; reduce B turns each series into one number; threshold C compares that number; the condition (C)
must hold for `for` before the alert fires, one alert instance per series. Prometheus evaluates the same
thing as one alerting rule, so that `promtool test rules` can prove when each Grafana rule fires:

    alert: <rule uid>    for: <for>    labels: <rule labels>    (group interval = the Grafana group's)
    expr:  <reduce of A> <threshold>   [or <no-data instances>   when noDataState = Alerting]

Grafana's semantics, as in grafana/grafana pkg/expr (mathexp/reduce.go, threshold.go) and
pkg/services/ngalert/eval (a condition value of nil is NoData, 0 is Normal, anything else Alerting):
- reduce mode `dropNN` drops non-numbers (NaN, ±Inf on series points; NaN on an instant query's number);
  a series left with nothing reduces to nil, i.e. NoData for that series. Without a mode ("strict"),
  NaN stays NaN and reaches the threshold.
- the threshold is a Go comparison: NaN > t, NaN < t and the range checks are false (Normal), NaN != t is
  true; PromQL's comparison filters behave identically on NaN, so the threshold maps 1:1.
- noDataState decides what nil (and a query that returns no series at all) means: OK → Normal;
  Alerting → fires (a series that reduced to nil keeps its labels; "no series at all" has only the rule's).

Reduce of A over the query's relativeTimeRange (`from` seconds, `to` must be 0):
- instant query (model.instant): one point per series, so last/mean/max/min/sum are the value itself;
  dropNN is `(A) == (A)` (keeps the non-NaN samples);
- range query (dropNN only): last/mean/max/min/sum/count become
  last/avg/max/min/sum/count_over_time(((A) < Inf > -Inf)[<from>s:<step>s]) with step = model.intervalMs
  (min 1 s); sum and count of a series with no number left are 0 in Grafana, so `or ... * 0` adds them.
Threshold: gt → `>`, lt → `<`, ge/gte → `>=`, le/lte → `<=`, eq → `==`, ne → `!=`, within_range (a, b) →
`> a and < b`, outside_range → `< a or > b`, the `_included` variants with `>=`/`<=`.
noDataState Alerting adds `or ((A) != (A))` (dropNN: NaN series are NoData) and `or absent(count(A))`
(no series at all; label-less like Grafana's no-data instance). Annotations are not translated: they are
Grafana templates, and the tests are about when a rule fires, not how it reads. execErrState cannot arise
in promtool (no datasource errors), so it is not translated.

Anything else (math/resample/classic conditions, replaceNN, strict mode on a range query, a recovery
threshold, noDataState NoData/KeepLast, keep-firing, LogQL queries) raises UntranslatableRuleError with the
reason; callers list such rules as "not verifiable here", never as passing.
Known approximation: Grafana aligns a range query's points to its step from now; the subquery aligns
them to multiples of the step.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.core.conventions import LOKI_UID, PROMETHEUS_UID
from scripts.rendered.expressions import COMPARISONS, DROP_NON_NUMBERS, RANGES, STRICT_MODES
from scripts.rendered.model import Json

INSTANT_REDUCERS = frozenset({"last", "mean", "max", "min", "sum"})
OVER_TIME = {"last": "last_over_time", "mean": "avg_over_time", "max": "max_over_time",
             "min": "min_over_time", "sum": "sum_over_time", "count": "count_over_time"}  # fmt: skip
ZERO_WHEN_EMPTY = frozenset({"sum", "count"})  # Grafana's Sum/Count of no points is 0, not NaN


class UntranslatableRuleError(ValueError):
    """The rule uses a feature with no faithful Prometheus equivalent (the message says which)."""


@dataclass(frozen=True)
class Pipeline:
    """The three steps of a translatable rule."""

    query: Json  # the data item of refId A
    reduce: Json  # model of the reduce expression
    threshold: Json  # model of the threshold expression (the condition)

    @property
    def expr(self) -> str:
        return str((self.query.get("model") or {}).get("expr") or "").strip()

    @property
    def instant(self) -> bool:
        return bool((self.query.get("model") or {}).get("instant"))

    @property
    def mode(self) -> str:
        return str((self.reduce.get("settings") or {}).get("mode") or "")


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
            if query and query.get("datasourceUid") == LOKI_UID
            else "no Prometheus query"
        )
        raise UntranslatableRuleError(f"the reduce reads {kind}: Prometheus cannot evaluate it")
    if int((query.get("relativeTimeRange") or {}).get("to", 0)) != 0:
        raise UntranslatableRuleError("a query range that ends before now (relativeTimeRange.to)")
    return Pipeline(query, reduce, threshold)


def reduced_expr(pipeline: Pipeline) -> str:
    """PromQL whose value per series is Grafana's reduce of query A (series reducing to nil are absent)."""
    expr, reducer, mode = pipeline.expr, pipeline.reduce.get("reducer"), pipeline.mode
    if mode not in STRICT_MODES | {DROP_NON_NUMBERS}:
        raise UntranslatableRuleError(f"reduce mode {mode!r} (only dropNN and strict are translated)")
    if pipeline.instant:
        if reducer not in INSTANT_REDUCERS:
            raise UntranslatableRuleError(f"reducer {reducer!r} on an instant query")
        return f"(({expr}) == ({expr}))" if mode == DROP_NON_NUMBERS else f"({expr})"
    if mode != DROP_NON_NUMBERS:
        raise UntranslatableRuleError("strict reduce of a range query (NaN points make the result NaN)")
    if reducer not in OVER_TIME:
        raise UntranslatableRuleError(f"reducer {reducer!r}")
    model = pipeline.query.get("model") or {}
    window_s = int((pipeline.query.get("relativeTimeRange") or {}).get("from", 600))
    step_s = max(1, int(model.get("intervalMs", 1000)) // 1000)
    window = f"[{window_s}s:{step_s}s]"
    reduced = f"{OVER_TIME[reducer]}((({expr}) < Inf > -Inf){window})"
    if reducer in ZERO_WHEN_EMPTY:
        reduced = f"({reduced} or (count_over_time(({expr}){window}) * 0))"
    return reduced


def condition_expr(reduced: str, threshold: Json) -> str:
    condition = (threshold.get("conditions") or [{}])[0]
    if condition.get("unloadEvaluator"):
        raise UntranslatableRuleError("a recovery threshold (unloadEvaluator) depends on the alert's state")
    evaluator = condition.get("evaluator") or {}
    kind = evaluator.get("type")
    params = [float(p) for p in evaluator.get("params") or []]
    if kind in COMPARISONS and params:
        return f"{reduced} {COMPARISONS[kind]} {params[0]:g}"
    if kind in RANGES and len(params) == 2:
        lower, joiner, upper = RANGES[kind]
        return f"({reduced} {lower} {params[0]:g}) {joiner} ({reduced} {upper} {params[1]:g})"
    raise UntranslatableRuleError(f"threshold evaluator {kind!r} with params {params}")


def no_data_expr(pipeline: Pipeline) -> str:
    """The instances Grafana's noDataState=Alerting adds: series reduced to nil, and "no series at all"."""
    if not pipeline.instant:
        raise UntranslatableRuleError("noDataState Alerting on a range query")
    expr = pipeline.expr
    nil_series = f" or (({expr}) != ({expr}))" if pipeline.mode == DROP_NON_NUMBERS else ""
    return f"{nil_series} or absent(count({expr}))"


def translate_rule(rule: Json) -> Json:
    """One Prometheus alerting rule equivalent to the Grafana rule (raises UntranslatableRuleError)."""
    pipeline = pipeline_of(rule)
    expr = condition_expr(reduced_expr(pipeline), pipeline.threshold)
    no_data = rule.get("noDataState")
    if no_data == "Alerting":
        expr += no_data_expr(pipeline)
    elif no_data != "OK":
        raise UntranslatableRuleError(f"noDataState {no_data!r} (only OK and Alerting are translated)")
    if str(rule.get("keepFiringFor") or rule.get("keep_firing_for") or "0s") not in ("0", "0s"):
        raise UntranslatableRuleError("keepFiringFor")
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
