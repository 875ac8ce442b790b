"""app.loop_metrics expose exactly what prometheus_client's own Counter, Histogram and Summary expose."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Counter, Histogram, Summary, generate_latest

from app.loop_metrics import LoopCounter, LoopHistogram, LoopSummary

BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 4096)


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text exposition without `_created` samples (their times differ; see app.loop_metrics)."""
    lines = generate_latest(registry).decode().splitlines()
    return [line for line in lines if "_created" not in line]


def test_the_loop_metrics_expose_what_prometheus_client_exposes() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    metrics = [
        (LoopCounter("c", "count", registry=ours), Counter("c", "count", registry=theirs)),
        (
            LoopHistogram("h", "sizes", BUCKETS, registry=ours),
            Histogram("h", "sizes", buckets=BUCKETS, registry=theirs),
        ),
        (LoopSummary("s", "times", registry=ours), Summary("s", "times", registry=theirs)),
    ]
    rng = random.Random(7)
    values = [*BUCKETS, 0, 5000, *(rng.uniform(0, 5000) for _ in range(500))]  # the bounds themselves too
    for value in values:
        for own, reference in metrics:
            if isinstance(own, LoopCounter):
                own.inc(value)
                reference.inc(value)  # type: ignore[union-attr]
            else:
                own.observe(value)
                reference.observe(value)  # type: ignore[union-attr]
    assert exposition(ours) == exposition(theirs)
    assert any(line.startswith('h_bucket{le="+Inf"} 510.0') for line in exposition(ours))
