"""Parse many PromQL and LogQL queries in ONE node process with the official lezer grammars.

grammars/parse.mjs (beside this file) loads Loki's `@grafana/lezer-logql` and Prometheus's
`@prometheus-io/lezer-promql` (pinned in grammars/package-lock.json; `make install` runs `npm ci` there) and
returns, per query, the syntax error positions and the facts the lint needs (selectors, function calls,
groupings). Node reports offsets in UTF-16 code units; they are converted to Python string indices here.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common.paths import REPO_ROOT
from scripts.common.tools import ToolMissingError, require_tool

PARSER_DIR = Path(__file__).resolve().parent / "grammars"
GRAMMARS = PARSER_DIR.relative_to(REPO_ROOT)
PARSER_SCRIPT = PARSER_DIR / "parse.mjs"


@dataclass(frozen=True)
class Query:
    lang: str  # "promql" or "logql"
    expr: str


def _utf16_to_index(text: str) -> list[int]:
    """For each UTF-16 offset into `text`, the Python index (only needed for non-ASCII text)."""
    mapping = []
    for index, char in enumerate(text):
        mapping.extend([index] * (2 if ord(char) > 0xFFFF else 1))
    mapping.append(len(text))
    return mapping


def _convert_offsets(value: Any, mapping: list[int]) -> Any:
    """Rewrite every `from`/`to`/`range`/`args` offset in a facts object through `mapping`."""
    if isinstance(value, list):
        return [_convert_offsets(item, mapping) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {}
    for key, item in value.items():
        if key in ("from", "to"):
            converted[key] = mapping[min(item, len(mapping) - 1)]
        elif key == "range" and item is not None:
            converted[key] = [mapping[item[0]], mapping[item[1]]]
        elif key == "args":
            converted[key] = [[mapping[a], mapping[b]] for a, b in item]
        else:
            converted[key] = _convert_offsets(item, mapping)
    return converted


def parse_queries(queries: list[Query], timeout_s: float = 120.0) -> list[dict[str, Any]]:
    """Facts for every query, in order (see parse.mjs for the shape)."""
    if not queries:
        return []
    node = require_tool("node")
    if not (PARSER_DIR / "node_modules" / "@grafana" / "lezer-logql").is_dir():
        raise ToolMissingError(f"the query grammars are not installed: run `npm ci --prefix {GRAMMARS}`")
    payload = json.dumps([{"lang": q.lang, "expr": q.expr} for q in queries])
    completed = subprocess.run(
        [node, str(PARSER_SCRIPT)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=PARSER_DIR,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise ToolMissingError(f"{PARSER_SCRIPT.name} failed: {completed.stderr.strip()[:500]}")
    facts = json.loads(completed.stdout)
    return [
        fact if q.expr.isascii() else _convert_offsets(fact, _utf16_to_index(q.expr))
        for q, fact in zip(queries, facts, strict=True)
    ]
