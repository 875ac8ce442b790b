"""The v1 push payload: stream labels, lines cut to Loki's size limit, and batches grouped by stream.

Kept from python-logging-loki: the payload shape of `LokiEmitterV1.build_payload` and the label-name
sanitising of `LokiEmitter.format_label`, completed with the rule it misses (no leading digit, not empty).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from logging_loki.emitter import LokiEmitterV1

from app.config import ShipperConfig
from app.logformat import dumps_line, safe_repr
from app.logship.settings import LogConfigError

STREAM_LABEL_NAMES = ("app", "env", "level")
APP_LABEL_VALUE = "chat"
MAX_LINE_BYTES = 256 * 1024  # Loki's default max_line_size: longer lines are discarded, not stored
MAX_LABEL_VALUE_BYTES = 2048  # Loki rejects the whole push (400) over this
TRUNCATION_MARK = "...[truncated]"  # ASCII: its size in the encoded line is exactly its length
_UNTOUCHABLE_FIELDS = ("ts", "level", "truncated", "original_bytes")  # kept whole when a line is truncated
_LIBRARY_EMITTER = LokiEmitterV1(url="")  # only for its format_label(); it never sends anything


def sanitize_label_name(name: str) -> str:
    """A valid Loki label name ([a-zA-Z_][a-zA-Z0-9_]*): the library's sanitising plus a leading-digit fix."""
    cleaned = _LIBRARY_EMITTER.format_label(name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def stream_labels(env: str) -> dict[str, dict[str, str]]:
    """The label set of each level's stream: {level value: {"app": "chat", "env": env, "level": value}}."""
    if not env or len(env.encode()) > MAX_LABEL_VALUE_BYTES:
        raise LogConfigError(f"APP_ENV must be 1..{MAX_LABEL_VALUE_BYTES} bytes (got {len(env.encode())})")
    names = [sanitize_label_name(name) for name in STREAM_LABEL_NAMES]
    levels = ("debug", "info", "warning", "error", "critical")
    return {level: dict(zip(names, (APP_LABEL_VALUE, env, level), strict=True)) for level in levels}


def truncate_line(line: str, max_bytes: int = MAX_LINE_BYTES) -> str:
    """`line` if it fits in `max_bytes` (UTF-8), else a valid JSON line cut to fit and marked truncated.

    The biggest fields are cut first. Cutting k characters off a string value shortens the encoded line by at
    least k bytes, so one cut sized from the measured excess is enough; other values are first made repr text.
    """
    size = utf8_size(line)
    if size <= max_bytes:
        return line
    try:
        fields = json.loads(line)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        fields = {"msg": line}
    fields.update(truncated=True, original_bytes=size)
    for _ in range(2 * len(fields)):  # each field is converted to text at most once, then cut at most once
        text = dumps_line(fields)
        excess = utf8_size(text) - max_bytes
        if excess <= 0:
            return text
        key = max(
            (k for k in fields if k not in _UNTOUCHABLE_FIELDS and fields[k] != TRUNCATION_MARK),
            key=lambda k: len(dumps_line({"v": fields[k]})),
            default=None,
        )
        if key is None:
            break
        if isinstance(fields[key], str):
            fields[key] = (
                fields[key][: max(len(fields[key]) - excess - len(TRUNCATION_MARK), 0)] + TRUNCATION_MARK
            )
        else:
            fields[key] = safe_repr(fields[key])  # cut as text on a later pass if still too big
    return dumps_line({k: fields[k] for k in _UNTOUCHABLE_FIELDS if k in fields})


def utf8_size(text: str) -> int:
    """Size of `text` in UTF-8; free for the pure-ASCII lines JsonLineFormatter makes (isascii is O(1))."""
    return len(text) if text.isascii() else len(text.encode())


@dataclass
class Batch:
    """Lines collected for one push, grouped by stream (level)."""

    values_by_level: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    lines: int = 0
    size_bytes: int = 0

    def add(self, level: str, time_ns: int, line: str) -> None:
        line = truncate_line(line)
        self.values_by_level.setdefault(level, []).append((time_ns, line))
        self.lines += 1
        self.size_bytes += utf8_size(line)

    def is_full(self, config: ShipperConfig) -> bool:
        return self.lines >= config.batch_max_lines or self.size_bytes >= config.batch_max_bytes

    def push_body(self, labels_by_level: Mapping[str, dict[str, str]]) -> bytes:
        """The v1 push body; values sorted by time within each stream (Loki < 2.4 rejects disorder)."""
        streams = [
            {
                "stream": labels_by_level.get(level) or {**labels_by_level["info"], "level": level},
                "values": [[str(ns), line] for ns, line in sorted(values, key=lambda value: value[0])],
            }
            for level, values in self.values_by_level.items()
        ]
        return json.dumps({"streams": streams}, separators=(",", ":")).encode()
