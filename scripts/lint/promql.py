"""PromQL checks: syntax by promtool (Prometheus's own parser), meaning against the app's registry.

Syntax: every query (Grafana variables already substituted) becomes a recording rule `q_<n>` in ONE
temporary rules file and ONE `promtool check rules` run; promtool names the failing rule, which maps the
error back to its panel.

Meaning (facts from the lezer grammar, see scripts/rendered/parser.py):
- every metric and label exists in the app's registry (closest name suggested on a typo), and so does every
  label of a by/without/on/ignoring/group_left/group_right clause on the series under it;
- a matcher on a closed label (one whose every value the app pre-initialises) can match a value the app
  exports (closest value suggested); open labels and values written by query variables are not checked;
- dashboard queries match `job` and `instance` (dashboard-linter target-job/instance rules); alert queries
  match `job`;
- rate()/irate() range is `$__rate_interval`; increase() uses `$__rate_interval` or `$__range`;
- rate()/irate()/increase() only on counting series; a counter is never shown raw;
- histogram_quantile() reads `_bucket` series and any aggregation inside it keeps `le`;
- `by` never groups on a label with more than MAX_GROUP_CARDINALITY values (Prometheus's
  docs/practices/naming.md: labels with unbounded values are a cardinality problem).
A template variable's `label_values(<selector>, ...)` selector is checked for syntax only.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from scripts.common.tools import ToolMissingError, require_tool
from scripts.lint.registry import Registry, Series, did_you_mean, label_value_problem
from scripts.rendered.model import Finding, PanelQuery
from scripts.rendered.variables import Substituted

COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
# Functions that may take a raw counter without rating it: they ask whether it exists / when it changed.
RAW_COUNTER_FUNCTIONS = frozenset({"absent", "timestamp", "absent_over_time", "changes"})
# Functions that write the label named by their second argument: grouping on it afterwards is no typo.
LABEL_WRITING_FUNCTIONS = frozenset({"label_replace", "label_join"})
# Clauses whose labels split the result into series (the others only drop or copy labels).
SPLITTING_CLAUSES = ("by", "on")
MAX_GROUP_CARDINALITY = 10
# Label names that are unbounded by nature (user ids, addresses...): never group by them.
UNBOUNDED_LABELS = frozenset(
    {"user", "username", "user_id", "email", "ip", "client_ip", "session", "id", "path"}
)
_PROMTOOL_ERROR = re.compile(r'rule \d+, "q_(\d+)": (.*)$')


def promtool_syntax_errors(exprs: list[str], timeout_s: float = 120.0) -> dict[int, str]:
    """Syntax errors by query index, from one `promtool check rules` over all queries."""
    if not exprs:
        return {}
    promtool = require_tool("promtool")
    rules = {
        "groups": [{"name": "lint", "rules": [{"record": f"q_{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    with tempfile.TemporaryDirectory(prefix="lint-promql-") as tmp:
        path = Path(tmp) / "queries.yml"
        path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        completed = subprocess.run(
            [promtool, "check", "rules", "--lint=none", str(path)],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
    errors: dict[int, str] = {}
    for line in (completed.stdout + completed.stderr).splitlines():
        match = _PROMTOOL_ERROR.search(line)
        if match:
            errors[int(match.group(1))] = match.group(2).replace("could not parse expression: ", "")
    if completed.returncode != 0 and not errors:
        raise ToolMissingError(f"promtool check rules failed: {completed.stderr.strip()[:500]}")
    return errors


def _inside(item: dict[str, Any], span: tuple[int, int]) -> bool:
    return span[0] <= item["from"] and item["to"] <= span[1]


def _innermost_call(selector: dict[str, Any], calls: list[dict[str, Any]]) -> str | None:
    containing = [c for c in calls if c["from"] <= selector["from"] and selector["to"] <= c["to"]]
    return min(containing, key=lambda c: c["to"] - c["from"])["name"] if containing else None


def _written_by_open_variable(query: PanelQuery, sub: Substituted, matcher: dict[str, Any]) -> bool:
    """Whether a variable other than a custom one (whose options are ours) wrote into the matcher's value:
    a query variable's value is whatever the datasource lists, or its saved selection, here."""
    names = {s.name for s in sub.spans if s.start < matcher["to"] and matcher["from"] < s.end}
    return any(query.variables.get(name, {}).get("type") != "custom" for name in names)


