"""Write the Python module for a built dashboard: dashboards.core calls, ruff-formatted.

What the code omits is what the classes render by default, so every argument written is one the
dashboard really sets. Repeated styles and options become module constants; units, the shared
datasource variables and `selector()`/`rate()` queries are written with our names.
"""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
import textwrap
import tomllib
from collections import Counter
from typing import Any

import attr
from grafanalib import core

from dashboards.core import conventions
from dashboards.core.exact import Raw, exact_json, field_default
from dashboards.core.exact_fields import FieldStyle, Thresholds
from dashboards.core.exact_panels import (
    BarGaugeOptions,
    ExactPanel,
    GaugeOptions,
    Legend,
    ReduceOptions,
    StatOptions,
    TimeSeriesOptions,
    Tooltip,
)
from dashboards.core.layout import Collapsed, Placed, Row
from scripts.common.paths import REPO_ROOT

UNIT_NAMES = {getattr(conventions, n): n for n in dir(conventions) if n.startswith("UNIT_")}
DATASOURCE_NAMES = {"PROMETHEUS": conventions.PROMETHEUS, "LOKI": conventions.LOKI}
# Repeated values of these classes become module constants, named after the class.
HOISTED = {
    FieldStyle: "STYLE",
    Legend: "LEGEND",
    Tooltip: "TOOLTIP",
    ReduceOptions: "REDUCE",
    Thresholds: "THRESHOLDS",
    TimeSeriesOptions: "TIMESERIES_OPTIONS",
    StatOptions: "STAT_OPTIONS",
    GaugeOptions: "GAUGE_OPTIONS",
    BarGaugeOptions: "BARGAUGE_OPTIONS",
}
MIN_HOISTED_CHARS = 40
LINE_LENGTH: int = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]
FORMAT_TIMEOUT_S = 60
KEYWORD_ONLY = (
    Row,
    Collapsed,
    Placed,
    core.GridPos,
)  # written as Row(title=..., panels=[...]) like the hand-written modules
ARGUMENT_ORDER = {Row: ("title", "id", "raw", "height", "widths", "empty", "panels")}
DOCSTRING_WIDTH = 100
MAX_LITERAL_CHARS = 60  # longer strings are split: with indentation they still fit in ruff's line length
SELECTOR = re.compile(
    r'(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\{job=~"\$job", instance=~"\$instance"'
    r'(?P<labels>(?:, [a-zA-Z_][a-zA-Z0-9_]*="[^"\\{}\']*")*)\}'
)
RATE = re.compile(r"rate\((?P<selector>[^\[\]]+)\[\$__rate_interval\]\)")
LABEL = re.compile(r', ([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')


def _key(value: Any) -> tuple[str, str]:
    return type(value).__name__, json.dumps(exact_json(value), sort_keys=True)


def _helper_call(text: str) -> str | None:
    """`selector("m", k="v")` / `rate("m")` for a query made of exactly that."""
    calls = []
    for match in SELECTOR.finditer(text):
        labels = "".join(f", {k}={v!r}" for k, v in LABEL.findall(match["labels"]))
        calls.append((match.start(), match.end(), f"selector({match['metric']!r}{labels})"))
    if not calls:
        return None
    parts, at = [], 0
    for start, end, call in calls:
        prefix = text[at:start]
        if prefix.endswith("rate(") and text[end:].startswith("[$__rate_interval])"):
            prefix, call, end = (
                prefix[: -len("rate(")],
                "rate" + call[len("selector") :],
                end + len("[$__rate_interval])"),
            )
        parts.append(prefix.replace("{", "{{").replace("}", "}}"))
        parts.append("{" + call + "}")
        at = end
    parts.append(text[at:].replace("{", "{{").replace("}", "}}"))
    if len(calls) == 1 and parts[0] == "" and parts[-1] == "":
        return parts[1][1:-1]
    body = "".join(parts).replace("\\", "\\\\").replace('"', '\\"')
    return f'f"{body}"'


