"""Grafana alert notifications into the chat: `POST /api/alerts/grafana`.

Grafana's webhook contact point posts its default JSON payload (version "1": receiver, status, alerts[]
with labels/annotations/startsAt/endsAt/generatorURL/panelURL/dashboardURL, groupLabels, commonLabels,
commonAnnotations, externalURL, ...). Each alert becomes one system event on the chat:
`{"type": "alert", "status", "summary", "url", "ts"}` with `ts` in unix ms like chat messages.

Security: the contact point sends `Authorization: Bearer <ALERT_WEBHOOK_TOKEN>` (its
`authorization_credentials` setting); the token is compared in constant time. Without a configured token
the endpoint refuses every request with 503, so an unconfigured deployment is never an open door into the
chat. Bodies are size-limited, must be JSON and must match the payload format; every outcome is counted
in `chat_alert_webhooks_total{result}`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.state import chat_state

MAX_BODY_BYTES = 256 * 1024  # Grafana's payload for MAX_ALERTS alerts with long annotations fits easily
MAX_ALERTS = 100  # more per notification: set `maxAlerts` on the contact point (Grafana truncates)
MAX_SUMMARY_CHARS = 500  # a chat line, not a runbook
ALERT_STATUSES = ("firing", "resolved")
URL_FIELDS = ("panelURL", "dashboardURL", "generatorURL")  # most specific link first

alert_webhook_bp = Blueprint("alert_webhook", __name__)


class PayloadError(ValueError):
    """The body is not a Grafana webhook notification; the message names the offending field."""


@dataclass(frozen=True)
class AlertEvent:
    """One alert as the chat shows it."""

    status: str
    summary: str
    url: str
    ts: int

    def as_event(self) -> dict[str, object]:
        return {
            "type": "alert",
            "status": self.status,
            "summary": self.summary,
            "url": self.url,
            "ts": self.ts,
        }


def parse_notification(payload: Any) -> list[AlertEvent]:
    """Validate Grafana's webhook payload (version "1") and turn each alert into an AlertEvent."""
    body = _mapping(payload, "body")
    _string(body, "receiver", "body")
    _choice(body, "status", "body")
    if body.get("version") != "1":
        raise PayloadError(
            'body.version must be "1" (Grafana\'s default webhook payload, no custom payload template)'
        )
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        if key in body:
            _string_map(body[key], f"body.{key}")
    if "externalURL" in body:
        _string(body, "externalURL", "body")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("body.alerts must be a non-empty list")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(f"body.alerts has {len(alerts)} alerts, at most {MAX_ALERTS} (set maxAlerts)")
    return [_parse_alert(alert, f"body.alerts[{index}]") for index, alert in enumerate(alerts)]


def _parse_alert(raw: Any, where: str) -> AlertEvent:
    alert = _mapping(raw, where)
    status = _choice(alert, "status", where)
    labels = _string_map(alert.get("labels"), f"{where}.labels")
    annotations = _string_map(alert.get("annotations"), f"{where}.annotations")
    summary = annotations.get("summary") or labels.get("alertname") or "(alert without summary)"
    # The moment of this state change: a resolved alert ended at endsAt, a firing one started at startsAt
    # (a firing alert's endsAt is Go's zero time or a future estimate).
    ts_field = "endsAt" if status == "resolved" and "endsAt" in alert else "startsAt"
    ts = _timestamp_ms(alert, ts_field, where)
    return AlertEvent(status=status, summary=summary[:MAX_SUMMARY_CHARS], url=_link(alert, where), ts=ts)


def _timestamp_ms(alert: Mapping[str, Any], key: str, where: str) -> int:
    """An RFC 3339 timestamp with offset (Go's time.Time JSON) as unix milliseconds."""
    raw = _string(alert, key, where)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"{where}.{key} must be an RFC 3339 timestamp, got {raw[:40]!r}") from None
    if moment.tzinfo is None:
        raise PayloadError(f"{where}.{key} must carry a UTC offset, got {raw[:40]!r}")
    return int(moment.timestamp() * 1000)


def _link(alert: Mapping[str, Any], where: str) -> str:
    """The most specific http(s) link of the alert, or "" (never a javascript: or other scheme)."""
    for key in URL_FIELDS:
        if key not in alert:
            continue
        value = _string(alert, key, where)
        if value and not value.lower().startswith(("http://", "https://")):
            raise PayloadError(f"{where}.{key} must be an http(s) URL")
        if value:
            return value
    return ""


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be a JSON object")
    return value


def _string(container: Mapping[str, Any], key: str, where: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not _encodable(value):
        raise PayloadError(f"{where}.{key} must be a string (of valid Unicode)")
    return value


def _encodable(text: str) -> bool:
    """False for a lone surrogate ("\\ud800" is valid JSON): it could never be sent as UTF-8 to the chat."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _choice(container: Mapping[str, Any], key: str, where: str) -> str:
    value = _string(container, key, where)
    if value not in ALERT_STATUSES:
        raise PayloadError(f"{where}.{key} must be one of {', '.join(ALERT_STATUSES)}, got {value[:40]!r}")
    return value


def _string_map(value: Any, where: str) -> dict[str, str]:
    mapping = _mapping(value, where)
    if not all(isinstance(item, str) and _encodable(item) for item in mapping.values()):
        raise PayloadError(f"{where} must map names to strings (of valid Unicode)")
    return dict(mapping)


def bearer_token_matches(authorization: str | None, expected: str) -> bool:
    """Constant-time check of an `Authorization: Bearer <token>` header against the expected token."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def _refuse(status: int, result: str, message: str) -> ResponseReturnValue:
    _count(result)
    response = jsonify({"error": message})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="grafana-alerts"'
    return response, status


def _count(result: str) -> None:
    chat_state().metrics.alert_webhooks.labels(result=result).inc()


def _read_body_limited() -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY_BYTES (read at most one byte more)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    data = request.stream.read(MAX_BODY_BYTES + 1)
    return None if len(data) > MAX_BODY_BYTES else data


@alert_webhook_bp.post("/api/alerts/grafana")
def receive_grafana_alerts() -> ResponseReturnValue:
    state = chat_state()
    expected = state.config.alert_webhook_token
    if not expected:
        # Counted as unauthorized: no request can be authenticated until a token is configured.
        return _refuse(
            503, "unauthorized", "alert webhook disabled: set ALERT_WEBHOOK_TOKEN on the app and in Grafana"
        )
    if not bearer_token_matches(request.headers.get("Authorization"), expected):
        return _refuse(401, "unauthorized", "missing or wrong bearer token")
    if request.mimetype != "application/json":
        return _refuse(415, "invalid", "Content-Type must be application/json")
    body = _read_body_limited()
    if body is None:
        return _refuse(413, "invalid", f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        events = parse_notification(_decode_json(body))
    except PayloadError as exc:
        return _refuse(400, "invalid", str(exc))
    delivered = sum(state.hub.broadcast_event(event.as_event()) for event in events)
    _count("accepted")
    return jsonify({"accepted": len(events), "delivered": delivered}), 200


def _decode_json(body: bytes) -> Any:
    """The parsed body; PayloadError for anything json.loads cannot take, however it fails.

    Beyond malformed JSON that is: nesting deeper than the interpreter's recursion limit (RecursionError),
    an integer longer than Python's 4300-digit conversion limit (ValueError), and bytes that are not UTF-8.
    """
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    except ValueError as exc:  # int() of a huge literal: "Exceeds the limit (4300 digits)..."
        raise PayloadError(f"body has a number that cannot be read: {str(exc)[:80]}") from None
