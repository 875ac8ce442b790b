"""Fuzz a real `python -m app` with malformed frames while a well-behaved client keeps chatting.

Seeded, so a failure replays. The fuzzer never joins, so the expected outcome of each frame is known:
an error event with a given code, or (invalid UTF-8 text, frames over the hard size cap) the connection
failed by the websocket layer with 1007/1009, after which the fuzzer reconnects.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import websocket

from app.metrics import (
    ALERT_WEBHOOK_RESULTS,
    BROKER_ERROR_REASONS,
    CLUSTER_LOSS_REASONS,
    CONNECTION_RESULTS,
    DOOR_REFUSAL_REASONS,
    LOG_DROP_REASONS,
    REJECT_REASONS,
)
from tests.support.chat_client import ChatClient
from tests.support.metrics import metric, scrape

SEED = 20260526
FRAMES = 1200
MAX_FRAME_BYTES = 1024
HARD_CAP_BYTES = 16 * MAX_FRAME_BYTES
CLOSE_CODE_REASONS = {1007: "invalid_json", 1009: "too_large"}


@dataclass(frozen=True)
class Frame:
    data: str | bytes
    binary: bool
    expected: str | int  # an error code, or the close code the connection ends with


def junk_text(rng: random.Random, size: int) -> str:
    alphabet = 'abc{}[]":,\\ 0123456789\u00e9\u4e2d\U0001f600\t\n'
    return "".join(rng.choice(alphabet) for _ in range(size))


def invalid_json(rng: random.Random) -> Frame:
    while True:
        text = rng.choice(["{", "[", '{"type":', "nul", "tru", "", '{"type":"join",}', "'"]) + junk_text(
            rng, 20
        )
        try:
            json.loads(text)
        except ValueError:
            return Frame(text, False, "invalid_json")


def invalid_utf8(rng: random.Random) -> Frame:
    prefix = json.dumps({"type": "message", "text": ""}).encode()[:-2]
    broken = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"])
    return Frame(prefix + broken + b'"}', False, 1007)


def binary(rng: random.Random) -> Frame:
    return Frame(rng.randbytes(rng.randint(0, 512)), True, "binary_frame")


def non_object(rng: random.Random) -> Frame:
    value = rng.choice([42, -1.5e300, "join", None, True, [], [{"type": "join", "name": "x"}], [[[[1]]]]])
    return Frame(json.dumps(value), False, "invalid_message")


def bad_type(rng: random.Random) -> Frame:
    kind = rng.choice([None, 1, "", "JOIN", "msg", "welcome", "error", ["join"], {"t": 1}, "join\x00"])
    event = {"type": kind} if rng.random() < 0.8 else {"name": "no type at all"}
    return Frame(json.dumps(event), False, "invalid_message")


def bad_name(rng: random.Random) -> Frame:
    name = rng.choice([None, 7, [], {"a": 1}, "", "   ", "\x00", "bell\x07", "x" * 33, "\u0085", "\ud800"])
    return Frame(json.dumps({"type": "join", "name": name}), False, "invalid_name")


def bad_text(rng: random.Random) -> Frame:
    text = rng.choice([None, 3, [], {"t": "x"}, "", "  \n ", "nul\x00", "\x1b[31m", "\udfff"])
    return Frame(json.dumps({"type": "message", "text": text}), False, "invalid_message")


def not_joined(rng: random.Random) -> Frame:
    event = {"type": "leave"} if rng.random() < 0.3 else {"type": "message", "text": junk_text(rng, 30) + "!"}
    return Frame(json.dumps(event), False, "not_joined")


def oversize(rng: random.Random) -> Frame:
    size = rng.randint(MAX_FRAME_BYTES + 1, HARD_CAP_BYTES)
    return Frame("x" * size, False, "too_large")


def over_hard_cap(rng: random.Random) -> Frame:
    return Frame("y" * rng.randint(HARD_CAP_BYTES + 1, 2 * HARD_CAP_BYTES), False, 1009)


GENERATORS: list[tuple[Callable[[random.Random], Frame], int]] = [
    (invalid_json, 20),
    (invalid_utf8, 2),
    (binary, 10),
    (non_object, 10),
    (bad_type, 10),
    (bad_name, 12),
    (bad_text, 12),
    (not_joined, 10),
    (oversize, 8),
    (over_hard_cap, 1),
]


def test_fuzzed_frames_never_disturb_a_well_behaved_client(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app(
        CHAT_MAX_FRAME_BYTES=str(MAX_FRAME_BYTES),
        CHAT_RATE_PER_SECOND="1000000",
        CHAT_RATE_BURST="1000000",
        CHAT_ABUSE_MAX_REJECTS="1000000",
    )
    rng = random.Random(SEED)
    good = connect(base_url)
    good.join("good")
    fuzzer = connect(base_url)
    outcomes: Counter[str | int] = Counter()
    generators, weights = zip(*GENERATORS, strict=True)
    sent = 0
    round_no = 0
    while sent < FRAMES:
        # A pipelined burst of frames. A frame that fails the connection travels alone: once the websocket
        # layer has sent its Close, no reply to frames pipelined before it can follow (RFC 6455 5.5.1).
        burst: list[Frame] = []
        burst_size = min(rng.randint(1, 40), FRAMES - sent)
        while len(burst) < burst_size:
            frame = rng.choices(generators, weights)[0](rng)
            if isinstance(frame.expected, int):
                burst = burst or [frame]
                break
            burst.append(frame)
        for frame in burst:
            opcode = websocket.ABNF.OPCODE_BINARY if frame.binary else websocket.ABNF.OPCODE_TEXT
            fuzzer.ws.send(frame.data, opcode=opcode)
        for frame in burst:
            if isinstance(frame.expected, int):
                assert fuzzer.close_code() == frame.expected, f"frame {sent}: {frame!r:.200}"
                fuzzer = connect(base_url)
            else:
                event = fuzzer.recv()
                assert (event["type"], event["code"]) == ("error", frame.expected), (
                    f"frame {sent}: {frame!r:.200}"
                )
            outcomes[frame.expected] += 1
            sent += 1

        round_no += 1
        good.send({"type": "message", "text": f"still here {round_no}"})
        echo = good.recv()
        assert (echo["type"], echo["from"], echo["text"]) == ("message", "good", f"still here {round_no}")

    assert sent >= 1000
    assert set(outcomes) == {
        "invalid_json",
        1007,
        "binary_frame",
        "invalid_message",
        "invalid_name",
        "not_joined",
        "too_large",
        1009,
    }, "every kind of malformed frame was sent"
    closes = outcomes[1007] + outcomes[1009]
    expected_rejects = Counter({code: n for code, n in outcomes.items() if isinstance(code, str)})
    for close_code, reason in CLOSE_CODE_REASONS.items():
        expected_rejects[reason] += outcomes[close_code]
    samples = scrape(base_url)
    assert {r: metric(samples, "chat_frames_rejected_total", reason=r) for r in REJECT_REASONS} == {
        r: expected_rejects[r] for r in REJECT_REASONS
    }
    assert metric(samples, "chat_connections_total", result="accepted") == 2 + closes
    assert metric(samples, "chat_connections_total", result="abuse_closed") == closes
    assert metric(samples, "registered_clients") == 1
    # Whatever the frames carried, label values stay the closed sets of app.metrics.
    reasons = (*REJECT_REASONS, *LOG_DROP_REASONS, *BROKER_ERROR_REASONS, *CLUSTER_LOSS_REASONS)
    reasons += DOOR_REFUSAL_REASONS
    closed_sets = {("reason", r) for r in reasons} | {
        ("result", r) for r in (*CONNECTION_RESULTS, *ALERT_WEBHOOK_RESULTS)
    }
    chat_labels = {
        pair for (name, labels) in samples if name.startswith(("chat_", "registered_")) for pair in labels
    }
    assert {pair for pair in chat_labels if pair[0] != "le"} <= closed_sets  # le: the histograms' buckets
    assert metric(samples, "chat_messages_received_total") == round_no
