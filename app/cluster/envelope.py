"""What travels on the channel: `<origin> <seq>\\n<payload>`, the hub's encoded event behind a tiny header.

The header lets a replica notice events it never received: each origin numbers what it publishes, so a
jump in an origin's sequence is that many events lost on the way (published while this replica or that
one was cut off from Redis). Reading it is one `partition` per event, never a JSON decode: the payload is
handed to the hub as it arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class EnvelopeError(ValueError):
    """Bytes on the channel that no replica of this chat published."""


def seal(origin: bytes, seq: int, payload: bytes) -> bytes:
    return b"%s %d\n%s" % (origin, seq, payload)


def unseal(data: bytes) -> tuple[bytes, int, bytes]:
    """(origin, seq, payload) of an envelope; EnvelopeError for anything else."""
    header, newline, payload = data.partition(b"\n")
    origin, space, seq = header.partition(b" ")
    if not (newline and space and origin and seq.isdigit()):
        raise EnvelopeError(f"not a chat envelope: {data[:40]!r}")
    return origin, int(seq), payload


@dataclass
class GapCounter:
    """The last sequence number seen from each origin; how many were skipped since."""

    _last: dict[bytes, int] = field(default_factory=dict)

    def missed(self, origin: bytes, seq: int) -> int:
        last = self._last.get(origin)
        self._last[origin] = seq
        if last is None or seq <= last:  # first event seen from it, or it restarted (a new origin anyway)
            return 0
        return seq - last - 1
