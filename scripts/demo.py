"""`make demo`: show the whole thing working, with Docker if there is an engine, locally otherwise.

    python -m scripts.demo [--seconds 30] [--clients 10] [--rate 20] [--local]

With Docker (`docker compose version` works and `docker info` reaches a daemon):
  1. writes .env with random secrets if there is none (docker compose refuses to start without them),
  2. `docker compose up -d --build`, then waits until Grafana, Loki, Prometheus and the app answer,
  3. publishes dashboards and alerting (`python -m scripts.publish --wait 120`) as the admin from .env,
  4. sends chat traffic for --seconds with the load generator, posts one demo alert into the chat,
  5. prints the URLs. The stack keeps running; `make down` (docker compose down) stops it.

Without Docker (or with --local) it says so in one line and runs what works on this machine:
render, the app, a local Prometheus scraping it (if the `prometheus` binary is installed), the load
generator for --seconds, one demo alert through the real webhook endpoint, then lint and verify. A step
whose program is not installed (prometheus, promtool, node) is skipped with the package to install. It
prints what it ran and the URLs, stops everything it started, and exits 1 if a step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from scripts.common.exits import ExitCode
from scripts.common.load import LoadError, LoadSpec, run_load
from scripts.common.paths import REPO_ROOT
from scripts.common.procs import running_app, wait_http_ok
from scripts.common.prometheus import running_prometheus

ENV_FILE = REPO_ROOT / ".env"
COMPOSE_APP_URL = "http://127.0.0.1:8000"
COMPOSE_URLS = {
    "Grafana": "http://127.0.0.1:3000/api/health",
    "Loki": "http://127.0.0.1:3100/ready",
    "Prometheus": "http://127.0.0.1:9090/-/ready",
    "chat app": f"{COMPOSE_APP_URL}/readyz",
}
STACK_READY_TIMEOUT_S = 240.0  # first `up --build` pulls images and installs the app's requirements
PUBLISH_WAIT_S = 120
STEP_TIMEOUT_S = 600.0
# Programs each local check runs besides Python: without them the step is skipped (and said so), not failed.
LINT_NEEDS = ("promtool", "node")  # PromQL syntax by promtool, LogQL/PromQL grammars by node
VERIFY_NEEDS = ("prometheus", "promtool")  # a real Prometheus, `promtool test rules`
DEBIAN_PACKAGE = {"prometheus": "prometheus", "promtool": "prometheus", "node": "nodejs"}


@dataclass
class Report:
    """What the demo ran and how each step went ("ok", "FAIL" or "skip"), printed at the end."""

    steps: list[tuple[str, str, str]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, ok: bool, detail: str = "", *, skipped: bool = False) -> bool:
        status = "skip" if skipped else "ok" if ok else "FAIL"
        self.steps.append((name, status, detail))
        print(_step_line(name, status, detail), flush=True)
        return ok

    @property
    def ok(self) -> bool:
        return all(status != "FAIL" for _, status, _ in self.steps)

    def print_summary(self) -> None:
        print("\n== demo summary")
        for step in self.steps:
            print(_step_line(*step))
        for label, url in self.urls.items():
            print(f"  {label:<24} {url}")


def _step_line(name: str, status: str, detail: str) -> str:
    return f"  {status:<4} {name}{': ' + detail if detail else ''}"


def run_step(report: Report, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> bool:
    """Run a command from the repo root with its output shown; record whether it exited 0."""
    print(f"\n== {name}: {' '.join(argv)}", flush=True)
    try:
        result = subprocess.run(
            list(argv), cwd=REPO_ROOT, env={**os.environ, **(env or {})}, timeout=STEP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return report.add(name, False, str(exc))
    return report.add(
        name, result.returncode == 0, "" if result.returncode == 0 else f"exit {result.returncode}"
    )


def run_step_needing(report: Report, name: str, argv: Sequence[str], needs: Sequence[str]) -> bool:
    """run_step, or a "skip" naming the missing programs when one of `needs` is not on PATH."""
    missing = [program for program in needs if not shutil.which(program)]
    if missing:
        packages = " ".join(sorted({DEBIAN_PACKAGE[program] for program in missing}))
        why = f"needs {' and '.join(missing)}, not installed (apt-get install {packages})"
        return report.add(name, False, why, skipped=True)
    return run_step(report, name, argv)


def docker_available() -> tuple[bool, str]:
    """Whether `docker compose` can run containers here, and if not, why (one line)."""
    if not shutil.which("docker"):
        return False, "no docker client on PATH"
    for argv in (["docker", "compose", "version"], ["docker", "info"]):
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"`{' '.join(argv)}` failed: {exc}"
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            return (
                False,
                f"`{' '.join(argv)}` failed: {lines[0] if lines else 'exit ' + str(result.returncode)}",
            )
    return True, ""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments and blank lines skipped, surrounding quotes removed)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
    return values


def ensure_env_file(path: Path) -> dict[str, str]:
    """The .env values; create the file with random secrets first if it does not exist."""
    if not path.exists():
        path.write_text(
            "# Written by `make demo` with random secrets; see .env.example for what each one is.\n"
            f"GRAFANA_ADMIN_PASSWORD={secrets.token_urlsafe(24)}\n"
            f"ALERT_WEBHOOK_TOKEN={secrets.token_urlsafe(32)}\n"
            "APP_ENV=demo\n",
            encoding="utf-8",
        )
        path.chmod(0o600)
        print(
            f"wrote {path.name} with random secrets (Grafana login: admin / GRAFANA_ADMIN_PASSWORD in .env)"
        )
    return read_env_file(path)


def demo_alert(status: str) -> dict[str, object]:
    """A webhook body in Grafana's notification format, as the compose Grafana would send it."""
    now = datetime.now(UTC).isoformat()
    return {
        "receiver": "chat-webhook",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "DemoAlert", "severity": "warning"},
                "annotations": {"summary": "Demo: this is how a Grafana alert looks in the chat"},
                "startsAt": now,
                "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "panelURL": "",
                "dashboardURL": "",
            }
        ],
        "groupLabels": {"alertname": "DemoAlert"},
        "commonLabels": {"alertname": "DemoAlert"},
        "commonAnnotations": {},
        "externalURL": "",
        "version": "1",
    }