def label_value_findings(
    query: PanelQuery,
    sub: Substituted,
    matchers: list[dict[str, Any]],
    closed: Mapping[str, frozenset[str]],
    owner: str,
    rule: str,
) -> Iterator[Finding]:
    """A finding per matcher on a closed label that no legal value satisfies (`owner` says whose values)."""
    for matcher in matchers:
        legal = closed.get(matcher["label"])
        if legal is None or matcher["value"] is None or _written_by_open_variable(query, sub, matcher):
            continue
        problem = label_value_problem(matcher["op"], matcher["value"], legal, owner)
        if problem:
            written = sub.text[matcher["from"] : matcher["to"]]
            yield query.finding(rule, f"{matcher['label']}{matcher['op']}{written} {problem}")


def _check_selector(
    query: PanelQuery,
    sub: Substituted,
    selector: dict[str, Any],
    calls: list[dict[str, Any]],
    registry: Registry,
) -> Iterator[Finding]:
    metric = selector["metric"]
    if metric is None:
        yield query.finding("promql-metric", "every selector must name a metric")
        return
    series = registry.get(metric)
    if series is None:
        hint = did_you_mean(registry.closest(metric))
        yield query.finding("promql-metric", f"metric {metric} is not exported by the app{hint}")
        return
    for label in selector["labels"]:
        if label not in series.labels:
            hint = did_you_mean(registry.closest_label(label, series.labels))
            yield query.finding("promql-label", f"{metric} has no label {label!r}{hint}")
    yield from label_value_findings(
        query, sub, selector["matchers"], series.closed_values, f"{metric} has", "promql-label-value"
    )
    required = ("job", "instance") if query.in_dashboard else ("job",)
    missing = [label for label in required if label not in selector["labels"]]
    if missing:
        matchers = ", ".join(
            f'{label}=~"${label}"' if query.in_dashboard else f'{label}="chat"' for label in missing
        )
        yield query.finding("promql-job-instance", f"{metric} needs a matcher {matchers}")
    yield from _check_counter_use(query, sub, selector, series, calls)


def _check_counter_use(
    query: PanelQuery, sub: Substituted, selector: dict[str, Any], series: Series, calls: list[dict[str, Any]]
) -> Iterator[Finding]:
    func = selector["func"]
    if func in COUNTER_FUNCTIONS and not series.counting:
        yield query.finding(
            "promql-counter-rate",
            f"{func}() of {series.name}, a {series.family_type}: use deriv() or delta()",
        )
    if (
        series.counting
        and func not in COUNTER_FUNCTIONS
        and _innermost_call(selector, calls) not in RAW_COUNTER_FUNCTIONS
    ):
        yield query.finding(
            "promql-counter-rate", f"counter {series.name} must be wrapped in rate(), irate() or increase()"
        )
    if query.in_dashboard and func in COUNTER_FUNCTIONS - {"resets"} and selector["range"]:
        used = sub.variable_at(*selector["range"])
        allowed = {"__rate_interval", "__range"} if func == "increase" else {"__rate_interval"}
        if used not in allowed:
            written = sub.text[selector["range"][0] : selector["range"][1]]
            yield query.finding(
                "promql-rate-interval", f"{func}({series.name}[{written}]) must use [$__rate_interval]"
            )