def _string(text: str) -> str:
    """A string literal; a long one split after spaces, commas and opening brackets into implicit
    concatenation in parentheses, so no line is too long (a URL, say, is never cut)."""
    literal = json.dumps(text, ensure_ascii=False)
    if len(literal) <= MAX_LITERAL_CHARS:
        return literal
    chunks = [c for c in re.findall(r"[^\s,{(]*[\s,{(]*", text) if c]  # joined: the text itself
    parts: list[str] = []
    for chunk in chunks:
        if parts and len(parts[-1]) + len(chunk) <= MAX_LITERAL_CHARS:
            parts[-1] += chunk
        else:
            parts.append(chunk)
    if len(parts) == 1:
        return literal
    return "(" + " ".join(json.dumps(part, ensure_ascii=False) for part in parts) + ")"


class ModuleWriter:
    """Python source for a value tree; names it uses are collected for the import line."""

    def __init__(self, root: Any) -> None:
        self.names: set[str] = set()
        self.constants: dict[tuple[str, str], str] = {}
        self.definitions: list[str] = []
        self._defining: set[tuple[str, str]] = set()
        self._hoist = self._repeated(root)

    def _repeated(self, root: Any) -> set[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()

        def walk(node: Any) -> None:
            if type(node) in HOISTED:
                key = _key(node)
                counts[key] += 1
                if counts[key] > 1:
                    return
            if attr.has(type(node)):
                for field in attr.fields(type(node)):
                    walk(getattr(node, field.name))
            elif isinstance(node, list | tuple):
                for item in node:
                    walk(item)

        walk(root)
        return {key for key, count in counts.items() if count > 1 and len(key[1]) >= MIN_HOISTED_CHARS}

    def value(self, node: Any, field_name: str = "") -> str:
        if attr.has(type(node)):
            return self._object(node)
        if isinstance(node, dict):
            for name, known in DATASOURCE_NAMES.items():
                if node == known:
                    self.names.add(name)
                    return name
            items = ", ".join(
                f"{json.dumps(k, ensure_ascii=False)}: {self.value(v)}" for k, v in node.items()
            )
            return "{" + items + "}"
        if isinstance(node, list | tuple):
            if field_name == "steps":
                helper = self._steps(node)
                if helper is not None:
                    return helper
            items = ", ".join(self.value(item) for item in node)
            if isinstance(node, tuple):
                return f"({items},)" if len(node) == 1 else f"({items})"
            return f"[{items}]"
        if isinstance(node, str):
            if field_name == "unit" and node in UNIT_NAMES:
                self.names.add(UNIT_NAMES[node])
                return UNIT_NAMES[node]
            if field_name == "expr":
                helper = _helper_call(node)
                if helper is not None:
                    self.names.update(name for name in ("selector", "rate") if f"{name}(" in helper)
                    return helper
            return _string(node)
        return repr(node)

    def _steps(self, steps: list[Any]) -> str | None:
        """`steps("green", (80, "red"))` for a base step at -Infinity and ascending (value, colour) steps."""
        if not steps or not all(isinstance(s, dict) and set(s) == {"color", "value"} for s in steps):
            return None
        if steps[0]["value"] is not None or any(s["value"] is None for s in steps[1:]):
            return None
        self.names.add("steps")
        levels = "".join(f", ({s['value']!r}, {json.dumps(s['color'])})" for s in steps[1:])
        return f"steps({json.dumps(steps[0]['color'])}{levels})"

    def _object(self, node: Any) -> str:
        cls = type(node)
        key = _key(node) if cls in HOISTED else None
        if key in self._hoist and key not in self._defining:
            if key not in self.constants:
                self._defining.add(key)
                base = HOISTED[cls]
                taken = sum(1 for k in self.constants if k[0] == key[0])
                name = base if taken == 0 else f"{base}_{taken + 1}"
                source = self._call(node)
                self.definitions.append(f"{name} = {source}")
                self.constants[key] = name
                self._defining.discard(key)
            return self.constants[key]
        return self._call(node)

    def _call(self, node: Any) -> str:
        cls = type(node)
        name = "GridPos" if cls is core.GridPos else cls.__name__
        self.names.add(name)
        if isinstance(node, Raw):
            return f"Raw({self.value(node.json)})"
        args, positional = [], []
        for field in attr.fields(cls):
            if not field.init or field.name == "source":
                continue
            item = getattr(node, field.name)
            if self._omitted(node, field, item):
                continue
            text = self.value(item, field.name)
            if field.name == "raw":
                args.append("# not modelled by dashboards.core: carried as it is\n" + f"raw={text}")
            elif field.default is attr.NOTHING and not field.kw_only and cls not in KEYWORD_ONLY:
                positional.append(text)
            else:
                args.append(f"{field.name}={text}")
        order = ARGUMENT_ORDER.get(cls, ())
        args.sort(
            key=lambda arg: next((i for i, n in enumerate(order) if arg.startswith(f"{n}=")), len(order))
        )
        return f"{name}(" + ", ".join(positional + args) + ")"

    def _omitted(self, node: Any, field: Any, item: Any) -> bool:
        if field.default is attr.NOTHING and not field.kw_only:
            return False
        if item == field_default(field):
            return True
        return isinstance(node, ExactPanel) and field.name == "gridPos" and item is None


def implicit_ref_ids(panel: Any) -> Any:
    """Queries whose refIds are A, B, C... in order: grid() gives them those, so the code need not."""
    targets = getattr(panel, "targets", None)
    if targets and [t.refId for t in targets] == list(string.ascii_uppercase[: len(targets)]):
        return attr.evolve(panel, targets=[attr.evolve(t, refId="") for t in targets])
    return panel


def module_source(dashboard: Any, items: list[Any] | None, docstring: str) -> str:
    """The module text: docstring, import, constants, `dashboard = ForeignDashboard(...)`."""
    if items is not None:
        items = [_without_ref_ids(item) for item in items]
        root = attr.evolve(dashboard, panels=[])
    else:
        root = dashboard
    writer = ModuleWriter((root, items))
    body = writer.value(root)
    if items is not None:
        writer.names.add("grid")
        grid_call = "grid(" + ", ".join(writer.value(item) for item in items) + ")"
        body = body[:-1] + (", " if body[-2] != "(" else "") + f"panels={grid_call})"
    names = ", ".join(sorted(writer.names, key=lambda n: (not n.isupper(), n)))
    constants = "\n\n".join(writer.definitions)
    docstring = "\n".join(
        textwrap.fill(line, DOCSTRING_WIDTH, break_on_hyphens=False) for line in docstring.splitlines()
    )
    docstring = docstring.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    text = (
        f'"""{docstring}"""\n\nfrom dashboards.core import ({names},)\n\n{constants}\n\ndashboard = {body}\n'
    )
    formatted = ruff_format(text)
    bare = _unparenthesised(formatted)
    return formatted if bare == formatted else ruff_format(bare)


# A string literal alone in parentheses: what ruff leaves when it joins a split string that fits after all.
PARENTHESISED_STRING = re.compile(r'\(\s*("(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')\s*\)')


