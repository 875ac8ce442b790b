"""What instrumentation costs on the broadcast path: metrics and Loki shipping ON versus OFF, same run.

    python -m bench.bench_broadcast [--seconds 3] [--clients 50,200]

For each client count, four fresh `python -m app` servers (OFF, ON, ON, OFF: a drift in machine load hits
both modes alike) take the same closed-loop load from the compiled generator (bench/go/loadgen: every
client sends its next message when its previous one has reached every client):
- OFF: CHAT_METRICS=0 (no-op metric handles) and no LOKI_URL (logs to stdout only);
- ON: the real metrics, and LOKI_URL pointing at tests.support.loki_receiver (Loki push API, strict, 204).
Printed per run: deliveries/s, p50/p99 delivery latency and the server's CPU per delivery; then the ON/OFF
ratios of throughput and of server capacity (1 / CPU per delivery), measured directly. The generator is
compiled, so the server saturates first and batches as much as it can: the metrics' share of the work is
as large as it gets. Target: ON/OFF >= 0.97.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench.go_load import BenchError, LoopRun, app_server, build, closed_loop, raise_fd_limit
from bench.running import run_timed
from tests.support.loki_receiver import LokiReceiver

TARGET_RATIO = 0.97
ORDER = ("OFF", "ON", "ON", "OFF")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_broadcast", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="load per run (default 3)")
    parser.add_argument("--clients", default="50,200", help="comma-separated client counts (default 50,200)")
    args = parser.parse_args(argv)
    raise_fd_limit()
    try:
        build()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    worst = float("inf")
    with LokiReceiver() as loki:
        modes = {
            "OFF": {"CHAT_METRICS": "0", "LOKI_URL": ""},
            "ON": {"CHAT_METRICS": "1", "LOKI_URL": loki.url},
        }
        for clients in (int(n) for n in args.clients.split(",")):
            print(f"{clients} clients, closed loop, {args.seconds:g} s per run:", flush=True)
            runs: dict[str, list[LoopRun]] = {"OFF": [], "ON": []}
            for label in ORDER:  # ABBA
                try:
                    with app_server(modes[label]) as srv:
                        run = closed_loop(srv, clients, args.seconds)
                except BenchError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                runs[label].append(run)
                print(f"  {label:<3}" + run.line(), flush=True)
            throughput = {k: statistics.mean(r.deliveries_per_s for r in rs) for k, rs in runs.items()}
            cpu = {k: statistics.mean(r.cpu_us_per_delivery for r in rs) for k, rs in runs.items()}
            ratio = throughput["ON"] / throughput["OFF"]
            capacity = cpu["OFF"] / cpu["ON"]
            worst = min(worst, ratio)
            print(f"  ratio ON/OFF (means): throughput {ratio:.3f}, server capacity {capacity:.3f}")
        accepted = sum(push.status == 204 for push in loki.pushes)
        print(f"  (the Loki receiver accepted {accepted} pushes, {len(loki.entries)} log lines)")
    print(f"RESULT throughput ratio ON/OFF = {worst:.3f} (worst client count) - "
          f"{'meets' if worst >= TARGET_RATIO else 'MISSES'} the {TARGET_RATIO} target")  # fmt: skip
    return 0


if __name__ == "__main__":
    run_timed(main)
