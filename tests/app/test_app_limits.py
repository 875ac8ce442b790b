"""The chat's limits against a real `python -m app`: error codes, Origin, rate, abuse, slow/dead clients."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import websocket

from app.limits import TokenBucket
from app.metrics import REJECT_REASONS
from scripts.common.load import ws_url
from tests.support.chat_client import ChatClient
from tests.support.flood import flood
from tests.support.metrics import metric, scrape, wait_for_metric


@contextmanager
def raw_websocket(base_url: str, extra_headers: str = "") -> Iterator[tuple[socket.socket, bytes]]:
    """A plain TCP socket that performed the websocket handshake; yields it and the raw HTTP response."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n".encode()
        )
        yield sock, sock.recv(4096)


def expect_error(client: ChatClient, code: str) -> None:
    event = client.recv()
    assert event["type"] == "error" and event["code"] == code, event
    assert event["message"], "every error carries a human-readable message"


def test_every_error_code_from_real_bad_frames(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(
        CHAT_MAX_FRAME_BYTES="256",
        CHAT_MAX_TEXT_CHARS="20",
        CHAT_MAX_NAME_CHARS="8",
        CHAT_RATE_PER_SECOND="0.5",
        CHAT_RATE_BURST="25",
        CHAT_ABUSE_MAX_REJECTS="1000",
    )
    observer, client = connect(base_url), connect(base_url)
    observer.join("observer")

    client.send({"type": "message", "text": "too early"})
    expect_error(client, "not_joined")
    client.ws.send("{not json")
    expect_error(client, "invalid_json")
    client.ws.send_binary(b'{"type": "join", "name": "bin"}')
    expect_error(client, "binary_frame")
    for bad in ([1, 2], {"type": "dance"}, {"no": "type"}, "just a string"):
        client.send(bad)  # type: ignore[arg-type]
        expect_error(client, "invalid_message")
    for bad_name in ("", "   ", "x" * 9, 42, "bell\x07", None):
        client.send({"type": "join", "name": bad_name})
        expect_error(client, "invalid_name")
    client.send({"type": "join", "name": "OBSERVER"})  # names are unique case-insensitively
    expect_error(client, "name_taken")
    client.ws.send(json.dumps({"type": "join", "name": "x", "pad": "y" * 300}))
    expect_error(client, "too_large")

    assert client.join("client")["clients"] == 2
    client.send({"type": "join", "name": "again"})
    expect_error(client, "already_joined")
    client.send({"type": "message", "text": "y" * 21})
    expect_error(client, "too_large")
    client.send({"type": "message", "text": 7})
    expect_error(client, "invalid_message")
    # 19 frames so far: ~6 tokens are left of the burst of 25, so most of the flood is over the rate.
    rate_limited = 0
    for _ in range(30):
        client.send({"type": "message", "text": "flood"})
    for _ in range(30):
        event = client.recv()
        rate_limited += event.get("code") == "rate_limited"
    assert rate_limited >= 20

    # The observer saw only the client's arrival and its accepted flood messages: no errors, no garbage.
    events = []
    while len(events) < 1 + (30 - rate_limited):
        events.append(observer.recv())
    assert events[0] == {"type": "joined", "name": "client", "clients": 2}
    assert all(e["type"] == "message" and e["text"] == "flood" for e in events[1:])

    samples = scrape(base_url)
    expected = {
        "not_joined": 1,
        "invalid_json": 1,
        "binary_frame": 1,
        "invalid_message": 5,
        "invalid_name": 6,
        "name_taken": 1,
        "too_large": 2,
        "already_joined": 1,
        "rate_limited": rate_limited,
    }
    assert set(expected) == set(REJECT_REASONS)
    assert {r: metric(samples, "chat_frames_rejected_total", reason=r) for r in REJECT_REASONS} == expected


def test_foreign_origin_refused_at_handshake(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(CHAT_ALLOWED_ORIGINS="https://chat.example.com")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url(base_url), origin="https://evil.example.net", timeout=5)
    assert refused.value.status_code == 403
    # Allowed: same host as the request, an allowlisted origin, and non-browser clients (no Origin).
    connect(base_url).join("same-host")
    connect(base_url, origin="https://chat.example.com").join("listed")
    bare = websocket.create_connection(ws_url(base_url), timeout=5, suppress_origin=True)
    bare.close()
    samples = scrape(base_url)
    assert metric(samples, "chat_connections_total", result="origin_refused") == 1
    assert metric(samples, "chat_connections_total", result="accepted") == 3


def test_permessage_deflate_is_never_negotiated(start_app: Callable[..., str]) -> None:
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    with raw_websocket(start_app(), offer) as (_, response):
        assert response.startswith(b"HTTP/1.1 101")
        assert b"sec-websocket-extensions" not in response.lower()


def test_plain_get_on_websocket_path_is_rejected(start_app: Callable[..., str]) -> None:
    base_url = start_app()
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{base_url}/ws", timeout=5)
    assert error.value.code == 400


def test_rate_limit_refills_over_time(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(CHAT_RATE_PER_SECOND="4", CHAT_RATE_BURST="3")
    client = connect(base_url)
    client.join("speedy")  # 1 token
    client.send({"type": "message", "text": "one"})  # 2
    client.send({"type": "message", "text": "two"})  # 3: bucket empty
    client.send({"type": "message", "text": "three"})
    assert [client.recv()["text"] for _ in range(2)] == ["one", "two"]
    expect_error(client, "rate_limited")
    time.sleep(0.6)  # refills at 4/s: at least 2 tokens
    client.send({"type": "message", "text": "later"})
    assert client.recv()["text"] == "later"


def test_abuse_closes_connection_but_not_the_others(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(CHAT_ABUSE_MAX_REJECTS="5", CHAT_ABUSE_WINDOW_S="30")
    good, abuser = connect(base_url), connect(base_url)
    good.join("good")
    for _ in range(6):
        abuser.ws.send("garbage")
    assert abuser.close_code() == 1008
    good.send({"type": "message", "text": "still fine"})
    assert good.recv()["text"] == "still fine"
    wait_for_metric(base_url, "chat_connections_total", 1, result="abuse_closed")
    assert metric(scrape(base_url), "chat_frames_rejected_total", reason="invalid_json") == 6


def test_slow_consumer_is_evicted_while_others_keep_receiving(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(
        CHAT_SEND_QUEUE_SIZE="8",
        CHAT_RATE_PER_SECOND="100000",
        CHAT_RATE_BURST="100000",
        CHAT_MAX_TEXT_CHARS="4000",
        CHAT_MAX_FRAME_BYTES="8192",
    )
    sender, reader = connect(base_url), connect(base_url)
    slow = connect(base_url, rcvbuf=4096)  # joins, then never reads again
    sender.join("sender")
    reader.join("reader")
    slow.join("slow")
    text = "z" * 4000
    total = 2000  # 8 MB: far more than the kernel buffers between the server and `slow` can hold
    received = flood(sender, {"sender": sender, "reader": reader}, text, total)
    assert received == {"sender": total, "reader": total}, "the fast clients got every message"
    samples = scrape(base_url)
    assert metric(samples, "chat_slow_consumer_evictions_total") == 1
    assert metric(samples, "registered_clients") == 2
    wait_for_metric(base_url, "chat_connections_total", 1, result="evicted_slow")


def test_dead_client_is_dropped_after_idle_timeout(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(CHAT_PING_INTERVAL_S="0.3", CHAT_IDLE_TIMEOUT_S="1")
    observer = connect(base_url)
    observer.join("observer")
    # A raw socket that completes the handshake and joins, then never answers a ping (nor reads).
    with raw_websocket(base_url) as (dead, response):
        assert response.startswith(b"HTTP/1.1 101")
        join = json.dumps({"type": "join", "name": "ghost"})
        dead.sendall(websocket.ABNF.create_frame(join, websocket.ABNF.OPCODE_TEXT).format())
        assert observer.recv() == {"type": "joined", "name": "ghost", "clients": 2}
        # The observer answers pings (websocket-client does inside recv) and stays; the ghost goes.
        started = time.monotonic()
        assert observer.recv(timeout_s=10) == {"type": "left", "name": "ghost", "clients": 1}
        assert time.monotonic() - started < 8
    wait_for_metric(base_url, "chat_connections_total", 1, result="timed_out")
    observer.send({"type": "message", "text": "alive"})
    assert observer.recv()["text"] == "alive"


def test_the_token_bucket_credits_a_server_stall_instead_of_punishing_the_bunched_frames() -> None:
    """Frames sent at a normal pace that pile up while the server cannot read arrive at once: the stall's
    time is credited in full, not capped at the burst; idle time still is."""
    stalled, idle = TokenBucket(rate=10, burst=2), TokenBucket(rate=10, burst=2)
    for bucket in (stalled, idle):
        assert bucket.allow() and bucket.allow() and not bucket.allow()
    time.sleep(0.5)  # 5 frames' worth of time
    assert sum(stalled.allow(stalled_s=0.5) for _ in range(6)) == 5  # the loop was stalled all along
    assert sum(idle.allow() for _ in range(6)) == 2  # it was idle: the burst caps it


def test_look_alike_and_invisible_names_cannot_pose_as_a_taken_one(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app()
    connect(base_url).join("canary")
    client = connect(base_url)
    # fullwidth "canary", "canary" with a Cyrillic es and a, upper case
    for look_alike in ("\uff43\uff41\uff4e\uff41\uff52\uff59", "\u0441\u0430nary", "CANARY"):
        client.send({"type": "join", "name": look_alike})
        expect_error(client, "name_taken")
    for invisible in ("can\u200bary", "\u202eyranac", "canary\u2066"):  # zero-width, RTL override, isolate
        client.send({"type": "join", "name": invisible})
        expect_error(client, "invalid_name")
    assert client.join("\uff42\uff49\uff52\uff44")["name"] == "bird"  # fullwidth: shown in NFKC
