"""Start and stop local helper processes (the app, Prometheus) on loopback, and always clean them up.

Used by `make verify`, `make demo`, the benchmarks and the tests, so that every caller starts servers the
same way: on a free port of 127.0.0.1, waiting (with a bounded deadline) until they answer, and killing the
whole process group on exit, even when the caller fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.common.paths import REPO_ROOT


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def poll_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.01) -> bool:
    """Call `condition` until it holds (True) or until `timeout_s` has passed (False): a bounded wait."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
    return True


def wait_http_ok(url: str, timeout_s: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 2xx; fail after `timeout_s` or as soon as `proc` exits."""
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt made"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s: {last_error}")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not exited after `grace_s`."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)


@contextlib.contextmanager
def managed_process(
    argv: Sequence[str],
    *,
    ready_url: str | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    ready_timeout_s: float = 20.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own process group until the block exits; wait for `ready_url` first if given."""
    full_env = {**os.environ, **(env or {})}
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        list(argv), env=full_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        if ready_url:
            wait_http_ok(ready_url, ready_timeout_s, proc)
        yield proc
    finally:
        stop_process(proc)
        if log_path:
            log_file.close()


def app_argv(port: int) -> list[str]:
    """The command line of `python -m app` serving 127.0.0.1:`port`."""
    return [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(port)]


@dataclass(frozen=True)
class RunningApp:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen[bytes]  # for callers that signal it (SIGTERM, SIGKILL, SIGSTOP)


@contextlib.contextmanager
def app_process(
    env: Mapping[str, str] | None = None, log_path: Path | None = None, port: int | None = None
) -> Iterator[RunningApp]:
    """Start `python -m app` on a free loopback port, ready; its URL and process until the block exits."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    with managed_process(
        app_argv(port), ready_url=f"{base_url}/readyz", env={"PYTHONPATH": str(REPO_ROOT), **(env or {})},
        log_path=log_path,
    ) as proc:  # fmt: skip
        yield RunningApp(base_url, proc)


@contextlib.contextmanager
def running_app(
    env: Mapping[str, str] | None = None, log_path: Path | None = None, port: int | None = None
) -> Iterator[str]:
    """Start `python -m app` on a free loopback port; yield its base URL (http://127.0.0.1:PORT)."""
    with app_process(env, log_path, port) as app:
        yield app.url
