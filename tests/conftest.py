"""Fixtures for every test: real `python -m app` servers on loopback and real websocket clients."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import websocket

from scripts.common.procs import running_app
from tests.support.chat_client import ChatClient


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
