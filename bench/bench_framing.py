"""Parsing inbound frames: wsproto alone versus app.framing's fast path in front of it, same run.

    python -m bench.bench_framing [--frames 50000]

The same bytes, a chat message frame as the load generator sends it (masked text, 45 bytes of JSON), are
parsed both ways: one frame per read (a client waiting for its echo) and 64 frames per read (a busy
client). Printed: µs per frame each way, and the ratio wsproto / fast path (the factor the fast path saves
on the reader's hot path). Target: >= 5x on one frame per read, the closed loop's case.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from wsproto.connection import Connection, ConnectionType

from app.framing import InboundFrames
from bench.running import run_timed

TARGET_RATIO = 5.0
PAYLOAD = b'{"type":"message","text":"xxxxxxxxxxxxxxxxxx"}'


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    return bytes((0x81, 0x80 | len(payload))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def per_frame_us(parse: Callable[[bytes], int], reads: list[bytes], frames: int) -> float:
    """Best of three passes over `reads`: µs per frame."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        got = sum(parse(data) for data in reads)
        best = min(best, time.perf_counter() - started)
        assert got == frames, f"parsed {got} of {frames} frames"
    return best / frames * 1e6


def wsproto_alone() -> Callable[[bytes], int]:
    ws = Connection(ConnectionType.SERVER)

    def parse(data: bytes) -> int:
        ws.receive_data(data)
        return sum(1 for _ in ws.events())

    return parse


def fast_path() -> Callable[[bytes], int]:
    frames = InboundFrames(Connection(ConnectionType.SERVER))
    return lambda data: sum(1 for _ in frames.feed(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_framing", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--frames", type=int, default=50_000, help="frames per measurement (default 50000)")
    args = parser.parse_args(argv)
    frame = masked_text_frame(PAYLOAD)
    ratios = {}
    for per_read in (1, 64):
        reads = [frame * per_read] * (args.frames // per_read)
        frames = len(reads) * per_read
        # Fresh parsers per pass would measure their construction; one each, fed the same stream, is fair.
        alone, fast = per_frame_us(wsproto_alone(), reads, frames), per_frame_us(fast_path(), reads, frames)
        ratios[per_read] = alone / fast
        print(f"  {per_read:>2} frame(s) per read: wsproto {alone:6.2f} us/frame, "
              f"fast path {fast:5.2f} us/frame = {ratios[per_read]:.1f}x", flush=True)  # fmt: skip
    ok = ratios[1] >= TARGET_RATIO
    print(f"RESULT wsproto / fast path, one frame per read = {ratios[1]:.1f}x - "
          f"{'meets' if ok else 'MISSES'} the {TARGET_RATIO:g}x target")  # fmt: skip
    return 0


if __name__ == "__main__":
    run_timed(main)