def _check_histogram_quantiles(
    query: PanelQuery, facts: dict[str, Any], registry: Registry
) -> Iterator[Finding]:
    for call in facts["calls"]:
        if call["name"] != "histogram_quantile" or len(call["args"]) != 2:
            continue
        argument = tuple(call["args"][1])
        for selector in (s for s in facts["selectors"] if _inside(s, argument)):
            series = registry.get(selector["metric"] or "")
            if series is not None and not series.is_bucket:
                yield query.finding(
                    "promql-histogram-quantile",
                    f"histogram_quantile() needs a histogram's _bucket series, not {series.name}",
                )
        aggregations = [
            g for g in facts["groupings"] if g["parent"] == "AggregateExpr" and _inside(g, argument)
        ]
        if aggregations:
            outer = max(aggregations, key=lambda g: g["to"] - g["from"])
            keeps_le = (
                "le" in outer["labels"]
                if outer["kind"] == "by"
                else (outer["kind"] == "without" and "le" not in outer["labels"])
            )
            if not keeps_le:
                yield query.finding(
                    "promql-histogram-quantile",
                    f"{outer['op']}() inside histogram_quantile() must keep `le`: use by (le)",
                )


def _written_labels(sub: Substituted, calls: list[dict[str, Any]], span: tuple[int, int]) -> set[str]:
    """Labels that label_replace()/label_join() calls inside `span` write (their `dst` string argument)."""
    return {
        sub.text[call["args"][1][0] : call["args"][1][1]].strip("\"'`")
        for call in calls
        if call["name"] in LABEL_WRITING_FUNCTIONS and len(call["args"]) > 1 and _inside(call, span)
    }


def _check_groupings(
    query: PanelQuery, sub: Substituted, facts: dict[str, Any], registry: Registry
) -> Iterator[Finding]:
    """Grouping labels exist on the series the clause sees: those of every selector under the aggregation
    (or on either side of the binary operation), plus what label_replace()/label_join() write there."""
    for grouping in facts["groupings"]:
        span = (grouping["from"], grouping["to"])
        inner = [registry.get(s["metric"] or "") for s in facts["selectors"] if _inside(s, span)]
        inner_series = [s for s in inner if s is not None]
        written = _written_labels(sub, facts["calls"], span)
        for label in grouping["labels"]:
            if label in written:
                continue
            owners = [s for s in inner_series if label in s.labels]
            if inner_series and not owners:
                candidates = set().union(*(s.labels for s in inner_series))
                hint = did_you_mean(registry.closest_label(label, candidates))
                yield query.finding(
                    "promql-label", f"{grouping['kind']} ({label}): no series here has that label{hint}"
                )
                continue
            if grouping["kind"] not in SPLITTING_CLAUSES:
                continue
            if label == "le" and all(s.is_bucket for s in owners):
                continue  # bounded by the bucket layout; keeping it is what makes quantiles/heatmaps work
            cardinality = max((len(s.label_values.get(label, ())) for s in owners), default=0)
            if label in UNBOUNDED_LABELS or cardinality > MAX_GROUP_CARDINALITY:
                yield query.finding(
                    "promql-cardinality",
                    f"by ({label}) splits into {cardinality or 'unbounded'} series: group by labels under "
                    f"{MAX_GROUP_CARDINALITY} values",
                )


def check_promql(
    query: PanelQuery, sub: Substituted, facts: dict[str, Any], syntax_error: str | None, registry: Registry
) -> list[Finding]:
    """Every PromQL finding for one query (meaning is checked only once the syntax is valid)."""
    if syntax_error:
        return [query.finding("promql-syntax", f"promtool: {syntax_error} in: {sub.text}")]
    if facts["errors"]:
        error = facts["errors"][0]
        return [
            query.finding(
                "promql-syntax", f"cannot analyse at column {error['from'] + 1} near {error['near']!r}"
            )
        ]
    if query.syntax_only:
        return []
    findings = [
        f for s in facts["selectors"] for f in _check_selector(query, sub, s, facts["calls"], registry)
    ]
    findings += _check_histogram_quantiles(query, facts, registry)
    findings += _check_groupings(query, sub, facts, registry)
    return findings
