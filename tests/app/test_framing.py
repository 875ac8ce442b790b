"""app.framing against wsproto itself: whatever a client sends, however it is split into reads, the chat's
fast path must yield exactly the messages, pings and close codes wsproto alone would."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Ping, TextMessage

from app.framing import ORDINARY_PAYLOAD_BYTES, InboundFrames
from app.protocol import encode, encode_message, encode_name

Outcome = tuple[str, object]


def client_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    mask: bytes = b"\x37\xfa\x21\x3d",
) -> bytes:
    """A frame as a client writes it (RFC 6455 5.2)."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    size = len(payload)
    flag = 0x80 if masked else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 1 << 16:
        head += bytes([flag | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([flag | 127]) + size.to_bytes(8, "big")
    if not masked:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text(rng: random.Random, size: int) -> bytes:
    alphabet = 'abc "\\\u00e9\u2028\U0001f600{}'
    return (
        "".join(rng.choice(alphabet) for _ in range(size)).encode()[:size].decode("utf-8", "ignore").encode()
    )


def random_stream(rng: random.Random) -> bytes:
    """Frames a client might send, honest ones mostly, ending now and then in one wsproto must refuse."""
    frames = []

    def seeded(opcode: int, payload: bytes, **options: Any) -> bytes:  # masks from the seed too
        return client_frame(opcode, payload, mask=rng.randbytes(4), **options)

    for _ in range(rng.randint(1, 12)):
        kind = rng.choice(["ordinary"] * 6 + ["long", "huge", "binary", "ping", "fragmented"])
        if kind == "ordinary":
            frames.append(seeded(0x1, text(rng, rng.randint(0, 200))))
        elif kind == "long":  # 16-bit length, on either side of the fast path's bound
            frames.append(seeded(0x1, text(rng, rng.randint(126, ORDINARY_PAYLOAD_BYTES + 200))))
        elif kind == "huge":  # 64-bit length
            frames.append(seeded(0x1, b"x" * 70_000))
        elif kind == "binary":
            frames.append(seeded(0x2, rng.randbytes(rng.randint(0, 50))))
        elif kind == "ping":
            frames.append(seeded(0x9, rng.randbytes(rng.randint(0, 20))))
        else:  # a text message in pieces, a ping in the middle
            whole = text(rng, rng.randint(2, 60))
            cut = len(whole) // 2
            frames += [
                seeded(0x1, whole[:cut], fin=False),
                seeded(0x9, b"mid"),
                seeded(0x0, whole[cut:]),
            ]
    ending = rng.choice(["none", "none", "close", "bad utf-8", "unmasked", "rsv", "text inside fragments"])
    if ending == "close":
        frames.append(seeded(0x8, (1000).to_bytes(2, "big") + b"bye"))
    elif ending == "bad utf-8":
        frames.append(seeded(0x1, b"ok \xff\xfe"))
    elif ending == "unmasked":
        frames.append(seeded(0x1, b'{"type":"leave"}', masked=False))
    elif ending == "rsv":
        frames.append(seeded(0x1, b"x", rsv=4))
    elif ending == "text inside fragments":
        frames += [seeded(0x1, b"start", fin=False), seeded(0x1, b"again")]
    return b"".join(frames)


def reads(rng: random.Random, stream: bytes) -> list[bytes]:
    """The stream as the kernel might hand it over: cut anywhere, a byte at a time sometimes."""
    cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 8))))
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


def outcomes(items: list[str | Event]) -> list[Outcome]:
    """Messages reassembled from their pieces, pings, the close code; up to the first close."""
    found: list[Outcome] = []
    pieces: list[str | bytes] = []
    for item in items:
        if isinstance(item, str):
            found.append(("text", item))
        elif isinstance(item, TextMessage | BytesMessage):
            pieces.append(item.data)
            if item.message_finished:
                joined = "".join(pieces) if isinstance(item, TextMessage) else b"".join(pieces)  # type: ignore[arg-type]
                found.append(("text" if isinstance(item, TextMessage) else "bytes", joined))
                pieces = []
        elif isinstance(item, Ping):
            found.append(("ping", bytes(item.payload)))
        elif isinstance(item, CloseConnection):
            found.append(("close", item.code))
            break
    return found


def run(chunks: list[bytes], fast: bool) -> list[Outcome]:
    ws = Connection(ConnectionType.SERVER)
    frames = InboundFrames(ws)
    items: list[str | Event] = []
    for chunk in chunks:
        if fast:
            items += frames.feed(chunk)
        else:
            ws.receive_data(chunk)
            items += ws.events()
        if any(isinstance(item, CloseConnection) for item in items):
            break  # the session stops reading here
    return outcomes(items)


@pytest.mark.parametrize("seed", range(400))
def test_the_fast_path_yields_what_wsproto_alone_yields(seed: int) -> None:
    rng = random.Random(seed)
    stream = random_stream(rng)
    chunks = reads(rng, stream)
    assert run(chunks, fast=True) == run(chunks, fast=False)


def test_an_ordinary_frame_split_across_reads_is_one_text_once_complete() -> None:
    frame = client_frame(0x1, b'{"type":"message","text":"hi"}')
    frames = InboundFrames(Connection(ConnectionType.SERVER))
    assert list(frames.feed(frame[:1])) == []
    assert list(frames.feed(frame[1:9])) == []
    assert list(frames.feed(frame[9:] + frame)) == ['{"type":"message","text":"hi"}'] * 2


def test_a_large_frame_is_never_held_whole_but_streamed_to_wsproto() -> None:
    frame = client_frame(0x1, b"y" * (ORDINARY_PAYLOAD_BYTES * 4))
    frames = InboundFrames(Connection(ConnectionType.SERVER))
    first = list(frames.feed(frame[:ORDINARY_PAYLOAD_BYTES]))
    assert first and isinstance(first[0], TextMessage) and not first[0].message_finished


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("alice", "hi"),
        ('quo"te\\', 'a "quoted" \\ text'),
        ("\u00e9l\u00e8ve", "\u2028\U0001f600\t\n"),
        ("x", "{}"),
    ],
)
def test_a_chat_message_is_encoded_exactly_as_the_generic_encoder_writes_it(name: str, said: str) -> None:
    payload = encode_message(encode_name(name), said)
    event = json.loads(payload)
    assert set(event) == {"type", "from", "text", "ts"} and isinstance(event["ts"], int)
    assert payload == encode({"type": "message", "from": name, "text": said, "ts": event["ts"]})