def post_demo_alert(report: Report, app_url: str, token: str) -> None:
    try:
        response = requests.post(
            f"{app_url}/api/alerts/grafana",
            json=demo_alert("firing"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except requests.RequestException as exc:
        report.add("demo alert into the chat", False, str(exc))
        return
    report.add("demo alert into the chat", response.status_code == 200, f"HTTP {response.status_code}")


def drive_traffic(report: Report, app_url: str, args: argparse.Namespace) -> None:
    print(
        f"\n== chat traffic: {args.clients} clients, {args.rate:g} msg/s for {args.seconds:g} s", flush=True
    )
    try:
        result = run_load(
            LoadSpec(url=app_url, clients=args.clients, seconds=args.seconds, rate=args.rate, bad_ratio=0.05)
        )
    except LoadError as exc:
        report.add("load generator", False, str(exc))
        return
    report.add("load generator", True, result.summary())


def demo_with_docker(report: Report, args: argparse.Namespace) -> None:
    secrets_env = ensure_env_file(ENV_FILE)
    if not run_step(report, "start the stack", ["docker", "compose", "up", "-d", "--build"]):
        return
    for name, url in COMPOSE_URLS.items():
        try:
            wait_http_ok(url, STACK_READY_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            report.add(f"{name} ready", False, f"{exc} (see `docker compose logs`)")
            return
        report.add(f"{name} ready", True, url)
    publish_env = {
        "GRAFANA_URL": "http://127.0.0.1:3000",
        "GRAFANA_PUBLIC_URL": "http://localhost:3000",
        "GRAFANA_USER": "admin",
        "GRAFANA_PASSWORD": secrets_env.get("GRAFANA_ADMIN_PASSWORD", ""),
        "ALERT_WEBHOOK_TOKEN": secrets_env.get("ALERT_WEBHOOK_TOKEN", ""),
    }
    publish = [sys.executable, "-m", "scripts.publish", "--wait", str(PUBLISH_WAIT_S)]
    run_step(report, "publish dashboards and alerting", publish, env=publish_env)
    drive_traffic(report, COMPOSE_APP_URL, args)
    post_demo_alert(report, COMPOSE_APP_URL, secrets_env.get("ALERT_WEBHOOK_TOKEN", ""))
    report.urls.update(
        {
            "Grafana (admin in .env)": "http://localhost:3000/dashboards/f/chat/",
            "chat": "http://localhost:8000/",
            "embedded panels": "http://localhost:8000/dashboards",
            "Prometheus": "http://localhost:9090/targets",
            "stop the stack": "make down",
        }
    )


@contextlib.contextmanager
def optional_prometheus(report: Report, app_url: str, work_dir: Path) -> Iterator[str | None]:
    """A local Prometheus scraping the app, or None (said once) when the binary is not installed."""
    if not shutil.which("prometheus"):
        report.add("local Prometheus", False, "not installed (apt-get install prometheus)", skipped=True)
        yield None
        return
    try:
        with running_prometheus(app_url, work_dir, {}) as prometheus_url:
            report.add("local Prometheus", True, prometheus_url)
            yield prometheus_url
    except (TimeoutError, RuntimeError) as exc:
        report.add("local Prometheus", False, f"{exc} (log: {work_dir / 'prometheus.log'})")
        yield None


def demo_local(report: Report, args: argparse.Namespace) -> None:
    python = sys.executable
    run_step(report, "render", [python, "-m", "scripts.render"])
    token = secrets.token_urlsafe(16)  # this run's webhook secret: the demo alert below uses it
    with tempfile.TemporaryDirectory(prefix="chat-demo-") as tmp, contextlib.ExitStack() as stack:
        work_dir = Path(tmp)
        app_env = {"ALERT_WEBHOOK_TOKEN": token, "APP_ENV": "demo"}
        try:
            app_url = stack.enter_context(running_app(env=app_env, log_path=work_dir / "app.log"))
        except (TimeoutError, RuntimeError) as exc:
            report.add("chat app", False, f"{exc} (log: {work_dir / 'app.log'})")
            return
        report.add("chat app", True, app_url)
        report.urls.update(
            {"chat (while running)": f"{app_url}/", "embedded panels": f"{app_url}/dashboards"}
        )
        prometheus_url = stack.enter_context(optional_prometheus(report, app_url, work_dir))
        if prometheus_url:
            report.urls["Prometheus (while running)"] = f"{prometheus_url}/targets"
        print(f"\nopen {app_url}/ now: the demo runs for {args.seconds:g} s, then stops everything")
        post_demo_alert(report, app_url, token)
        drive_traffic(report, app_url, args)
    run_step_needing(report, "lint", [python, "-m", "scripts.lint"], LINT_NEEDS)
    run_step_needing(report, "verify", [python, "-m", "scripts.verify"], VERIFY_NEEDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="chat traffic duration (default 30)")
    parser.add_argument("--clients", type=int, default=10, help="load generator clients (default 10)")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second in total (default 20)")
    parser.add_argument("--local", action="store_true", help="skip Docker even if it is available")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.rate <= 0:
        parser.error("--seconds and --rate must be > 0, --clients >= 1")
    report = Report()
    started = time.monotonic()
    try:
        available, why = (False, "--local given") if args.local else docker_available()
        if available:
            print("== Docker engine found: running the compose stack")
            demo_with_docker(report, args)
        else:
            print(
                f"== No Docker engine ({why}): running the local demo instead (app, Prometheus, lint, verify)"
            )
            demo_local(report, args)
    except KeyboardInterrupt:
        report.add("demo", False, "interrupted; everything started was stopped")
    report.print_summary()
    print(f"  took {time.monotonic() - started:.0f} s")
    return ExitCode.OK if report.ok else ExitCode.FAILED


if __name__ == "__main__":
    sys.exit(main())
