"""One process versus replicas fanned out through Redis, on the same total client count, in the same run.

    python -m bench.bench_cluster [--seconds 4] [--clients 30] [--rounds 2]

Modes, each on fresh `python -m app` servers and one real redis-server (scripts/common/redis_server),
alternated round after round (single, cluster, one-replica, single, ...) so that drift in machine load
hits every mode alike:
- single: one process, no CHAT_REDIS_URL (the hub alone: today's chat);
- 1 replica: one process through Redis (every event makes the broker round trip, nothing else changes);
- 3 replicas: three processes through Redis, the clients spread evenly over them.

Closed loop (scripts.common.load: every client sends its next message when its previous one came back;
every message goes to every client of every replica): deliveries/s and p99 delivery latency; CPU per
delivery = CPU time of every app process (process_cpu_seconds_total) plus redis-server's (INFO cpu),
from the first message to the drain, over the deliveries. Open loop at a low rate (no queueing): p50
latency, whose difference with the single process is the added latency of the broker hop (in a cluster
every delivery takes it, the sender's own replica's too: events come back from Redis).

On 2 shared cores three replicas cannot be faster in absolute terms (they, Redis and the load generator
share the cores): the ratios say what the broker costs, not what more machines would gain.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.go_load import UNLIMITED
from scripts.common.load import LoadError, LoadResult, LoadSpec, run_load
from scripts.common.procs import running_app
from scripts.common.redis_server import running_redis
from tests.support.metrics import metric, scrape

MODES = {"single": (1, False), "3 replicas": (3, True), "1 replica": (1, True)}  # replicas, through Redis
OPEN_LOOP_RATE = 20.0  # messages/s in total: far below saturation, so latency is the path, not a queue
OPEN_LOOP_CLIENTS = 6


@dataclass(frozen=True)
class Run:
    deliveries: int
    elapsed_s: float
    latencies_s: list[float]
    cpu_s: float

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.elapsed_s

    def quantile(self, q: float) -> float:
        return LoadResult(latencies_s=self.latencies_s).latency_quantile(q)

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_s / self.deliveries * 1e6 if self.deliveries else float("nan")

    def line(self, label: str) -> str:
        return (
            f"  {label:<10} {self.deliveries_per_s:>8,.0f} deliveries/s"
            f"  p50 {self.quantile(0.5) * 1e3:6.1f} ms"
            f"  p99 {self.quantile(0.99) * 1e3:6.1f} ms  CPU {self.cpu_us_per_delivery:5.1f} us/delivery"
            f"  ({self.deliveries:,} delivered)"
        )


@contextlib.contextmanager
def replicas(count: int, redis_url: str | None) -> Iterator[list[str]]:
    env = {**UNLIMITED, **({"CHAT_REDIS_URL": redis_url} if redis_url else {})}
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(running_app(env=env)) for _ in range(count)]


def cpu_seconds(urls: list[str], broker: redis.Redis | None) -> float:
    total = sum(metric(scrape(url), "process_cpu_seconds_total") for url in urls)
    if broker is not None:
        info = broker.info("cpu")
        total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return total


def measure(urls: list[str], broker: redis.Redis | None, clients: int, seconds: float, rate: float) -> Run:
    """`clients` spread over `urls`, one load generator thread per replica; CPU between two barriers that
    every thread reaches once its clients joined ("load") and once its deliveries drained."""
    cpu_at: dict[str, float] = {}
    barriers = {
        phase: threading.Barrier(
            len(urls), action=lambda p=phase: cpu_at.__setitem__(p, cpu_seconds(urls, broker))
        )
        for phase in ("load", "drained")
    }
    results: list[LoadResult] = []
    errors: list[Exception] = []

    def drive(url: str, share: int) -> None:
        spec = LoadSpec(url, clients=share, seconds=seconds, rate=rate / len(urls))
        try:
            results.append(run_load(spec, lambda phase: barriers[phase].wait(timeout=120)))
        except (LoadError, threading.BrokenBarrierError) as exc:
            errors.append(exc)
            for barrier in barriers.values():
                barrier.abort()

    shares = [clients // len(urls) + (i < clients % len(urls)) for i in range(len(urls))]
    threads = [
        threading.Thread(target=drive, args=(url, share)) for url, share in zip(urls, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise LoadError(str(errors[0]))
    return Run(
        deliveries=sum(r.delivered for r in results),  # every client counts every replica's messages
        elapsed_s=max(r.elapsed_s for r in results),
        latencies_s=[s for r in results for s in r.latencies_s],
        cpu_s=cpu_at["drained"] - cpu_at["load"],
    )


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run.deliveries_per_s)[len(runs) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_cluster", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="closed-loop load per run")
    parser.add_argument("--clients", type=int, default=30, help="total clients, spread over the replicas")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every mode, alternated")
    args = parser.parse_args(argv)
    started = time.monotonic()
    closed: dict[str, list[Run]] = {mode: [] for mode in MODES}
    opened: dict[str, list[Run]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp, running_redis(Path(tmp)) as server:
        broker = redis.Redis.from_url(server.url)
        print(
            f"{args.clients} clients, closed loop {args.seconds:g} s, then open loop {OPEN_LOOP_RATE:g} msg/s"
        )
        try:
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}:")
                for mode, (count, through_redis) in MODES.items():
                    with replicas(count, server.url if through_redis else None) as urls:
                        meter = broker if through_redis else None
                        closed[mode].append(measure(urls, meter, args.clients, args.seconds, rate=0))
                        print(closed[mode][-1].line(mode))
                        opened[mode].append(measure(urls, meter, OPEN_LOOP_CLIENTS, 3.0, OPEN_LOOP_RATE))
        except (LoadError, TimeoutError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            broker.close()

    medians = {mode: median_run(runs) for mode, runs in closed.items()}
    print("Ratios to the single process (median run of each mode):")
    for what, value in (
        ("deliveries/s", lambda run: run.deliveries_per_s),
        ("p99 latency", lambda run: run.quantile(0.99)),
        ("CPU/delivery", lambda run: run.cpu_us_per_delivery),
    ):
        baseline = value(medians["single"])
        print(
            f"  {what:<13}"
            + "".join(
                f"  {mode} {value(medians[mode]) / baseline:5.2f}" for mode in MODES if mode != "single"
            )
        )
    p50 = {mode: statistics.median(run.quantile(0.5) for run in opened[mode]) for mode in MODES}
    hops = "".join(
        f"  {mode} +{(p50[mode] - p50['single']) * 1e3:.2f} ms ({p50[mode] / p50['single']:.2f}x)"
        for mode in MODES
        if mode != "single"
    )
    print(f"  broker hop, open-loop p50 {p50['single'] * 1e3:.2f} ms single:{hops}")
    print(f"(bench took {time.monotonic() - started:.0f} s; 2 shared cores: compare ratios, not absolutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
