"""One JSON object per log line: the format of the chat service's stdout and of every line shipped to Loki.

    {"ts": "2026-01-02T03:04:05.678Z", "level": "info", "logger": "chat.ws", "msg": "joined", "event": "join"}

`ts` is RFC 3339 UTC with milliseconds, `level` is lower-case (the same value as the Loki `level` label),
then the structured extras passed with `extra={...}` (standard LogRecord attributes are skipped), then
`exc` / `stack` when the record carries an exception or stack. Formatting never raises: values that JSON
cannot encode are written as their repr(), and a message whose %-args do not match is kept with both parts.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

# Every attribute a plain LogRecord has (plus the ones logging adds while formatting): anything else on a
# record came from `extra=` and belongs in the line.
_STANDARD_RECORD_ATTRS = frozenset(logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",  # added in Python 3.12
}
# An extra named like a core field ("level", "ts") is kept under this prefix.
EXTRA_COLLISION_PREFIX = "extra_"


def rfc3339_ms(created: float) -> str:
    """`created` (epoch seconds) as RFC 3339 UTC with millisecond precision, e.g. 2026-01-02T03:04:05.678Z."""
    seconds = int(created)
    return f"{_utc_second(seconds)}.{int((created - seconds) * 1000):03d}Z"


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    """Cached: records come in bursts within one second, and strftime is a large part of a line's cost."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def record_message(record: logging.LogRecord) -> str:
    """record.getMessage(), but a %-format mismatch keeps the template and args instead of raising."""
    try:
        return record.getMessage()
    except Exception as exc:  # a logging call must never crash the caller or lose the line
        return f"{record.msg!r} % {record.args!r} (message formatting failed: {exc!r})"


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": rfc3339_ms(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record_message(record),
        }
        for key, value in record.__dict__.items():  # what `extra=` put on the record, in insertion order
            if key not in _STANDARD_RECORD_ATTRS:
                fields[EXTRA_COLLISION_PREFIX + key if key in fields else key] = value
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["exc"] = record.exc_text
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        return dumps_line(fields)


def dumps_line(fields: dict[str, Any]) -> str:
    """JSON-encode `fields` on one line; values JSON cannot encode (objects, NaN, cycles) become repr()s.

    ensure_ascii (the default) keeps every line pure ASCII, so len(line) is its size in bytes and the
    shipper's byte limits cost nothing to check. allow_nan=False: NaN is not JSON and breaks LogQL's `json`.
    """
    try:
        return "".join(_encode_chunks(fields, 0))
    except (ValueError, TypeError, RecursionError):  # NaN/inf, a cycle, or a non-str dict key somewhere
        plain = (str, int, bool, type(None))
        return json.dumps({key: v if isinstance(v, plain) else safe_repr(v) for key, v in fields.items()})


def safe_repr(value: object) -> str:
    """repr(value), or a placeholder naming the type when repr() itself fails."""
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


# One encoder for every line, built once: JSONEncoder.encode() builds a new C encoder on each call (~1 µs of
# a line's cost in the caller). No circular check (markers None): a cycle ends in RecursionError, which
# dumps_line's fallback handles like any value JSON cannot take.
_ENCODER = json.JSONEncoder(default=safe_repr, allow_nan=False)
_encode_chunks = (
    json.encoder.c_make_encoder(
        None, safe_repr, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, False
    )
    if json.encoder.c_make_encoder is not None
    else lambda fields, _level: _ENCODER.iterencode(fields, _one_shot=True)
)
