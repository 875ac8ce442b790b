"""Websocket clients on plain sockets, for tests that need thousands of them or frames no library sends.

`RawClient` does the handshake itself and sends any frame (masked or not, fragmented, control frames of
any size); `Crowd` reads many of them at once with one selector, parsing the server's frames (unmasked,
as RFC 6455 requires of a server) and keeping each client's JSON events.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import selectors
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def raise_fd_limit() -> None:
    """Thousands of sockets in this process need thousands of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True) -> bytes:
    """One client frame (RFC 6455 5.2), masked unless told otherwise."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if size < 4096 else _mask(payload, key)
    return head + key + masked


def _mask(payload: bytes, key: bytes) -> bytes:
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def text(event: dict[str, Any]) -> bytes:
    return frame(OP_TEXT, json.dumps(event).encode())


class RawClient:
    """One websocket connection on a plain socket; `start()` sends the handshake, `finish()` reads the 101."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.base_url = base_url
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.events: list[dict[str, Any]] = []
        self.closed_with: int | None = None  # the server's close code, once a close frame came
        self.ended = False  # the TCP connection ended
        self.pongs = 0
        self.count_only = False  # count text frames in `messages` without decoding them (bulk readers)
        self.messages = 0

    def start(self) -> None:
        host_port = self.base_url.removeprefix("http://")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Origin: {self.base_url}\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def finish(self) -> None:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed during the handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {head[:60]!r}")
        self.parse()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_event(self, event: dict[str, Any]) -> None:
        self.sock.sendall(text(event))

    def parse(self) -> None:
        """Turn the buffered server frames into events (text), close codes and pong counts."""
        data = self.buffer
        while len(data) >= 2:
            size, start = data[1] & 0x7F, 2
            if size == 126:
                if len(data) < 4:
                    break
                size, start = struct.unpack("!H", data[2:4])[0], 4
            elif size == 127:
                if len(data) < 10:
                    break
                size, start = struct.unpack("!Q", data[2:10])[0], 10
            if len(data) < start + size:
                break
            opcode, payload = data[0] & 0x0F, data[start : start + size]
            data = data[start + size :]
            if opcode == OP_TEXT and self.count_only:
                self.messages += 1
            elif opcode == OP_TEXT:
                self.events.append(json.loads(payload))
            elif opcode == OP_CLOSE:
                self.closed_with = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            elif opcode == OP_PONG:
                self.pongs += 1
            elif opcode == OP_PING:
                self.sock.sendall(frame(OP_PONG, payload))
        self.buffer = data

    def read_available(self) -> None:
        """Read what the socket has (without waiting) and parse it."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.ended = True
                    break
                self.buffer += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.ended = True
        finally:
            self.sock.setblocking(True)
        self.parse()

    def close(self) -> None:
        self.sock.close()


class Crowd:
    """Many RawClients, handshaken together and read together."""

    def __init__(self, base_url: str, count: int) -> None:
        self.clients = []
        for _ in range(count):  # every handshake in flight at once, each sent as soon as it connects
            client = RawClient(base_url)
            client.start()
            self.clients.append(client)
        for client in self.clients:
            client.finish()
        self._selector = selectors.DefaultSelector()
        for client in self.clients:
            self._selector.register(client.sock, selectors.EVENT_READ, client)

    def pump(self, until: Callable[[], bool], timeout_s: float) -> bool:
        """Read every client until `until()` holds (True) or `timeout_s` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for key, _ in self._selector.select(min(left, 0.2)):
                client: RawClient = key.data
                client.read_available()
                if client.ended:
                    self._selector.unregister(client.sock)
        return True

    def drop(self, clients: Iterable[RawClient]) -> None:
        """Stop reading `clients` (they leave, or are made slow)."""
        for client in clients:
            self._selector.unregister(client.sock)

    def close(self) -> None:
        self._selector.close()
        for client in self.clients:
            client.close()


def last_count(client: RawClient) -> int | None:
    """The latest `clients` count the server told `client` (welcome, joined/left or presence)."""
    for event in reversed(client.events):
        if "clients" in event:
            return int(event["clients"])
    return None
