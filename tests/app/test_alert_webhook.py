"""POST /api/alerts/grafana against a real app process, with a real websocket client in the chat.

The payloads follow Grafana's webhook notification format (the documented example body, version "1").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from app.alert_webhook import (
    MAX_ALERTS,
    MAX_BODY_BYTES,
    PayloadError,
    bearer_token_matches,
    parse_notification,
)
from scripts.common.procs import running_app
from tests.support.chat_client import ChatClient
from tests.support.grafana_alerts import (
    FIRING_AT,
    PANEL_URL,
    RESOLVED_AT,
    TOKEN,
    grafana_alert,
    grafana_notification,
    post_alerts,
)
from tests.support.metrics import metric, scrape


def alert_results(base_url: str) -> dict[str, float]:
    """chat_alert_webhooks_total by result, from one real scrape."""
    samples = scrape(base_url)
    return {
        result: metric(samples, "chat_alert_webhooks_total", result=result)
        for result in ("accepted", "unauthorized", "invalid")
    }


def next_alert(client: ChatClient) -> dict[str, Any]:
    return client.recv_until(lambda event: event["type"] == "alert", timeout_s=10)


def _ms(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339).timestamp() * 1000)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with running_app({"ALERT_WEBHOOK_TOKEN": TOKEN}) as base_url:
        yield base_url


@pytest.fixture
def chat_client(app_url: str, connect: Callable[..., ChatClient]) -> ChatClient:
    client = connect(app_url)
    client.join(f"watcher{time.monotonic_ns() % 100000}")
    return client


# --- the format, without a server -----------------------------------------------------------------------


def test_parse_turns_each_alert_into_a_chat_event() -> None:
    events = parse_notification(
        grafana_notification(grafana_alert("broadcast slow"), grafana_alert("queue full", status="resolved"))
    )
    assert [e.as_event() for e in events] == [
        {"type": "alert", "status": "firing", "summary": "broadcast slow", "url": PANEL_URL,
         "ts": _ms(FIRING_AT)},
        {"type": "alert", "status": "resolved", "summary": "queue full", "url": PANEL_URL,
         "ts": _ms(RESOLVED_AT)},
    ]  # fmt: skip


def test_parse_falls_back_to_alertname_and_the_dashboard_link() -> None:
    alert = grafana_alert("", panelURL="", annotations={})
    (event,) = parse_notification(grafana_notification(alert))
    assert (event.summary, event.url) == (
        "ChatBroadcastSlow",
        "http://localhost:3000/d/chat-overview?orgId=1",
    )


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ([], "body must be a JSON object"),
        (grafana_notification(grafana_alert("x"), version="2"), "body.version"),
        (grafana_notification(grafana_alert("x"), status="pending"), "body.status"),
        (grafana_notification(), "body.alerts must be a non-empty list"),
        (grafana_notification(grafana_alert("x", status="ok")), "body.alerts[0].status"),
        (grafana_notification(grafana_alert("x", labels=["a"])), "body.alerts[0].labels"),
        (grafana_notification(grafana_alert("x", annotations={"summary": 3})), "body.alerts[0].annotations"),
        (grafana_notification(grafana_alert("x", startsAt="yesterday")), "body.alerts[0].startsAt"),
        (grafana_notification(grafana_alert("x", panelURL="javascript:alert(1)")), "panelURL"),
        (grafana_notification(grafana_alert("x"), commonLabels={"a": 1}), "body.commonLabels"),
        (grafana_notification(*[grafana_alert("x")] * (MAX_ALERTS + 1)), "set maxAlerts"),
    ],
)
def test_parse_rejects_what_grafana_never_sends(body: Any, complaint: str) -> None:
    with pytest.raises(PayloadError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        parse_notification(body)


def test_bearer_token_check() -> None:
    assert bearer_token_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_token_matches(f"bearer {TOKEN}", TOKEN)
    assert not bearer_token_matches(f"Basic {TOKEN}", TOKEN)
    assert not bearer_token_matches(f"Bearer {TOKEN}x", TOKEN)
    assert not bearer_token_matches(None, TOKEN)


# --- the endpoint, in a real app process ------------------------------------------------------------------


def test_accepted_alerts_reach_every_joined_chat_client(
    app_url: str, chat_client: ChatClient, connect: Callable[..., ChatClient]
) -> None:
    second = connect(app_url)
    second.join("second-watcher")
    before = alert_results(app_url)
    body = grafana_notification(grafana_alert("Broadcasts are slow"), grafana_alert("Queue is full"))
    response = post_alerts(app_url, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "delivered": 4}
    for client in (chat_client, second):
        first, other = next_alert(client), next_alert(client)
        assert first == {"type": "alert", "status": "firing", "summary": "Broadcasts are slow",
                         "url": PANEL_URL, "ts": _ms(FIRING_AT)}  # fmt: skip
        assert other["summary"] == "Queue is full"
    assert alert_results(app_url)["accepted"] == before["accepted"] + 1


def test_unauthenticated_posts_are_refused_and_counted(app_url: str, chat_client: ChatClient) -> None:
    before = alert_results(app_url)
    body = grafana_notification(grafana_alert("forged"))
    missing = post_alerts(app_url, body, token=None)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert post_alerts(app_url, body, token=TOKEN + "-wrong").status_code == 401
    basic = post_alerts(app_url, body, token=None, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert alert_results(app_url)["unauthorized"] == before["unauthorized"] + 3
    # Nothing reached the chat: the next alert frame is the one from this authenticated post.
    assert post_alerts(app_url, grafana_notification(grafana_alert("genuine"))).status_code == 200
    assert next_alert(chat_client)["summary"] == "genuine"


def test_invalid_posts_are_refused_with_the_reason_and_counted(app_url: str, chat_client: ChatClient) -> None:
    before = alert_results(app_url)
    good = grafana_notification(grafana_alert("x"))
    as_text = post_alerts(app_url, json.dumps(good), headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    not_json = post_alerts(app_url, b"{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    wrong_shape = post_alerts(app_url, grafana_notification(grafana_alert("x", status="exploded")))
    assert wrong_shape.status_code == 400
    assert "body.alerts[0].status" in wrong_shape.json()["error"]
    huge = grafana_notification(grafana_alert("x" * (MAX_BODY_BYTES + 1)))
    assert post_alerts(app_url, huge).status_code == 413
    assert alert_results(app_url)["invalid"] == before["invalid"] + 4
    assert post_alerts(app_url, grafana_notification(grafana_alert("after the junk"))).status_code == 200
    assert next_alert(chat_client)["summary"] == "after the junk"


def test_without_a_configured_token_every_post_is_refused_with_503() -> None:
    with running_app({"ALERT_WEBHOOK_TOKEN": ""}) as base_url:
        response = post_alerts(base_url, grafana_notification(grafana_alert("x")))
        assert response.status_code == 503
        assert "ALERT_WEBHOOK_TOKEN" in response.json()["error"]
        assert post_alerts(base_url, b"", token="").status_code == 503


def _with_alert(**changes: Any) -> dict[str, Any]:
    notification = grafana_notification(grafana_alert("x"))
    notification["alerts"][0].update(changes)
    return notification


HOSTILE_BODIES = {
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 30_000 + b"1" + b"}" * 30_000,
    "a 5000-digit number": json.dumps(grafana_notification(grafana_alert("x")))[:-1].encode()
    + b', "n": '
    + b"9" * 5000
    + b"}",
    "a 5000-digit number in place of the body": b"1" * 5000,
    "a huge float": b'{"version": 1e99999}',
    "NaN and Infinity": b'{"version": NaN, "status": Infinity}',
    "a list": b"[]",
    "a string": b'"firing"',
    "null": b"null",
    "alerts as an object": json.dumps({**grafana_notification(grafana_alert("x")), "alerts": {}}).encode(),
    "an alert that is a number": json.dumps(
        {**grafana_notification(grafana_alert("x")), "alerts": [7]}
    ).encode(),
    "labels as a list": json.dumps(_with_alert(labels=["alertname"])).encode(),
    "annotations with a number": json.dumps(_with_alert(annotations={"summary": 1})).encode(),
    "a lone surrogate in the summary": json.dumps(_with_alert(annotations={"summary": "\ud800"})).encode(),
    "a lone surrogate in a URL": json.dumps(_with_alert(panelURL="http://x/\udfff")).encode(),
    "a timestamp far out of range": json.dumps(_with_alert(startsAt="99999-01-01T00:00:00Z")).encode(),
    "a timestamp that is a number": json.dumps(_with_alert(startsAt=1_700_000_000)).encode(),
    "a status that is a list": json.dumps(_with_alert(status=["firing"])).encode(),
    "a javascript: link": json.dumps(_with_alert(panelURL="javascript:alert(1)")).encode(),
    "not UTF-8": b'{"receiver": "\xff\xfe"}',
    "a BOM and junk": b"\xef\xbb\xbf{",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_any_json_the_webhook_cannot_take_gets_400_with_a_reason(
    app_url: str, chat_client: ChatClient, body: bytes
) -> None:
    before = alert_results(app_url)["invalid"]
    response = post_alerts(app_url, body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"], "the answer says what is wrong"
    assert alert_results(app_url)["invalid"] == before + 1
    # The endpoint still works, and nothing of the hostile body reached the chat.
    assert post_alerts(app_url, grafana_notification(grafana_alert("still fine"))).status_code == 200
    assert next_alert(chat_client)["summary"] == "still fine"
