"""The publish scenarios on both APIs: the legacy /api (Grafana 11, and 13 with --api legacy) and the app
platform /apis (Grafana 13): first publish, no-op, UI edit, schema v2 UI edit, concurrent edit, --force,
--prune, managed by another tool, dry-run rejection. The CLI runs as a subprocess against the emulator."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.grafana.target import REPOSITORY_ID
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import run_publish
from tests.support.grafana_emulator.rendered import dashboard, default_tree, write_tree
from tests.support.grafana_emulator.schema_v2 import to_v2

TOKEN = "glsa_publisher_secret_token"
OWNER = f"{REPOSITORY_ID}/default"
UI_USER = ("admin", "admin")
APIS = "/apis/dashboard.grafana.app"
FILE_PROVISIONED = {
    "grafana.app/managedBy": "classic-file-provisioning",
    "grafana.app/managerId": "chat-files",
    "grafana.app/sourcePath": "/var/lib/grafana/dashboards/chat/chat-logs.json",
}


@dataclass(frozen=True)
class Setup:
    """A Grafana release and the API a publish speaks to it."""

    name: str
    profile: str
    args: tuple[str, ...]

    @property
    def apps(self) -> bool:
        return self.name == "apps"

    @property
    def via(self) -> str:
        return "[/apis]" if self.apps else "[/api]"


SETUPS = [
    Setup("legacy", "v11.3+", ()),  # auto: Grafana 11 has no dashboard.grafana.app v1
    Setup("legacy-on-13", "v13", ("--api", "legacy")),
    Setup("apps", "v13", ()),  # auto: Grafana 13 serves it
]
ON_13 = [s for s in SETUPS if s.profile == "v13"]


@pytest.fixture(params=SETUPS, ids=lambda s: s.name)
def setup(request: pytest.FixtureRequest) -> Setup:
    return request.param


@pytest.fixture
def grafana(setup: Setup) -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(profile=setup.profile, tokens=[Token(TOKEN)]) as emulator:
        yield emulator


@pytest.fixture
def tree() -> dict[str, Any]:
    return default_tree()


def publish(
    grafana: GrafanaEmulator, setup: Setup, directory: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return run_publish(grafana.url, directory, *setup.args, *args, token=TOKEN)


def stored(grafana: GrafanaEmulator, uid: str) -> Any:
    return grafana.dashboards.rows[(1, uid)]


def ui_save(grafana: GrafanaEmulator, setup: Setup, uid: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """A save from the UI of the release: Scenes rebuilds the JSON (no marker) and posts it to /api on 11;
    13 PUTs the resource it loaded (its metadata, and so its annotations, as they were)."""
    if setup.profile != "v13":
        live = call(grafana.url, "GET", f"/api/dashboards/uid/{uid}", basic=UI_USER).json["dashboard"]
        live.pop("__publish", None)
        edit(live)
        body = {"dashboard": live, "folderUid": "chat"}
        answer = call(grafana.url, "POST", "/api/dashboards/db", body, basic=UI_USER)
    else:
        path = f"{APIS}/v1beta1/namespaces/default/dashboards/{uid}"
        live = call(grafana.url, "GET", path, basic=UI_USER).json
        live["spec"].pop("__publish", None)
        edit(live["spec"])
        answer = call(grafana.url, "PUT", path, live, basic=UI_USER)
    assert answer.status == 200, answer.text


def ui_save_as_v2(grafana: GrafanaEmulator, uid: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Grafana 13's UI saving a dashboard in schema v2 (its default): the v2 resource, PUT to v2beta1."""
    path = f"{APIS}/v2beta1/namespaces/default/dashboards/{uid}"
    live = call(grafana.url, "GET", path, basic=UI_USER).json
    classic = stored(grafana, uid).data
    live.pop("status", None)
    live["spec"] = to_v2(classic)
    edit(live["spec"])
    answer = call(grafana.url, "PUT", path, live, basic=UI_USER)
    assert answer.status == 200, answer.text


def diff_has(output: str, sign: str, text: str) -> bool:
    return any(line.strip().startswith(sign) and text in line for line in output.splitlines())


def object_count(tree: dict[str, Any]) -> int:
    return 1 + len(tree["dashboards"]) + len(tree["rule_groups"]) + len(tree["contact_points"]) + 1


