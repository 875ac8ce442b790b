"""The chat's hot path against gorilla/websocket's examples/chat, with a compiled load generator.

    python -m bench.bench_hot_path [--seconds 3] [--clients 50,200] [--idle 1000,5000]

Every figure is a ratio to gorilla measured in the same run, fresh servers each time, in alternating order
(app, gorilla, gorilla, app: a drift in machine load hits both alike); the machine's 2 cores are shared
by the servers, the generator and whatever else runs, so absolute numbers are lower bounds:
- closed loop (each client sends its next message when its previous one has reached every client, so each
  client's queue holds at most N messages: gorilla's holds 256 and its hub drops a client whose queue is
  full), 50 and 200 clients: deliveries/s (messages, not frames; the same 26-byte text on both), p50/p99
  delivery latency, server and generator CPU per delivery; target >= 1.0x. A run in which a server
  disconnects a client is an error, not a figure;
- N idle clients connecting (and, for the app, joining) at once: seconds until the last is in (target for
  5,000: <= 5 s), the server's memory per idle connection (RSS growth / N; target <= 25 KB) and its file
  descriptors per connection;
- one message broadcast to 1,000 idle clients: time until the last has it (median of 5; target <= 1.5x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.go_load import (
    BenchError,
    LoopRun,
    build,
    closed_loop,
    loadgen,
    raise_fd_limit,
    server,
)
from bench.running import run_timed

ORDER = ("app", "gorilla", "gorilla", "app")
LOOP_TARGET = 1.0
MEMORY_TARGET_KB = 25.0
CONNECT_TARGET_S = 5.0
BROADCAST_TARGET = 1.5
BROADCAST_CLIENTS = 1000


def loop_ratio(clients: int, seconds: float) -> tuple[float, list[LoopRun]]:
    runs = []
    for kind in ORDER:
        with server(kind) as srv:
            run = closed_loop(srv, clients, seconds)
        runs.append(run)
        print(run.line(), flush=True)
    app = statistics.mean(r.deliveries_per_s for r in runs if r.kind == "app")
    gorilla = statistics.mean(r.deliveries_per_s for r in runs if r.kind == "gorilla")
    return app / gorilla, runs


def idle_figures(kind: str, clients: int, broadcasts: int) -> dict[str, float]:
    """Connect `clients` at once; memory and fds per connection while they idle; broadcast times."""
    with server(kind) as srv:
        time.sleep(0.5)
        base_rss, base_fds = srv.rss_kb(), srv.fds()
        figures: dict[str, float] = {}

        def on_line(result: dict[str, object]) -> None:
            if result["mode"] == "connected":
                figures["connect_s"] = float(result["connect_s"])  # type: ignore[arg-type]
                time.sleep(1.0)  # the room settles (presence, allocator)
                figures["kb_per_conn"] = (srv.rss_kb() - base_rss) / clients
                figures["fds_per_conn"] = (srv.fds() - base_fds) / clients
            elif result["mode"] == "broadcast":
                figures["broadcast_ms"] = float(result["median_ms"])  # type: ignore[arg-type]

        loadgen(
            srv, "-mode", "idle", "-clients", str(clients), "-hold", "2", "-broadcasts", str(broadcasts),
            on_line=on_line,
        )  # fmt: skip
        return figures


def idle_report(clients: int) -> list[bool]:
    """Print the idle figures of both servers at `clients` and the targets they meet."""
    broadcasts = 5 if clients == BROADCAST_CLIENTS else 1
    figures = {kind: idle_figures(kind, clients, broadcasts) for kind in ("app", "gorilla")}
    for kind, f in figures.items():
        print(
            f"  {clients} idle, {kind:<8} connect{'+join' if kind == 'app' else ''} {f['connect_s']:.2f} s, "
            f"{f['kb_per_conn']:.1f} KB and {f['fds_per_conn']:.2f} fds per connection, "
            f"one broadcast reaches all in {f['broadcast_ms']:.1f} ms",
            flush=True,
        )
    app, gorilla = figures["app"], figures["gorilla"]
    checks = [
        (
            app["kb_per_conn"] <= MEMORY_TARGET_KB,
            f"memory per idle connection at {clients}: {app['kb_per_conn']:.1f} KB "
            f"(gorilla {gorilla['kb_per_conn']:.1f}), target <= {MEMORY_TARGET_KB:g} KB",
        )
    ]
    if clients >= 5000:
        checks.append((
            app["connect_s"] <= CONNECT_TARGET_S,
            f"{clients} clients connect and join in {app['connect_s']:.2f} s "
            f"(gorilla connect {gorilla['connect_s']:.2f} s), target <= {CONNECT_TARGET_S:g} s",
        ))  # fmt: skip
    if clients == BROADCAST_CLIENTS:
        ratio = app["broadcast_ms"] / gorilla["broadcast_ms"]
        checks.append((
            ratio <= BROADCAST_TARGET,
            f"one broadcast to {clients} idle clients app/gorilla = {ratio:.2f}, target {BROADCAST_TARGET}x",
        ))  # fmt: skip
    for ok, what in checks:
        print(f"RESULT {what} - {verdict(ok)}", flush=True)
    return [ok for ok, _ in checks]


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_hot_path", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="closed-loop seconds per run (default 3)")
    parser.add_argument("--clients", default="50,200", help="closed-loop client counts (default 50,200)")
    parser.add_argument("--idle", default="1000,5000", help="idle client counts (default 1000,5000)")
    args = parser.parse_args(argv)
    raise_fd_limit()
    try:
        build()
        results = []
        for clients in (int(n) for n in args.clients.split(",")):
            print(f"closed loop, {clients} clients, {args.seconds:g} s per run:", flush=True)
            ratio, _ = loop_ratio(clients, args.seconds)
            results.append(ratio >= LOOP_TARGET)
            print(f"RESULT deliveries/s app/gorilla at {clients} clients = {ratio:.2f} - "
                  f"{verdict(ratio >= LOOP_TARGET)} the {LOOP_TARGET} target", flush=True)  # fmt: skip
        for clients in (int(n) for n in args.idle.split(",")):
            results += idle_report(clients)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{sum(results)} of {len(results)} targets met")
    return 0


if __name__ == "__main__":
    run_timed(main)
