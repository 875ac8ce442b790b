"""ChatSocket.serve_reads on a real loopback TCP connection: a joined client's reads are handled by the event
loop's own callback, in order, until the handler says stop, the peer goes away, or the handler fails."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import gevent
import pytest
from gevent import socket as gsocket

from app.transport import ChatSocket


@contextmanager
def connection() -> Iterator[tuple[ChatSocket, gsocket.socket]]:
    """The server side as a ChatSocket, and the peer's socket."""
    with gsocket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        peer = gsocket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with peer, accepted:
            yield ChatSocket(SimpleNamespace(sock=accepted)), peer  # type: ignore[arg-type]


def serving(ws: ChatSocket, on_data: Callable[[bytes], bool]) -> gevent.Greenlet:
    return gevent.spawn(ws.serve_reads, on_data)


def test_reads_arrive_in_order_on_the_loop_itself_until_the_handler_says_stop() -> None:
    with connection() as (ws, peer):
        seen: list[bytes] = []
        in_hub: list[bool] = []

        def on_data(data: bytes) -> bool:
            seen.append(data)
            in_hub.append(gevent.getcurrent() is gevent.get_hub())
            return not data.endswith(b"stop")

        reader = serving(ws, on_data)
        for chunk in (b"one", b"two", b"stop", b"never read"):
            peer.sendall(chunk)
            gevent.sleep(0.02)  # one read per chunk
        reader.join(timeout=5)
        assert reader.successful()
        assert b"".join(seen) == b"onetwostop"
        assert in_hub and all(in_hub), "the handler runs in the loop's callback, no greenlet switch"


def test_the_peer_going_away_ends_the_reads() -> None:
    with connection() as (ws, peer):
        reader = serving(ws, lambda data: True)
        gevent.sleep(0.01)
        peer.close()
        reader.join(timeout=5)
        assert reader.successful()


def test_an_error_in_the_handler_is_raised_on_the_waiting_greenlet_and_reading_stops() -> None:
    with connection() as (ws, peer):
        calls: list[bytes] = []

        def on_data(data: bytes) -> bool:
            calls.append(data)
            raise RuntimeError("a bug in handling")

        reader = serving(ws, on_data)
        peer.sendall(b"boom")
        reader.join(timeout=5)
        with pytest.raises(RuntimeError, match="a bug in handling"):
            reader.get()
        peer.sendall(b"more")
        gevent.sleep(0.05)
        assert calls == [b"boom"], "nothing is read once the handler failed"
