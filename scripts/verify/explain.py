"""Why a PromQL query returned no data: the selector that matched nothing, its culprit, what exists instead.

The selectors come from Prometheus's own grammar (scripts/rendered/parser.py); the series, label values and
metric names from the live Prometheus's metadata APIs, over the query's window. Every explanation costs
at most MAX_REQUESTS requests, so a dashboard full of broken panels stays quick to verify.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from scripts.rendered.parser import Query, parse_queries
from scripts.verify.stack import VerifyError, prometheus_api

MAX_REQUESTS = 8
SHOWN_VALUES = 6  # label values listed after the matcher responsible, the closest ones first
CLOSE_NAMES = 3  # metric names suggested for one that has no series
NAME_LABEL = "__name__"
# One label matcher of a selector's braces: `name op "value"` (any of PromQL's three quotes).
MATCHER = re.compile(
    r"""\s*(?P<label>[A-Za-z_]\w*)\s*(?P<op>=~|!~|!=|=)\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*,?"""
)


@dataclass(frozen=True)
class Matcher:
    label: str
    value: str  # the string between its quotes (for a regex matcher: the regex)
    text: str  # as written in the query, e.g. result="evicted"


@dataclass(frozen=True)
class Selector:
    text: str  # as written in the query, e.g. chat_connections_total{job=~"chat", result="evicted"}
    metric: str | None  # None when no matcher names the metric
    name: str  # the part naming the metric: `x` of x{...}, or its {__name__=...} matchers
    matchers: tuple[Matcher, ...]  # every other matcher, in order

    def bare(self) -> str:
        """Only the metric's name: every series of the metric."""
        return _selector(self.name, [])

    def without(self, dropped: Matcher) -> str:
        return _selector(self.name, [m.text for m in self.matchers if m is not dropped])


class _OutOfRequests(Exception):
    """The explanation used up its MAX_REQUESTS: the failure is reported without one."""


@dataclass
class _Metadata:
    """Prometheus's metadata APIs over the query's window, within the request budget."""

    url: str
    window: tuple[float, float]
    left: int = MAX_REQUESTS

    def _get(self, path: str, params: dict[str, str]) -> Any:
        if self.left == 0:
            raise _OutOfRequests
        self.left -= 1
        return prometheus_api(self.url, path, {**params, "start": self.window[0], "end": self.window[1]})

    def has_series(self, selector: str) -> bool:
        return bool(self._get("/api/v1/series", {"match[]": selector}))

    def label_values(self, label: str, selector: str | None = None) -> list[str]:
        params = {"match[]": selector} if selector else {}
        return [str(v) for v in self._get(f"/api/v1/label/{label}/values", params)]


def _selector(name: str, matchers: list[str]) -> str:
    if name.startswith("{"):  # the metric is named by {__name__=...} matchers: merge the braces
        matchers = [name[1:-1], *matchers]
        name = ""
    return f"{name}{{{', '.join(matchers)}}}" if matchers else name


def parse_selector(text: str, metric: str | None) -> Selector:
    """Split a vector selector's text (its span from the grammar) into the metric's part and its matchers."""
    brace = text.find("{")
    head, body = (text, "") if brace < 0 else (text[:brace].strip(), text[brace + 1 : text.rindex("}")])
    named: list[str] = []
    matchers: list[Matcher] = []
    for found in MATCHER.finditer(body):
        written = found.group(0).strip().rstrip(",").strip()
        if found["label"] == NAME_LABEL:
            named.append(written)  # part of the metric's name: never dropped
        else:
            matchers.append(Matcher(found["label"], found["value"][1:-1], written))
    name = head or _selector("", named)
    return Selector(text, metric, name, tuple(matchers))


def query_selectors(expr: str) -> list[Selector]:
    """The distinct vector selectors of a PromQL query, in order."""
    [facts] = parse_queries([Query("promql", expr)])
    texts = dict.fromkeys((expr[s["from"] : s["to"]], s["metric"]) for s in facts["selectors"])
    return [parse_selector(text, metric) for text, metric in texts]


def _closest_first(wrong: str, values: list[str]) -> str:
    """`values`, the ones closest to the wrong one first, shortened to SHOWN_VALUES."""
    close = difflib.get_close_matches(wrong, values, n=SHOWN_VALUES, cutoff=0.5)
    ordered = close + sorted(v for v in values if v not in close)
    return ", ".join(ordered[:SHOWN_VALUES]) + (", ..." if len(ordered) > SHOWN_VALUES else "")


def _why_unmatched(api: _Metadata, selector: Selector) -> str:
    """Which part of an empty selector is wrong: its metric name, or the one matcher that excludes all."""
    if selector.metric is not None and not api.has_series(selector.bare()):
        names = difflib.get_close_matches(selector.metric, api.label_values(NAME_LABEL), n=CLOSE_NAMES)
        closest = f"closest: {', '.join(names)}" if names else "no metric name is close to it"
        return f"no series of metric {selector.metric} at all ({closest})"
    # Without a metric name, dropping the only matcher would leave `{}`, which Prometheus refuses.
    droppable = selector.matchers if selector.name or len(selector.matchers) > 1 else ()
    responsible = next((m for m in droppable if api.has_series(selector.without(m))), None)
    if responsible is None:
        return "no single matcher is responsible: they match nothing together"
    values = api.label_values(responsible.label, selector.bare() or None)
    if values:
        has = f"{responsible.label} has: {_closest_first(responsible.value, values)}"
    else:
        has = f"{selector.metric or 'the metric'} has no label {responsible.label}"
    return f"{responsible.text} is the matcher that matches nothing ({has})"


def explain_no_data(prometheus_url: str, expr: str, window: tuple[float, float]) -> str:
    """The failure message for a query without data: its first selector without series, and why."""
    api = _Metadata(prometheus_url, window)
    try:
        empty = next((s for s in query_selectors(expr) if not api.has_series(s.text)), None)
        if empty is None:
            return f"no data for: {expr} (every selector matches series: an operation or filter drops them)"
        why = _why_unmatched(api, empty)
    except _OutOfRequests:
        return f"no data for: {expr} (not narrowed down within {MAX_REQUESTS} requests)"
    except VerifyError as exc:  # a metadata API refused a selector: the failure stands, unexplained
        return f"no data for: {expr} (cannot explain: {exc})"
    return f"no data: {empty.text} matched no series; {why}"
