"""Grafana's variables in a query: what each stands for, and the text Grafana sends once they are substituted.

Grafana rewrites `$name`, `${name}`, `${name:format}` and `[[name]]` before a query leaves it, so both the
static lint (promtool, the lezer grammars) and the live verify (Prometheus's HTTP API) must see the same
text Grafana would send. `substitute` also reports where each variable landed in the result, so a check can
ask "was this range `$__rate_interval`?" exactly instead of guessing from the value.

Interval rules (grafana/grafana: pkg/promlib/models/query.go, pkg/promlib/intervalv2, pkg/gtime; PR #84063):
- `$__interval` = time range / max data points; below the datasource's scrape interval (`timeInterval`) it
  is the scrape interval, otherwise it is snapped to a round value (gtime.RoundInterval: 3.6 s → 5 s,
  86.4 s → 1 m), and never finer than range / 11,000 (Grafana's safe resolution);
- `$__rate_interval` = max(`$__interval` + scrape interval, 4 x scrape interval);
- `$__range` = the range rounded to whole seconds, e.g. `3600s`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scripts.rendered.model import Json, variable_query

MATCH_ANY = ".+"  # stands for a variable whose options are not known here
# $name | ${name} | ${name:format} | [[name]] | [[name:format]]
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[\w-]+)?\}|\[\[(\w+)(?::[\w-]+)?\]\]")
_REGEX_SPECIAL = re.compile(r"[$^*{}\[\]+?.()|]")
# A query variable's options as its datasource lists them: (name, variable, the values of the variables
# before it) -> options, or None when no datasource is at hand (the static lint).
OptionsLookup = Callable[[str, Json, Mapping[str, str]], list[str] | None]


class UnknownVariableError(ValueError):
    """A query names a variable that is neither a template variable nor a Grafana global."""


@dataclass(frozen=True)
class Span:
    """Where a variable's value sits in the substituted text (half-open [start, end))."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Substituted:
    text: str
    spans: tuple[Span, ...]

    def variable_at(self, start: int, end: int) -> str | None:
        """The variable whose value is exactly text[start:end], if any."""
        return next((s.name for s in self.spans if s.start == start and s.end == end), None)


SAFE_RESOLUTION = 11_000  # Grafana's cap on points per series (promlib safeResolution)
# gtime.RoundInterval as (interval up to N seconds, snapped value in seconds); anything longer → 1 year.
_ROUND_INTERVAL = (
    (0.01, 0.001), (0.015, 0.01), (0.035, 0.02), (0.075, 0.05), (0.15, 0.1), (0.35, 0.2), (0.75, 0.5),
    (1.5, 1), (3.5, 2), (7.5, 5), (12.5, 10), (17.5, 15), (25, 20), (45, 30), (90, 60), (210, 120),
    (450, 300), (750, 600), (1050, 900), (1500, 1200), (2700, 1800), (5400, 3600), (9000, 7200),
    (16200, 10800), (32400, 21600), (86400, 43200), (172800, 86400), (604800, 86400), (1814400, 604800),
    (3628800, 2592000),
)  # fmt: skip
# gtime.FormatInterval: the largest unit that fits, truncated (1.5 s → "1s").
_INTERVAL_UNITS = (("y", 31_536_000), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1), ("ms", 0.001))


def format_rate_interval(seconds: float) -> str:
    """How Grafana writes `$__rate_interval`: whole seconds as `80s` (not `1m20s`), finer as milliseconds."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def round_interval(seconds: float) -> float:
    """Grafana's gtime.RoundInterval: snap a computed interval to a round value."""
    return next((value for limit, value in _ROUND_INTERVAL if seconds <= limit), 31_536_000)


def format_interval(seconds: float) -> str:
    """Grafana's gtime.FormatInterval, which writes `$__interval`."""
    unit, size = next(((u, s) for u, s in _INTERVAL_UNITS if seconds >= s), ("ms", 0.001))
    return f"{max(1, int(round(seconds / size, 6)))}{unit}"


