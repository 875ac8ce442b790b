"""Grafana's rules for uids, timestamps and durations (grafana/grafana: pkg/util/shortid_generator.go,
pkg/services/ngalert/models/alert_rule.go).

Slugs come from scripts/rendered/slug.py, the one port of Grafana's pkg/infra/slugify.
"""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime

from .errors import plain

_UID_CHARS = re.compile(r"^[a-zA-Z0-9\-_]*$")
_UID_MAX = 40
_PROM_UNITS = (
    ("y", 365 * 86400_000),
    ("w", 7 * 86400_000),
    ("d", 86400_000),
    ("h", 3600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)
_PROM_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)


def uid_error(uid: str) -> str | None:
    """The util.ValidateUID complaint for `uid`, or None when it is acceptable."""
    if not _UID_CHARS.match(uid):
        return "uid contains illegal characters"
    if len(uid) > _UID_MAX:
        return "uid too long, max 40 characters"
    return None


def check_uid(uid: str) -> None:
    """Dashboards and folders answer a bad uid with a plain 400 (no status, no traceID)."""
    problem = uid_error(uid)
    if problem:
        raise plain(400, problem)


def generate_uid() -> str:
    """Lowercase, starts with a letter, 14 chars, like the v10-v12 examples (`fef30w4jaxla8b`)."""
    return random.choice(string.ascii_lowercase) + "".join(
        random.choices(string.ascii_lowercase + string.digits, k=13)
    )


def now_rfc3339() -> str:
    """Go time.Time JSON for 'now' (RFC 3339 with offset)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def go_duration(seconds: int) -> str:
    """Go time.Duration.String() for whole seconds: 0s, 5s, 1m5s, 1h0m0s."""
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def prom_duration_ms(text: str) -> int:
    """Parse a Prometheus duration ('5m', '1h30m', '0s'); 400 'bad request data' like JSON decoding."""
    match = _PROM_DURATION.match(text) if isinstance(text, str) and text else None
    if not match:
        raise plain(400, "bad request data")
    return sum(int(value or 0) * unit for value, (_, unit) in zip(match.groups(), _PROM_UNITS, strict=True))


def prom_duration_text(ms: int) -> str:
    """Prometheus model.Duration.String(): '1m' for 60s, '1h30m', '0s'."""
    if ms == 0:
        return "0s"
    parts: list[str] = []
    for name, unit in _PROM_UNITS:
        count, ms = divmod(ms, unit)
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts)


def normalise_duration(value: object) -> str:
    """Rule `for`/`keep_firing_for` round-trip through model.Duration; non-strings fail JSON decoding."""
    if not isinstance(value, str):
        raise plain(400, "bad request data")
    return prom_duration_text(prom_duration_ms(value))
