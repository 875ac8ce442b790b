"""A real Redis (Debian's `redis-server`) on a free loopback port, for the cluster's tests, bench and verify.

No persistence, loopback only; every wait is bounded. The server can be stopped and started again on the
same port (Redis lost and back) and paused (a broker that stops answering) while the block runs, and it
is always stopped when the block exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scripts.common.procs import free_port, poll_until, stop_process
from scripts.common.tools import require_tool

READY_TIMEOUT_S = 20.0


@dataclass
class RedisServer:
    """One redis-server process on 127.0.0.1:`port` (restartable on that port)."""

    port: int
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)  # added to this environment (e.g. a run marker)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again) and wait until it answers PING; RuntimeError when it does not."""
        argv = [
            require_tool("redis-server"),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                argv,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not poll_until(lambda: self.answers() or self._proc.poll() is not None, READY_TIMEOUT_S, 0.02):
            raise RuntimeError(
                f"redis-server on port {self.port} did not answer within {READY_TIMEOUT_S:.0f}s"
            )
        if not self.answers():
            raise RuntimeError(f"redis-server on port {self.port} exited: see {self.log_path}")

    def stop(self) -> None:
        """SIGKILL, as a crash would: clients see their connections drop."""
        if self._proc is not None and self._proc.poll() is None:
            self.resume()
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
        self._proc = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (a hung broker)."""
        if self._proc is not None:
            os.killpg(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None:
            os.killpg(self._proc.pid, signal.SIGCONT)

    def answers(self) -> bool:
        """True when PING gets PONG within a second."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def close(self) -> None:
        if self._proc is not None:
            self.resume()
            stop_process(self._proc)
            self._proc = None


@contextlib.contextmanager
def running_redis(work_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[RedisServer]:
    """A fresh redis-server on a free port; stopped on exit, whatever happens."""
    server = RedisServer(free_port(), work_dir / "redis.log", dict(env or {}))
    try:
        server.start()
        yield server
    finally:
        server.close()
