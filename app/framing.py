"""Inbound websocket frames: the ordinary ones decoded here, every other one parsed by wsproto.

Nearly every frame a chat client sends is a complete, unfragmented, masked text frame of a few dozen bytes.
wsproto's general parser (generators over a buffer, an incremental UTF-8 decoder, a frame and an event
object per frame) spends ~11.7 µs on one; taking it apart here costs ~1.3 µs
(`python -m bench.bench_framing`). At 50 clients in a closed loop that was a fifth of the server's CPU. So
the reader splits what arrives at frame boundaries (RFC 6455 5.2):
- an *ordinary* frame — FIN set, no RSV bits, opcode 1 (text), MASK set, a payload of at most
  ORDINARY_PAYLOAD_BYTES, all of it arrived, no fragmented message in progress — whose payload is valid
  UTF-8 becomes its text (a `str`);
- every other frame (control frames, fragments, binary frames, large frames, invalid UTF-8, anything
  malformed) goes to wsproto byte for byte as it arrives, so wsproto enforces every rule it enforces today:
  the close handshake, 1007 for invalid UTF-8, 1002 for protocol errors; and a large frame is never held
  here (Inbound's size bound still sees it as it streams).
wsproto only ever receives whole frames from their first byte, so its state is the one it would have had it
parsed everything: it tracks fragmented messages and the close handshake, which ordinary frames touch
neither of. The libraries' fast paths do not fit a synchronous gevent reader: aiohttp's compiled reader
(aio-libs/aiohttp `aiohttp/_websocket/reader_py.py`, built as reader_c) feeds an asyncio
`WebSocketDataQueue` bound to a protocol and a loop, and websockets' C extension
(python-websockets/websockets `src/websockets/speedups.c`) only applies masks; hence these few lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from wsproto.connection import Connection
from wsproto.events import Event

__all__ = ["ORDINARY_PAYLOAD_BYTES", "InboundFrames"]

# The largest payload decoded here (the default CHAT_MAX_FRAME_BYTES): a partial ordinary frame is held
# until the rest arrives, so this also bounds what is held. Larger frames stream through wsproto.
ORDINARY_PAYLOAD_BYTES = 4096
_FIN_TEXT = 0x81  # FIN, RSV 0, opcode 1
_MASKED = 0x80
_OPCODE = 0x0F
_FIN = 0x80
_CONTINUATION, _TEXT, _BINARY = 0x0, 0x1, 0x2


class InboundFrames:
    """One connection's inbound byte stream as texts (ordinary frames) and wsproto events (the rest)."""

    __slots__ = ("_fragmented", "_held", "_owed", "_ws")

    def __init__(self, ws: Connection) -> None:
        self._ws = ws
        self._held = b""  # the start of a frame whose header or ordinary payload has not all arrived
        self._owed = 0  # bytes of the current frame still to be passed to wsproto
        self._fragmented = False  # a fragmented data message is in progress (its frames go to wsproto)

    def feed(self, data: bytes) -> Iterator[str | Event]:
        """The texts and events `data` completes, in the order the peer sent them."""
        if self._held:
            data, self._held = self._held + data, b""
        pos, end = 0, len(data)
        while pos < end:
            if self._owed:
                take = min(self._owed, end - pos)
                self._owed -= take
                self._ws.receive_data(data[pos : pos + take])
                yield from self._ws.events()
                pos += take
                continue
            header = _header(data, pos, end)
            if header is None:  # not all of the header is here yet
                self._held = data[pos:]
                return
            payload_at, size = header
            first = data[pos]
            ordinary = first == _FIN_TEXT and data[pos + 1] & _MASKED and size <= ORDINARY_PAYLOAD_BYTES
            if ordinary and not self._fragmented:
                if payload_at + size > end:
                    self._held = data[pos:]
                    return
                text = _unmask_text(data, payload_at, size)
                if text is not None:
                    yield text
                    pos = payload_at + size
                    continue
            self._owed = payload_at + size - pos
            self._track_fragments(first)

    def _track_fragments(self, first: int) -> None:
        opcode = first & _OPCODE
        if opcode in (_TEXT, _BINARY):
            self._fragmented = not first & _FIN
        elif opcode == _CONTINUATION and first & _FIN:
            self._fragmented = False


def _header(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """(where the payload starts, its size) of the frame at `pos`, or None if its header is incomplete."""
    if end - pos < 2:
        return None
    second = data[pos + 1]
    size = second & 0x7F
    at = pos + 2
    if size == 126:
        if end - at < 2:
            return None
        size, at = int.from_bytes(data[at : at + 2], "big"), at + 2
    elif size == 127:
        if end - at < 8:
            return None
        size, at = int.from_bytes(data[at : at + 8], "big"), at + 8
    if second & _MASKED:
        at += 4
    return at, size


def _unmask_text(data: bytes, payload_at: int, size: int) -> str | None:
    """The masked payload at `payload_at` unmasked and decoded; None if it is not valid UTF-8."""
    mask = data[payload_at - 4 : payload_at]
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
    plain = (int.from_bytes(data[payload_at : payload_at + size], "big") ^ key).to_bytes(size, "big")
    try:
        return plain.decode()
    except UnicodeDecodeError:
        return None  # wsproto fails the connection with 1007
