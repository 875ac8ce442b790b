"""Opt-in: publish to a real Grafana (the docker compose stack), publish again as a no-op, read back.

Runs only when GRAFANA_URL is set, with GRAFANA_TOKEN (service account, role Admin) or
GRAFANA_USER/GRAFANA_PASSWORD:

    docker compose up -d
    GRAFANA_URL=http://127.0.0.1:3000 GRAFANA_USER=admin GRAFANA_PASSWORD=... \
        .venv/bin/python -m pytest -m live tests/live/test_live_grafana.py

It publishes its own objects (dashboards `livetest-*`, one rule group) into a separate folder
`chat-live-test` - never the real `chat` folder, contact points or policy tree - and deletes that folder
(with its rules) afterwards. Each scenario runs through the legacy /api and, where the Grafana serves it
(12 with the app platform, 13.x), through /apis; against 12.3 the /apis half is skipped:

    docker compose up -d                                  # Grafana 13 (GRAFANA_VERSION=12.3.1 for 12.3)
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.grafana import apps
from scripts.grafana.apps import ApiChoice, choose_api
from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, is_not_found
from scripts.grafana.target import load_target
from scripts.publish.panels_view import classic_view
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
    try:
        Grafana(target).call("cleanup", lambda api: api.folder.delete_folder(FOLDER, force_delete_rules=True))
    except PublishError as error:
        if not is_not_found(error):  # a skipped scenario published nothing
            raise


def live_grafana(env_file: Path) -> Grafana:
    return Grafana(load_target("live", env_file, os.environ))


@pytest.fixture(params=["legacy", "apps"])
def api(request: pytest.FixtureRequest, environment: tuple[Path, Path, dict[str, str]]) -> ApiChoice:
    """The API under test; apps is skipped on a Grafana that does not serve it."""
    grafana = live_grafana(environment[0])
    version = grafana.wait_healthy(60)
    choice = choose_api(grafana, "auto" if request.param == "apps" else "legacy", version, lambda: 1)
    if request.param == "apps" and not choice.apps:
        pytest.skip(f"Grafana {version} does not serve the app platform: {choice.reason}")
    return choice


def publish(
    environment: tuple[Path, Path, dict[str, str]], choice: ApiChoice, *extra: str
) -> subprocess.CompletedProcess[str]:
    env_file, directory, passed = environment
    args = ("--env", "live", "--env-file", str(env_file), "--wait", "60", "--api", choice.name, *extra)
    return run_publish(passed["GRAFANA_URL"], directory, *args, token=None, extra_env=passed)


def test_both_apis_publish_noop_ui_edit_and_force(
    environment: tuple[Path, Path, dict[str, str]], api: ApiChoice
) -> None:
    """First publish, no-op (nothing written), a UI-like edit refused with exit 3, --force restores."""
    first = publish(environment, api)
    assert first.returncode == 0, first.stdout + first.stderr
    again = publish(environment, api, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)
    assert {c["action"] for c in report["plan"]} == {"unchanged"} and report["results"] == []
    grafana = live_grafana(environment[0])
    uid = "livetest-overview"
    if api.apps:
        resources = apps.dashboards(grafana, api)
        live = resources.get(uid)
        assert live is not None and live["metadata"]["annotations"][apps.ANNO_MANAGED_BY] == "kubectl"
        live["spec"]["description"] = "edited like the UI does"
        resources.update(live, "live edit")
    else:
        found = grafana.call("read", lambda a: a.dashboard.get_dashboard(uid))
        edited = {**found["dashboard"], "description": "edited like the UI does"}
        edited.pop("__publish", None)
        grafana.call(
            "edit", lambda a: a.dashboard.update_dashboard({"dashboard": edited, "folderUid": FOLDER})
        )
    refused = publish(environment, api)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"drifted    dashboard {uid}" in refused.stdout
    forced = publish(environment, api, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert publish(environment, api).returncode == 0


def test_apps_dry_run_reports_grafanas_rejection(
    environment: tuple[Path, Path, dict[str, str]], api: ApiChoice
) -> None:
    if not api.apps:
        pytest.skip("the legacy /api has no server-side dry run")
    env_file, directory, _ = environment
    tree = live_tree()
    tree["dashboards"][0]["refresh"] = "1s"  # below Grafana's default min_refresh_interval (5s)
    write_tree(directory, tree)
    planned = publish(environment, api, "--plan")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert "rejected by Grafana (dry run):" in planned.stdout
    assert apps.dashboards(live_grafana(env_file), api).get("livetest-overview") is None  # nothing stored


def test_apps_v2_ui_save_is_drift_and_force_restores(
    environment: tuple[Path, Path, dict[str, str]], api: ApiChoice
) -> None:
    if not (api.apps and api.dashboards_v2):
        pytest.skip("needs the app platform with a schema v2 version (Grafana 13)")
    assert publish(environment, api).returncode == 0
    grafana = live_grafana(environment[0])
    v2 = apps.dashboards(grafana, api, v2=True)
    opened = v2.get("livetest-overview")  # what the 13.x UI reads: converted, not stored
    assert opened is not None
    assert publish(environment, api).returncode == 0  # opened, not changed: not drift
    opened.pop("status", None)
    opened["spec"]["title"] = "Live test overview (saved as v2)"
    v2.update(opened, "v2 save")
    refused = publish(environment, api)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "saved from the Grafana UI in schema v2" in refused.stdout
    forced = publish(environment, api, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    live = apps.dashboards(grafana, api).get("livetest-overview")
    assert live is not None and not (live.get("status") or {}).get("conversion")


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
        # Through /apis Grafana migrates what it stores to its latest schemaVersion: compared in our
        # panels' terms, it is what we sent.
        assert classic_view(live["dashboard"]) == classic_view(item)
    group = grafana.call("read back", lambda api: api.alertingprovisioning.get_rule_group(FOLDER, "live"))
    assert [r["uid"] for r in group["rules"]] == ["livetest-rule-a", "livetest-rule-b"]
