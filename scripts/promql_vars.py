"""Substitute Grafana's variables in a query the way Grafana does before it sends the query to a datasource.

Grafana rewrites `$name`, `${name}`, `${name:format}` and `[[name]]` before a query leaves it, so both the
static lint (promtool, the lezer grammars) and the live verify (Prometheus's HTTP API) must see the same
text Grafana would send. `substitute` also reports where each variable landed in the result, so a check can
ask "was this range `$__rate_interval`?" exactly instead of guessing from the value.

Interval rules (grafana/grafana, pkg/tsdb/prometheus and PR #84063):
- `$__interval` = time range / max data points, never below the datasource's scrape interval (`timeInterval`);
- `$__rate_interval` = max(`$__interval` + scrape interval, 4 x scrape interval).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# $name | ${name} | ${name:format} | [[name]] | [[name:format]]
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[\w-]+)?\}|\[\[(\w+)(?::[\w-]+)?\]\]")


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


def format_duration(seconds: float) -> str:
    """A Prometheus duration: whole seconds as `20s`, anything finer in milliseconds."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def time_variables(range_s: float, scrape_s: float, max_data_points: int = 1000) -> dict[str, str]:
    """Values of Grafana's interval/range variables for a panel over `range_s` on a `scrape_s` datasource."""
    interval_s = max(scrape_s, range_s / max_data_points)
    interval_s = round(interval_s) if interval_s >= 1 else interval_s
    rate_s = max(interval_s + scrape_s, 4 * scrape_s)
    return {
        "__interval": format_duration(interval_s),
        "__interval_ms": str(round(interval_s * 1000)),
        "__rate_interval": format_duration(rate_s),
        "__rate_interval_ms": str(round(rate_s * 1000)),
        "__range": format_duration(range_s),
        "__range_s": str(round(range_s)),
        "__range_ms": str(round(range_s * 1000)),
        "__auto": format_duration(interval_s),
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