def test_first_publish_then_noop(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    first = publish(grafana, setup, directory)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"create     dashboard chat-overview {setup.via}" in first.stdout
    assert f"{grafana.url}/d/chat-overview/chat-overview" in first.stdout
    row = stored(grafana, "chat-overview")
    assert row.folder_uid == "chat"
    if setup.apps:  # Grafana's manager annotations instead of the marker
        assert "__publish" not in row.data
        assert row.annotations["grafana.app/managedBy"] == "kubectl"
        assert row.annotations["grafana.app/managerId"] == OWNER
        assert row.annotations["grafana.app/managerAllowsEdits"] == "true"
        assert row.annotations["grafana.app/sourcePath"] == "dashboards/chat_overview.py"
        assert len(row.annotations["grafana.app/sourceChecksum"]) == 64
        assert stored(grafana, "chat-logs").annotations["grafana.app/sourcePath"].endswith("chat-logs.json")
    else:
        assert row.data["__publish"]["owner"] == OWNER and not row.annotations
    generations = {uid: (r.version, len(r.versions)) for (_, uid), r in grafana.dashboards.rows.items()}

    grafana.reset_log()
    again = publish(grafana, setup, directory)
    assert again.returncode == 0, again.stdout + again.stderr
    assert grafana.writes == 0
    assert len(grafana.requests) <= object_count(tree) + 3, [(r.method, r.path) for r in grafana.requests]
    assert "plan: 0 create, 0 update, 7 unchanged" in again.stdout
    assert {
        uid: (r.version, len(r.versions)) for (_, uid), r in grafana.dashboards.rows.items()
    } == generations


def test_ui_edit_is_refused_with_a_diff_and_the_import_command_then_forced(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, setup, directory).returncode == 0
    ui_save(grafana, setup, "chat-overview", lambda d: d["panels"][0].update(title="Edited in the UI"))

    refused = publish(grafana, setup, directory)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "drifted    dashboard chat-overview - edited in Grafana after our last publish" in refused.stdout
    assert diff_has(refused.stdout, "-", '"title": "Registered clients"')
    assert diff_has(refused.stdout, "+", '"title": "Edited in the UI"')
    hint = "python -m scripts.import --uid chat-overview --into dashboards/chat_overview.py"
    assert hint in refused.stdout
    assert stored(grafana, "chat-overview").data["panels"][0]["title"] == "Edited in the UI"

    forced = publish(grafana, setup, directory, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert hint not in forced.stdout
    assert stored(grafana, "chat-overview").data["panels"][0]["title"] == "Registered clients"
    grafana.reset_log()
    assert publish(grafana, setup, directory).returncode == 0 and grafana.writes == 0


@pytest.mark.parametrize("setup", ON_13, ids=lambda s: s.name, indirect=True)
def test_a_v2_ui_edit_is_drift_and_force_restores_ours(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, setup, directory).returncode == 0
    # Opened in the 13.x UI (a v2 read converts, stores nothing): not drift.
    opened = call(
        grafana.url, "GET", f"{APIS}/v2beta1/namespaces/default/dashboards/chat-overview", token=TOKEN
    )
    assert opened.status == 200 and opened.json["spec"]["elements"]
    grafana.reset_log()
    assert publish(grafana, setup, directory).returncode == 0 and grafana.writes == 0

    def edit(spec: dict[str, Any]) -> None:
        panel = spec["elements"]["panel-1"]["spec"]
        panel["title"] = "Edited as v2"
        panel["vizConfig"]["spec"]["fieldConfig"]["defaults"]["unit"] = "percent"

    ui_save_as_v2(grafana, "chat-overview", edit)
    assert stored(grafana, "chat-overview").stored_version == "v2beta1"
    refused = publish(grafana, setup, directory)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert diff_has(refused.stdout, "+", '"title": "Edited as v2"')
    if setup.apps:  # read as stored, shown in our panels' terms: the unit edit is there, nothing else
        assert (
            "drifted    dashboard chat-overview - saved from the Grafana UI in schema v2beta1"
            in refused.stdout
        )
        assert diff_has(refused.stdout, "+", '"unit": "percent"')
        assert not diff_has(refused.stdout, "-", '"schemaVersion"')
    forced = publish(grafana, setup, directory, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    row = stored(grafana, "chat-overview")
    assert row.stored_version == "" and row.data["panels"][0]["title"] == "Registered clients"
    grafana.reset_log()
    assert publish(grafana, setup, directory).returncode == 0 and grafana.writes == 0


def test_a_save_between_plan_and_write_is_not_overwritten(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, setup, directory).returncode == 0
    tree["dashboards"][0]["panels"][0]["title"] = "Changed in code"
    write_tree(directory, tree)
    write = (
        ("PUT", f"{APIS}/v1beta1/namespaces/default/dashboards/chat-overview")
        if setup.apps
        else (
            "POST",
            "/api/dashboards/db",
        )
    )
    grafana.interleave(
        *write, lambda: ui_save(grafana, setup, "chat-overview", lambda d: d.update(description="UI"))
    )

    raced = publish(grafana, setup, directory)
    assert raced.returncode == 1, raced.stdout + raced.stderr
    assert "dashboard chat-overview: edited concurrently, re-run the plan" in raced.stdout
    assert stored(grafana, "chat-overview").data["description"] == "UI"  # the edit is kept
    again = publish(grafana, setup, directory)
    assert again.returncode == 3 and "drifted    dashboard chat-overview" in again.stdout


def test_prune_deletes_only_ours(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, setup, directory).returncode == 0
    handmade = {"dashboard": dashboard("handmade", "Made in the UI"), "folderUid": "chat"}
    assert call(grafana.url, "POST", "/api/dashboards/db", handmade, basic=UI_USER).status == 200
    tree["dashboards"] = tree["dashboards"][:2]
    write_tree(directory, tree)

    kept = publish(grafana, setup, directory)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "orphan     dashboard chat-service-health - in Grafana, no longer in code" in kept.stdout
    assert "not-ours   dashboard handmade - not published by make publish" in kept.stdout
    pruned = publish(grafana, setup, directory, "--prune", "--force")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert (1, "chat-service-health") not in grafana.dashboards.rows
    assert (1, "handmade") in grafana.dashboards.rows


def test_another_tools_dashboard_in_our_folder_is_never_pruned(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    theirs = {"dashboard": dashboard("provisioned-here", "Provisioned"), "folderUid": "chat"}
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, setup, directory).returncode == 0
    assert call(grafana.url, "POST", "/api/dashboards/db", theirs, basic=UI_USER).status == 200
    stored(grafana, "provisioned-here").annotations = dict(FILE_PROVISIONED)
    pruned = publish(grafana, setup, directory, "--prune", "--force")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert "not-ours   dashboard provisioned-here - managed by file provisioning" in pruned.stdout
    assert (1, "provisioned-here") in grafana.dashboards.rows


def test_a_dashboard_another_tool_manages_is_refused_unless_forced(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    """The file provisioner's dashboard with one of our uids: the plan names the manager, exit 3."""
    theirs = {"dashboard": dashboard("chat-logs", "Their logs"), "folderUid": ""}
    assert call(grafana.url, "POST", "/api/dashboards/db", theirs, basic=UI_USER).status == 200
    stored(grafana, "chat-logs").annotations = dict(FILE_PROVISIONED)  # what the provisioner records
    directory = write_tree(tmp_path, tree)

    refused = publish(grafana, setup, directory)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "managed    dashboard chat-logs - managed by file provisioning" in refused.stdout
    assert "/var/lib/grafana/dashboards/chat/chat-logs.json" in refused.stdout
    assert stored(grafana, "chat-logs").title == "Their logs"
    assert stored(grafana, "chat-overview").folder_uid == "chat"  # the rest is published

    forced = publish(grafana, setup, directory, "--force")
    if setup.apps:  # the app platform lets a writer release a file provisioner's object, then take it
        assert forced.returncode == 0, forced.stdout + forced.stderr
        row = stored(grafana, "chat-logs")
        assert row.title == "Chat logs" and row.annotations["grafana.app/managerId"] == OWNER
    else:  # /api/dashboards/db refuses to save a provisioned dashboard: Grafana's reason, one line
        assert forced.returncode == 1, forced.stdout + forced.stderr
        assert "dashboard chat-logs: Grafana answered 400: Cannot save provisioned dashboard" in forced.stdout
        assert stored(grafana, "chat-logs").title == "Their logs"


def test_a_rejected_write_is_reported_by_the_plan_or_the_publish(
    grafana: GrafanaEmulator, setup: Setup, tree: dict[str, Any], tmp_path: Path
) -> None:
    tree["dashboards"][1]["title"] = "L" * 5001
    directory = write_tree(tmp_path, tree)
    rejection = "Dashboard title cannot contain more than 5 000 characters"
    planned = publish(grafana, setup, directory, "--plan")
    assert grafana.writes == 0
    if setup.apps:  # dryRun=All: Grafana's own answer, before anything is written
        assert planned.returncode == 1, planned.stdout + planned.stderr
        assert f"rejected by Grafana (dry run): {rejection}" in planned.stdout
        assert "rejected: Grafana's dry run refused dashboard chat-logs" in planned.stdout
    else:  # the legacy API has no dry run: the publish is where Grafana says it
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert "no server-side dry run on the legacy /api" in planned.stdout
    published = publish(grafana, setup, directory)
    assert published.returncode == 1
    assert rejection in published.stdout and (1, "chat-logs") not in grafana.dashboards.rows