def query_interval(range_s: float, scrape_s: float, max_data_points: int = 1000) -> float:
    """`$__interval` in seconds for a panel over `range_s` on a datasource scraped every `scrape_s`."""
    calculated = range_s / max_data_points
    interval = scrape_s if calculated < scrape_s else round_interval(calculated)
    return max(interval, round_interval(range_s / SAFE_RESOLUTION))


def time_variables(range_s: float, scrape_s: float, max_data_points: int = 1000) -> dict[str, str]:
    """Values of Grafana's interval/range variables for a panel over `range_s` on a `scrape_s` datasource."""
    interval_s = query_interval(range_s, scrape_s, max_data_points)
    rate_s = max(interval_s + scrape_s, 4 * scrape_s)
    return {
        "__interval": format_interval(interval_s),
        "__interval_ms": str(round(interval_s * 1000)),
        "__rate_interval": format_rate_interval(rate_s),
        "__rate_interval_ms": str(round(rate_s * 1000)),
        "__range": f"{round(range_s)}s",
        "__range_s": str(round(range_s)),
        "__range_ms": str(round(range_s * 1000)),
        "__auto": format_interval(interval_s),
    }


def substitute(expr: str, values: Mapping[str, str]) -> Substituted:
    """Replace every variable in `expr` by its value; raise UnknownVariableError for an unknown one."""
    parts: list[str] = []
    spans: list[Span] = []
    position = 0
    length = 0
    for match in _VARIABLE.finditer(expr):
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in values:
            raise UnknownVariableError(f"unknown variable ${name}")
        before = expr[position : match.start()]
        parts.append(before)
        length += len(before)
        value = values[name]
        spans.append(Span(name, length, length + len(value)))
        parts.append(value)
        length += len(value)
        position = match.end()
    parts.append(expr[position:])
    return Substituted("".join(parts), tuple(spans))


def grafana_value(values: list[str], variable: Json) -> str:
    """How Grafana writes a Prometheus variable's selected `values` into a query (interpolateQueryExpr).

    A multi-value or include-All variable is a regex: each value escaped as prometheusSpecialRegexEscape
    does (a regex metacharacter gets two backslashes, a backslash four, because the value lands inside a
    PromQL string literal), several joined as `(a|b)`, one alone bare. A single-value variable only has its
    backslashes doubled (prometheusRegularEscape). grafana/grafana: public/app/plugins/datasource/prometheus
    (now packages/grafana-prometheus/src/datasource.ts).
    """
    if not (variable.get("multi") or variable.get("includeAll")):
        return values[0].replace("\\", "\\\\") if values else ""
    escaped = [_REGEX_SPECIAL.sub(r"\\\\\g<0>", v.replace("\\", "\\\\\\\\")) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def selected_value(variable: Json, options: list[str]) -> str:
    """With "All" offered, its custom value or every option; otherwise the first option, as Grafana picks."""
    if variable.get("includeAll") and variable.get("allValue"):
        return str(variable["allValue"])
    return grafana_value(options if variable.get("includeAll") else options[:1], variable)


def saved_value(variable: Json) -> str:
    """The selection saved in the dashboard, when it is one plain value; else match-anything."""
    current = (variable.get("current") or {}).get("value")
    if isinstance(current, str) and current and current != "$__all":
        return current
    return MATCH_ANY


def template_values(variables: Mapping[str, Json], lookup: OptionsLookup | None = None) -> dict[str, str]:
    """Each template variable's value as Grafana substitutes it on a freshly opened dashboard.

    A datasource variable is its datasource's uid; a custom one selects from its own options; a query
    variable selects from what `lookup` finds, or keeps its saved selection when there is no lookup.
    """
    values: dict[str, str] = {}
    for name, variable in variables.items():
        kind = variable.get("type")
        if kind == "datasource":
            values[name] = variable_query(variable)
            continue
        if kind == "custom":
            options: list[str] | None = [o.strip() for o in variable_query(variable).split(",") if o.strip()]
        else:
            options = lookup(name, variable, values) if lookup else None
        values[name] = saved_value(variable) if options is None else selected_value(variable, options)
    return values
