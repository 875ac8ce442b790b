"""Run `python -m scripts.publish` as a subprocess against an emulator, with a clean GRAFANA_* environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.common.paths import REPO_ROOT

WEBHOOK_SECRET = "webhook-secret-do-not-print"
_OURS = ("GRAFANA_", "ALERT_WEBHOOK_TOKEN")


def run_publish(
    url: str, directory: Path, *args: str, token: str | None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI's exit code, stdout and stderr; only the given settings are visible to it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(GRAFANA_URL=url, ALERT_WEBHOOK_TOKEN=WEBHOOK_SECRET, PYTHONPATH=str(REPO_ROOT))
    if token is not None:
        env["GRAFANA_TOKEN"] = token
    env.update(extra_env or {})
    argv = [sys.executable, "-m", "scripts.publish", "--dir", str(directory), *args]
    return subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=90, check=False
    )
