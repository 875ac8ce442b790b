"""The compiled load generator (bench/go/loadgen) and gorilla/websocket's examples/chat, built and run.

Both are built from bench/go's module (gorilla/websocket pinned in go.mod/go.sum) into ~/.cache/chat-bench
(never into the repository); the gorilla chat is built from the module's own zip in the Go module cache,
exactly as published. A Python generator saturates at ~70k deliveries/s, far below what these servers
reach; this one is Go, and counts messages, not frames (gorilla packs several messages into a frame).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common.load import ws_url
from scripts.common.paths import REPO_ROOT
from scripts.common.procs import app_process, free_port, managed_process, poll_until

GO_MODULE = REPO_ROOT / "bench" / "go"
GORILLA = "github.com/gorilla/websocket"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chat-bench"
LOADGEN = CACHE / "loadgen"
GORILLA_CHAT = CACHE / "gorilla-chat"
# The bench measures the hot path: the per-connection rate limit and the door's connection caps (all the
# generator's clients come from 127.0.0.1) must not shape the load.
UNLIMITED = {
    "CHAT_RATE_PER_SECOND": "1000000",
    "CHAT_RATE_BURST": "1000000",
    "CHAT_MAX_CONNECTIONS": "15000",
    "CHAT_MAX_CONNECTIONS_PER_IP": "15000",
}


class BenchError(RuntimeError):
    """The bench cannot run (no Go toolchain, a server that does not start); the message says why."""


def build() -> None:
    """Build the load generator and the gorilla chat (go's build cache makes a rebuild a no-op)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOFLAGS": "-mod=mod -buildvcs=false"}
    _go(["build", "-o", str(LOADGEN), "./loadgen"], GO_MODULE, env)
    listing = json.loads(_go(["mod", "download", "-json", GORILLA], GO_MODULE, env))
    _go(["build", "-o", str(GORILLA_CHAT), "./examples/chat"], Path(listing["Dir"]), env)


def _go(args: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise BenchError("the Go toolchain (go) is not on PATH; the benchmarks need it") from None
    if done.returncode != 0:
        raise BenchError(f"go {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def raise_fd_limit() -> None:
    """Thousands of connections need thousands of descriptors, in this process and in the servers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass(frozen=True)
class Server:
    kind: str  # "app" or "gorilla"
    ws_url: str
    pid: int

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise BenchError(f"no VmRSS for pid {self.pid}")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


@contextlib.contextmanager
def app_server(env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """A fresh `python -m app` (rate limit off unless `env` says otherwise)."""
    with app_process(env={**UNLIMITED, **(env or {})}) as app:
        yield Server("app", ws_url(app.url), app.proc.pid)


@contextlib.contextmanager
def gorilla_server() -> Iterator[Server]:
    """A fresh gorilla examples/chat, unmodified."""
    port = free_port()
    with managed_process([str(GORILLA_CHAT), "-addr", f"127.0.0.1:{port}"]) as proc:
        if not poll_until(lambda: _listening(port), 10):
            raise BenchError("the gorilla chat did not start listening")
        yield Server("gorilla", f"ws://127.0.0.1:{port}/ws", proc.pid)


def _listening(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def server(kind: str, env: Mapping[str, str] | None = None) -> contextlib.AbstractContextManager[Server]:
    return app_server(env) if kind == "app" else gorilla_server()


def loadgen(
    server: Server, *args: str, on_line: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Run the generator against `server`; its JSON result lines, each also passed to `on_line` at once."""
    argv = [str(LOADGEN), "-url", server.ws_url, "-proto", server.kind, *args]
    results = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            result = json.loads(line)
            results.append(result)
            if on_line:
                on_line(result)
        error = proc.stderr.read()
    if proc.returncode != 0:
        raise BenchError(f"loadgen {' '.join(args)} failed: {error.strip()[-300:]}")
    return results


@dataclass(frozen=True)
class LoopRun:
    kind: str
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_delivery: float  # the server's
    loadgen_cpu_us_per_delivery: float  # the generator's: it must stay the cheaper side
    bytes_per_delivery: float  # payload bytes the generator read per message (the same text on both sides)

    def line(self) -> str:
        return (
            f"  {self.kind:<8} {self.deliveries_per_s:>11,.0f} deliveries/s  p50 {self.p50_ms:7.2f} ms"
            f"  p99 {self.p99_ms:7.2f} ms  server CPU {self.cpu_us_per_delivery:5.2f} us/delivery"
            f"  (generator {self.loadgen_cpu_us_per_delivery:4.2f})"
            f"  {self.bytes_per_delivery:3.0f} B/delivery"
        )


def closed_loop(server: Server, clients: int, seconds: float) -> LoopRun:
    """Closed loop; CPU is read around the run and divided by every delivery of it (warm-up included).

    A run in which the server disconnected a client compares nothing (the others get its share of the
    server), so it is an error, not a figure.
    """
    cpu_before, loadgen_before = server.cpu_s(), _children_cpu_s()
    (result,) = loadgen(server, "-mode", "loop", "-clients", str(clients), "-seconds", str(seconds))
    cpu, loadgen_cpu = server.cpu_s() - cpu_before, _children_cpu_s() - loadgen_before
    if result["disconnects"]:
        raise BenchError(
            f"{server.kind} disconnected {result['disconnects']} of {clients} clients in the closed loop: "
            "the comparison would be invalid"
        )
    every = max(int(result["all_deliveries"]), 1)
    return LoopRun(
        server.kind,
        result["deliveries_per_s"],
        result["p50_ms"],
        result["p99_ms"],
        cpu / every * 1e6,
        loadgen_cpu / every * 1e6,
        float(result["bytes_per_delivery"]),
    )


def _children_cpu_s() -> float:
    """CPU of the reaped children: the generator's, once loadgen() has waited for it (servers end later)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
