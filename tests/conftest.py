"""Fixtures for the chat tests: real `python -m app` servers on loopback, real websocket clients, scrapes."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import Any

import pytest
import websocket
from prometheus_client.parser import text_string_to_metric_families

from scripts.loadgen import ws_url
from scripts.procs import poll_until, running_app

RECV_TIMEOUT_S = 5.0


class ChatClient:
    """A websocket-client connection to the chat, sending the Origin the server allows (its own)."""

    def __init__(self, base_url: str, origin: str | None = None, rcvbuf: int | None = None) -> None:
        options: dict[str, Any] = {"origin": origin or base_url, "timeout": RECV_TIMEOUT_S}
        if rcvbuf is not None:
            options["sockopt"] = ((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf),)
        self.ws = websocket.create_connection(ws_url(base_url), skip_utf8_validation=True, **options)

    def send(self, event: Mapping[str, Any]) -> None:
        self.ws.send(json.dumps(event))

    def recv(self, timeout_s: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        """The next server event (a JSON text frame)."""
        self.ws.settimeout(timeout_s)
        return json.loads(self.ws.recv())

    def recv_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = RECV_TIMEOUT_S
    ) -> dict[str, Any]:
        """Skip events until one matches `predicate`; fail after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout_s}s")
            event = self.recv(left)
            if predicate(event):
                return event

    def join(self, name: str) -> dict[str, Any]:
        self.send({"type": "join", "name": name})
        welcome = self.recv()
        assert welcome["type"] == "welcome", welcome
        return welcome

    def close_code(self, timeout_s: float = RECV_TIMEOUT_S) -> int | None:
        """Read until the server's close frame; its status code (None if the TCP connection just ended)."""
        self.ws.settimeout(timeout_s)
        try:
            while True:
                opcode, frame = self.ws.recv_data_frame(True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    return int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return None

    def close(self) -> None:
        self.ws.close(timeout=1)


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One real scrape of /metrics: {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def wait_for_metric(
    base_url: str, name: str, expected: float, timeout_s: float = 10.0, **labels: str
) -> None:
    """Poll /metrics until the sample equals `expected` (server-side effects are asynchronous)."""
    value = None

    def reached() -> bool:
        nonlocal value
        value = metric(scrape(base_url), name, **labels)
        return value == expected

    if not poll_until(reached, timeout_s, interval_s=0.05):
        raise AssertionError(f"{name}{labels} = {value}, expected {expected} within {timeout_s}s")


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` after `timeout_s`."""
    if not poll_until(condition, timeout_s):
        raise TimeoutError(f"{what} not reached within {timeout_s}s")


@pytest.fixture
def start_app() -> Iterator[Callable[..., str]]:
    """Start `python -m app` with extra env vars; returns its base URL. Stopped at teardown."""
    with ExitStack() as stack:

        def start(**env: str) -> str:
            return stack.enter_context(running_app(env=env))

        yield start


@pytest.fixture
def connect() -> Iterator[Callable[..., ChatClient]]:
    """Open ChatClient connections; all closed at teardown."""
    clients: list[ChatClient] = []

    def open_client(base_url: str, **options: Any) -> ChatClient:
        client = ChatClient(base_url, **options)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        # The server may already have closed it; that is what some tests check.
        with contextlib.suppress(OSError, websocket.WebSocketException):
            client.close()
