"""The chat's happy path against a real `python -m app`: join, broadcast, leave, metrics, page, probes."""

from __future__ import annotations

import re
import signal
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from types import SimpleNamespace

import pytest
import websocket

from app.transport import ChatSocket
from scripts.common.load import ws_url
from scripts.common.procs import app_process
from tests.support.chat_client import ChatClient
from tests.support.metrics import metric, scrape, wait_for_metric


@pytest.fixture
def base_url(start_app: Callable[..., str]) -> str:
    return start_app()


def test_clients_join_broadcast_and_leave_with_metrics(
    base_url: str, connect: Callable[..., ChatClient]
) -> None:
    alice, bob, carol = (connect(base_url) for _ in range(3))

    assert alice.join("alice") == {"type": "welcome", "name": "alice", "clients": 1}
    assert bob.join("  bob  ") == {"type": "welcome", "name": "bob", "clients": 2}
    assert alice.recv() == {"type": "joined", "name": "bob", "clients": 2}
    assert carol.join("carol")["clients"] == 3
    assert alice.recv() == {"type": "joined", "name": "carol", "clients": 3}
    assert bob.recv() == {"type": "joined", "name": "carol", "clients": 3}
    wait_for_metric(base_url, "registered_clients", 3)

    # `from` is the server's record of the sender, whatever the frame claims.
    bob.send({"type": "message", "text": "hello <b>all</b>", "from": "alice"})
    for client in (alice, bob, carol):
        event = client.recv()
        assert event["type"] == "message"
        assert (event["from"], event["text"]) == ("bob", "hello <b>all</b>")
        assert isinstance(event["ts"], int) and event["ts"] > 1_600_000_000_000

    carol.send({"type": "leave"})
    assert carol.close_code() == 1000
    assert alice.recv() == {"type": "left", "name": "carol", "clients": 2}
    assert bob.recv() == {"type": "left", "name": "carol", "clients": 2}
    bob.ws.close()  # disconnect without leaving
    assert alice.recv() == {"type": "left", "name": "bob", "clients": 1}

    wait_for_metric(base_url, "registered_clients", 1)
    wait_for_metric(base_url, "chat_connections_total", 2, result="closed")
    samples = scrape(base_url)
    assert metric(samples, "chat_connections_total", result="accepted") == 3
    assert metric(samples, "chat_messages_received_total") == 1
    assert metric(samples, "chat_messages_delivered_total") == 3  # fan-out: one per joined client
    assert metric(samples, "chat_message_size_bytes_count") == 1
    assert metric(samples, "chat_message_size_bytes_sum") == len("hello <b>all</b>")
    assert metric(samples, "chat_broadcast_duration_seconds_count") == 1
    assert metric(samples, "chat_message_handling_seconds_count") == 5  # 3 joins, 1 message, 1 leave
    assert all(
        metric(samples, "chat_frames_rejected_total", reason=r) == 0 for r in ("invalid_json", "not_joined")
    )


def test_metrics_endpoint_content_type(base_url: str) -> None:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        body = response.read().decode()
    assert "# HELP registered_clients Tracks the clients that are currently registered" in body


def test_health_and_readiness_probes(base_url: str) -> None:
    for path, body in (("/healthz", "ok"), ("/readyz", "ready")):
        with urllib.request.urlopen(f"{base_url}{path}", timeout=5) as response:
            assert (response.status, response.read().decode().strip()) == (200, body)


def test_page_is_self_contained_and_renders_text_safely(base_url: str) -> None:
    with urllib.request.urlopen(f"{base_url}/", timeout=5) as response:
        html = response.read().decode()
    assert 'href="/dashboards"' in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page references its script and stylesheet"
    scripts = []
    for asset in assets:
        assert not re.match(r"^(https?:)?//", asset), f"external URL on the page: {asset}"
        if asset.endswith((".js", ".css")):
            with urllib.request.urlopen(f"{base_url}{asset}", timeout=5) as response:
                scripts.append(response.read().decode())
    source = html + "\n".join(scripts)
    assert not re.search(r"https?://", source), "no external URLs"
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "document.write" not in source
    assert "textContent" in source


def test_sigterm_drains_clients_and_exits_cleanly(connect: Callable[..., ChatClient]) -> None:
    with app_process(env={"CHAT_SHUTDOWN_GRACE_S": "5"}) as app:
        base_url, proc = app.url, app.proc
        polite, deaf = connect(base_url), connect(base_url)
        polite.join("polite")
        deaf.join("deaf")  # never reads again, so it never answers the close: shutdown must not wait on it
        polite.recv()  # deaf joined
        proc.send_signal(signal.SIGTERM)
        assert polite.close_code() == 1001  # going away
        # The deaf client holds the server open (for up to the close-handshake timeout): new clients are
        # refused meanwhile.
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(ws_url(base_url), origin=base_url, timeout=2)
        assert refused.value.status_code == 503
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                ready_status = response.status
        except urllib.error.HTTPError as error:
            ready_status = error.code
        except OSError:
            ready_status = None  # already stopped listening: also not ready
        assert ready_status in (503, None)
        assert proc.wait(timeout=15) == 0


def test_server_side_websockets_send_small_frames_at_once() -> None:
    """Nagle off: otherwise a frame written while the previous one is unacked waits ~40 ms for an ACK."""
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()),
        listener.accept()[0] as accepted,
    ):
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        ChatSocket(SimpleNamespace(sock=accepted))  # type: ignore[arg-type]
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