def _unparenthesised(text: str) -> str:
    """Drop parentheses around one string literal (not a call's: an argument or value in parentheses),
    where the line still fits."""
    parts, at = [], 0
    for match in PARENTHESISED_STRING.finditer(text):
        before = text[: match.start()].rstrip()
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        joined = match.start() - line_start + len(match[1]) + (line_end - match.end())
        if before and before[-1] in "=(,[:" and joined <= LINE_LENGTH:
            parts += [text[at : match.start()], match[1]]
            at = match.end()
    return "".join([*parts, text[at:]])


def _without_ref_ids(item: Any) -> Any:
    if isinstance(item, Row | Placed):
        return attr.evolve(item, panels=[implicit_ref_ids(p) for p in item.panels])
    if isinstance(item, Collapsed):
        return attr.evolve(item, rows=[_without_ref_ids(r) for r in item.rows])
    return item


class FormatError(Exception):
    """ruff could not format the generated code (it would not be valid Python)."""


def ruff_format(text: str) -> str:
    """`python -m ruff format -` over the text, with the repository's settings (pyproject.toml)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", "dashboards/imported.py", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
            timeout=FORMAT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise FormatError(f"ruff format took over {FORMAT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise FormatError((done.stderr.strip().splitlines() or ["ruff format failed"])[0])
    return done.stdout
