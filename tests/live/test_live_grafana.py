"""Opt-in: publish to a real Grafana (the docker compose stack), publish again as a no-op, read back.

Runs only when GRAFANA_URL is set, with GRAFANA_TOKEN (service account, role Admin) or
GRAFANA_USER/GRAFANA_PASSWORD:

    docker compose up -d
    GRAFANA_URL=http://127.0.0.1:3000 GRAFANA_USER=admin GRAFANA_PASSWORD=... \
        .venv/bin/python -m pytest -m live tests/live/test_live_grafana.py

It publishes its own objects (dashboards `livetest-*`, one rule group) into a separate folder
`chat-live-test` - never the real `chat` folder, contact points or policy tree - and deletes that folder
(with its rules) afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.grafana.client import Grafana
from scripts.grafana.target import load_target
from scripts.publish.compare import content_hash
from tests.support.grafana_emulator.publish_cli import run_publish
from tests.support.grafana_emulator.rendered import dashboard, rule, rule_group, write_tree

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("GRAFANA_URL"), reason="GRAFANA_URL not set (live Grafana tests)"),
]
FOLDER = "chat-live-test"
CREDENTIAL_VARS = ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_ORG_ID")


def live_tree() -> dict[str, Any]:
    rules = [rule("livetest-rule-a", "Live test A", "live"), rule("livetest-rule-b", "Live test B", "live")]
    for item in rules:
        item["annotations"]["__dashboardUid__"] = "livetest-overview"
    # Grafana copies a model's queryType onto the query (AlertQuery.PreSave); the no-op check below
    # proves the comparison accounts for it, as for the Loki rule in dashboards/alerts.py.
    rules[1]["data"][0]["model"]["queryType"] = "instant"
    return {
        "dashboards": [
            dashboard("livetest-overview", "Live test overview"),
            dashboard("livetest-logs", "Live test logs"),
        ],
        "rule_groups": [rule_group("live", rules)],
        "contact_points": [],
        "policy": None,
        "embeds": [],
    }


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    env_file = tmp_path / "environments.yaml"
    env_file.write_text(
        f"environments:\n  live:\n    url: {os.environ['GRAFANA_URL']}\n"
        f"    folder: {{uid: {FOLDER}, title: Chat live test}}\n"
    )
    passed = {k: os.environ[k] for k in CREDENTIAL_VARS if os.environ.get(k)}
    directory = write_tree(tmp_path / "rendered", live_tree())
    yield env_file, directory, passed
    target = load_target("live", env_file, os.environ)
    Grafana(target).call("cleanup", lambda api: api.folder.delete_folder(FOLDER, force_delete_rules=True))


def test_publish_noop_and_read_back(environment: tuple[Path, Path, dict[str, str]]) -> None:
    env_file, directory, passed = environment
    args = ("--env", "live", "--env-file", str(env_file), "--wait", "60")
    first = run_publish(passed["GRAFANA_URL"], directory, *args, token=None, extra_env=passed)
    assert first.returncode == 0, first.stdout + first.stderr

    again = run_publish(passed["GRAFANA_URL"], directory, *args, "--json", token=None, extra_env=passed)
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)
    assert {c["action"] for c in report["plan"]} == {"unchanged"}, report["plan"]
    assert report["results"] == []

    grafana = Grafana(load_target("live", env_file, os.environ))
    for item in live_tree()["dashboards"]:
        live = grafana.call("read back", lambda api, uid=item["uid"]: api.dashboard.get_dashboard(uid))
        assert live["meta"]["folderUid"] == FOLDER
        assert content_hash(live["dashboard"]) == content_hash(item)
    group = grafana.call("read back", lambda api: api.alertingprovisioning.get_rule_group(FOLDER, "live"))
    assert [r["uid"] for r in group["rules"]] == ["livetest-rule-a", "livetest-rule-b"]
