"""scripts/publish/redact.py: what the CI plan comment must not show."""

from __future__ import annotations

import os
import subprocess
import sys

from scripts.common.paths import REPO_ROOT
from scripts.publish.redact import redact

URL = "https://ci:pw@Grafana.Internal.example.com:3443/grafana/"
PLAN = """\
create     dashboard chat-overview
Dashboards:
  chat-overview            https://grafana.internal.example.com:3443/grafana/d/chat-overview
publish: error: cannot connect to Grafana at https://grafana.internal.example.com:3443/grafana (health check)
resolving grafana.internal.example.com:3443 failed; host grafana.internal.example.com
token glsa_secret_token in a message
"""


def test_urls_hosts_and_tokens_are_replaced_by_their_variable_names() -> None:
    redacted = redact(PLAN, {"GRAFANA_URL": URL, "GRAFANA_TOKEN": "glsa_secret_token", "UNSET": ""})
    assert (
        redacted
        == """\
create     dashboard chat-overview
Dashboards:
  chat-overview            <GRAFANA_URL>/d/chat-overview
publish: error: cannot connect to Grafana at <GRAFANA_URL> (health check)
resolving <GRAFANA_URL> failed; host <GRAFANA_URL>
token <GRAFANA_TOKEN> in a message
"""
    )


def test_the_command_reads_the_named_variables_from_the_environment() -> None:
    env = {**os.environ, "GRAFANA_URL": URL, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.publish.redact", "GRAFANA_URL", "GRAFANA_TOKEN"],
        input=PLAN,
        env={k: v for k, v in env.items() if k != "GRAFANA_TOKEN"},
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert "internal.example.com" not in result.stdout
    assert "glsa_secret_token" in result.stdout  # GRAFANA_TOKEN is not set: nothing to hide
