"""`python -m scripts.publish` against the emulator over real HTTP: publish, no-op, update, drift, prune,
--json and environments. The CLI runs as a subprocess so exit codes and output are the real ones."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.grafana.target import REPOSITORY_ID
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import REPO_ROOT, WEBHOOK_SECRET, run_publish
from tests.support.grafana_emulator.rendered import dashboard, default_tree, write_tree

TOKEN = "glsa_publisher_secret_token"
OWNER = f"{REPOSITORY_ID}/default"  # the owner of what a publish without --env writes
UI_USER = ("admin", "admin")


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as emulator:
        yield emulator


@pytest.fixture
def tree() -> dict[str, Any]:
    return default_tree()


def publish(
    grafana: GrafanaEmulator, directory: Path, *args: str, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return run_publish(grafana.url, directory, *args, token=TOKEN, **kwargs)


def live_dashboard(grafana: GrafanaEmulator, uid: str) -> dict[str, Any]:
    return call(grafana.url, "GET", f"/api/dashboards/uid/{uid}", token=TOKEN).json


def ui_save(grafana: GrafanaEmulator, uid: str, edit: Any, keep_marker: bool = True) -> None:
    """What a UI save does: post the edited live JSON with its version, as a human user."""
    live = live_dashboard(grafana, uid)["dashboard"]
    if not keep_marker:
        live.pop("__publish")
    edit(live)
    answer = call(
        grafana.url, "POST", "/api/dashboards/db", {"dashboard": live, "folderUid": "chat"}, basic=UI_USER
    )
    assert answer.status == 200, answer.text


def diff_has(output: str, sign: str, text: str) -> bool:
    """True when the printed diff has a `sign` ("+"/"-") line containing `text`."""
    return any(line.strip().startswith(sign) and text in line for line in output.splitlines())


def object_count(tree: dict[str, Any]) -> int:
    """folder + dashboards + rule groups + contact points + policy."""
    return 1 + len(tree["dashboards"]) + len(tree["rule_groups"]) + len(tree["contact_points"]) + 1


def test_first_publish_then_noop(grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path) -> None:
    directory = write_tree(tmp_path, tree)
    first = publish(grafana, directory)
    assert first.returncode == 0, first.stderr
    assert "create     dashboard chat-overview" in first.stdout
    assert f"{grafana.url}/d/chat-overview/chat-overview" in first.stdout
    assert f"{grafana.url}/d-solo/chat-overview/chat-overview?panelId=1" in first.stdout
    for secret in (TOKEN, WEBHOOK_SECRET):
        assert secret not in first.stdout + first.stderr
    stored = live_dashboard(grafana, "chat-overview")
    assert stored["meta"]["folderUid"] == "chat" and stored["dashboard"]["__publish"]["sha256"]
    webhook = next(p for p in grafana.alerting.contact_points[1] if p["uid"] == "chat-webhook")
    assert webhook["settings"]["authorization_credentials"] == WEBHOOK_SECRET
    tree_after = grafana.alerting.get_policies(1)
    assert tree_after["receiver"] == "grafana-default-email"  # the org's root is not ours: untouched
    assert tree_after["routes"][0]["object_matchers"][0] == ["managed_by", "=", OWNER]
    assert tree_after["routes"][0]["receiver"] == "chat-webhook"
    assert {r["labels"]["managed_by"] for r in grafana.alerting.list_rules(1)} == {OWNER}
    assert {r["provenance"] for r in grafana.alerting.list_rules(1)} == {"api"}

    grafana.reset_log()
    again = publish(grafana, directory)
    assert again.returncode == 0, again.stderr
    assert grafana.writes == 0
    assert len(grafana.requests) <= object_count(tree) + 3
    assert "plan: 0 create, 0 update, 7 unchanged" in again.stdout
    assert [v["version"] for v in grafana.dashboards.rows[(1, "chat-overview")].versions] == [1]


def test_update_writes_only_the_changed_dashboard(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, directory).returncode == 0
    tree["dashboards"][0]["panels"][0]["title"] = "Clients now"
    write_tree(directory, tree)
    grafana.reset_log()
    result = publish(grafana, directory, "--diff")
    assert result.returncode == 0, result.stderr
    assert "update     dashboard chat-overview" in result.stdout
    assert diff_has(result.stdout, "+", '"title": "Clients now"')
    assert [(r.method, r.path) for r in grafana.requests if r.method != "GET"] == [
        ("POST", "/api/dashboards/db")
    ]
    versions = grafana.dashboards.rows[(1, "chat-overview")].versions
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["message"].startswith("publish ")  # git commit and subject


def test_ui_edit_is_refused_with_a_diff_then_forced(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, directory).returncode == 0
    ui_save(grafana, "chat-overview", lambda d: d["panels"][0].update(title="Edited in the UI"))
    ui_save(grafana, "chat-logs", lambda d: d.update(description="no marker"), keep_marker=False)
    tree["dashboards"][2]["panels"][0]["title"] = "Changed in code"  # an unrelated change still goes out
    write_tree(directory, tree)

    refused = publish(grafana, directory)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    drift_line = (
        "drifted    dashboard chat-overview - edited in Grafana after our last publish (version 2 saved by"
    )
    assert drift_line in refused.stdout
    assert "--- last published (version 1)" in refused.stdout
    assert diff_has(refused.stdout, "-", '"title": "Registered clients"')
    assert diff_has(refused.stdout, "+", '"title": "Edited in the UI"')
    # A UI save of Grafana 11+ drops the marker; the dashboard's history still says it is ours.
    assert "drifted    dashboard chat-logs - edited in Grafana after our last publish" in refused.stdout
    assert diff_has(refused.stdout, "+", '"description": "no marker"')
    assert "refused: dashboard chat-logs, dashboard chat-overview changed in Grafana" in refused.stdout
    assert live_dashboard(grafana, "chat-overview")["dashboard"]["panels"][0]["title"] == "Edited in the UI"
    assert (
        live_dashboard(grafana, "chat-service-health")["dashboard"]["panels"][0]["title"] == "Changed in code"
    )

    forced = publish(grafana, directory, "--force")
    assert forced.returncode == 0, forced.stdout
    assert live_dashboard(grafana, "chat-overview")["dashboard"]["panels"][0]["title"] == "Registered clients"
    assert "description" not in live_dashboard(grafana, "chat-logs")["dashboard"]
    assert publish(grafana, directory).returncode == 0


def test_plan_only_writes_nothing_and_reports_drift(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    planned = publish(grafana, directory, "--plan")
    assert planned.returncode == 0 and "create     folder chat" in planned.stdout
    assert grafana.writes == 0
    assert publish(grafana, directory).returncode == 0
    ui_save(grafana, "chat-overview", lambda d: d.update(title="Renamed in UI"))
    assert publish(grafana, directory, "--dry-run").returncode == 3
    assert (
        grafana.writes == 7 + 1
    )  # the publish (folder, contact point, policy, 3 dashboards, group) + UI save


def test_prune_deletes_only_what_we_published(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, directory).returncode == 0
    handmade = {"dashboard": dashboard("handmade", "Made in the UI"), "folderUid": "chat"}
    assert call(grafana.url, "POST", "/api/dashboards/db", handmade, basic=UI_USER).status == 200
    tree["dashboards"] = tree["dashboards"][:2]
    tree["rule_groups"] = []
    write_tree(directory, tree)

    kept = publish(grafana, directory)
    assert kept.returncode == 0 and "delete " not in kept.stdout.replace("0 delete", "")
    orphan = "orphan     dashboard chat-service-health - in Grafana, no longer in code: would be deleted"
    assert orphan in kept.stdout
    assert live_dashboard(grafana, "chat-service-health")["dashboard"]["uid"] == "chat-service-health"

    grafana.reset_log()
    planned = publish(grafana, directory, "--prune", "--plan")
    assert "delete     dashboard chat-service-health" in planned.stdout
    assert "delete     alert-rule chat-app-down - group chat is no longer in code" in planned.stdout
    assert "not-ours   dashboard handmade - not published by make publish" in planned.stdout
    assert grafana.writes == 0

    pruned = publish(grafana, directory, "--prune")
    assert pruned.returncode == 0, pruned.stdout  # a colleague's dashboard is listed, not refused
    assert call(grafana.url, "GET", "/api/dashboards/uid/chat-service-health", token=TOKEN).status == 404
    assert grafana.alerting.list_rules(1) == []
    handmade_before = live_dashboard(grafana, "handmade")
    assert publish(grafana, directory, "--prune", "--force").returncode == 0
    assert live_dashboard(grafana, "handmade") == handmade_before  # never ours: never deleted


def test_json_output_parses(grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path) -> None:
    tree["dashboards"] += [dashboard(f"extra-{n}", f"Extra {n}") for n in range(25)]
    directory = write_tree(tmp_path, tree)
    result = publish(grafana, directory, "--json", "--diff")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == 0 and report["applied"] is True
    assert {c["action"] for c in report["plan"]} == {"create"}  # our route is new in the default tree
    assert len(report["results"]) == len(report["plan"]) and {r["status"] for r in report["results"]} == {
        "ok"
    }
    assert report["dashboards"]["extra-0"] == f"{grafana.url}/d/extra-0/extra-0"
    assert "publishing:" not in result.stderr  # no progress in --json mode
    progress = publish(
        grafana,
        write_tree(
            tmp_path, {**tree, "dashboards": [dashboard(f"more-{n}", f"More {n}") for n in range(25)]}
        ),
    )
    assert "publishing: 25/25" in progress.stderr


def test_environment_file_maps_datasources_and_folder(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    env_file = tmp_path / "environments.yaml"
    env_file.write_text(
        "environments:\n"
        "  staging:\n"
        f"    url: {grafana.url}\n"
        "    public_url: https://grafana.staging.example\n"
        "    token_env: STAGING_GRAFANA_TOKEN\n"
        "    folder: {uid: chat-staging, title: Chat (staging)}\n"
        "    datasources: {prometheus: prom-staging}\n"
    )
    directory = write_tree(tmp_path / "rendered", tree)
    result = run_publish(
        "http://127.0.0.1:1",
        directory,
        "--env",
        "staging",
        "--env-file",
        str(env_file),
        token=None,
        extra_env={"STAGING_GRAFANA_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "https://grafana.staging.example/d/chat-overview/chat-overview" in result.stdout
    stored = live_dashboard(grafana, "chat-overview")
    assert stored["meta"]["folderUid"] == "chat-staging" and stored["meta"]["folderTitle"] == "Chat (staging)"
    variable = stored["dashboard"]["templating"]["list"][0]
    assert variable["current"] == {"text": "prom-staging", "value": "prom-staging"}
    assert (
        stored["dashboard"]["panels"][0]["datasource"]["uid"] == "${datasource}"
    )  # variables stay variables
    rules = grafana.alerting.list_rules(1)
    assert {r["folderUID"] for r in rules} == {"chat-staging"}
    assert {r["data"][0]["datasourceUid"] for r in rules} == {"prom-staging"}
    assert {r["data"][0]["model"]["datasource"]["uid"] for r in rules} == {"prom-staging"}
    unknown = run_publish(grafana.url, directory, "--env", "prod", "--env-file", str(env_file), token=TOKEN)
    assert unknown.returncode == 2
    assert "environment 'prod' is not in" in unknown.stderr and "(known: staging)" in unknown.stderr


def test_publishes_what_make_render_writes(grafana: GrafanaEmulator, tmp_path: Path) -> None:
    """End to end with the real renderer's output, not fixtures: publish, then a no-op publish."""
    rendered = tmp_path / "rendered"
    render = subprocess.run(
        [sys.executable, "-m", "scripts.render", "--out", str(rendered)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert render.returncode == 0, render.stdout + render.stderr
    first = publish(grafana, rendered)
    assert first.returncode == 0, first.stdout + first.stderr
    for uid in ("chat-overview", "chat-logs", "chat-service-health"):
        assert live_dashboard(grafana, uid)["meta"]["folderUid"] == "chat"
    assert grafana.alerting.list_rules(1), "the rendered rule groups were published"
    grafana.reset_log()
    again = publish(grafana, rendered)
    assert again.returncode == 0, again.stdout
    assert grafana.writes == 0
    assert " 0 create, 0 update," in again.stdout


def test_a_rule_removed_from_a_group_is_deleted_only_with_prune(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    """A group PUT replaces the whole group: without --prune the rule left out of code is carried along."""
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, directory).returncode == 0
    tree["rule_groups"][0]["rules"] = tree["rule_groups"][0]["rules"][:1]
    write_tree(directory, tree)

    kept = publish(grafana, directory)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "unchanged  rule-group chat/chat - keeps chat-no-clients, no longer in code" in kept.stdout
    assert sorted(r["uid"] for r in grafana.alerting.list_rules(1)) == ["chat-app-down", "chat-no-clients"]

    pruned = publish(grafana, directory, "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert "update     rule-group chat/chat" in pruned.stdout
    assert "delete     alert-rule chat-no-clients - no longer in group chat" in pruned.stdout
    assert [r["uid"] for r in grafana.alerting.list_rules(1)] == ["chat-app-down"]
    grafana.reset_log()
    assert publish(grafana, directory, "--prune").returncode == 0 and grafana.writes == 0


def test_content_grafana_normalises_is_not_drift(grafana: GrafanaEmulator, tmp_path: Path) -> None:
    """Grafana raises a refresh below min_refresh_interval to 5s: the stored dashboard differs from what we
    sent, yet nobody edited it - re-publishing the same code is a no-op, changing the code an update."""
    tree = {**default_tree(), "rule_groups": [], "contact_points": [], "policy": None}
    tree["dashboards"][0]["refresh"] = "1s"
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, directory).returncode == 0
    assert live_dashboard(grafana, "chat-overview")["dashboard"]["refresh"] == "5s"
    grafana.reset_log()
    again = publish(grafana, directory)
    assert again.returncode == 0, again.stdout
    assert grafana.writes == 0 and "unchanged  dashboard chat-overview" in again.stdout
    tree["dashboards"][0]["description"] = "changed in code"
    write_tree(directory, tree)
    changed = publish(grafana, directory)
    assert changed.returncode == 0 and "update     dashboard chat-overview" in changed.stdout


def test_a_plan_needs_no_webhook_token_but_a_publish_does(
    grafana: GrafanaEmulator, tree: dict[str, Any], tmp_path: Path
) -> None:
    """`make diff` in a pull request may run without ALERT_WEBHOOK_TOKEN: secrets compare as redacted."""
    write_tree(tmp_path, tree)
    assert publish(grafana, tmp_path).returncode == 0
    grafana.reset_log()
    no_token = {"ALERT_WEBHOOK_TOKEN": ""}
    plan = publish(grafana, tmp_path, "--plan", extra_env=no_token)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert " 0 create, 0 update," in plan.stdout and grafana.writes == 0
    refused = publish(grafana, tmp_path, extra_env=no_token)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("export ALERT_WEBHOOK_TOKEN (the same value the app uses)")
    assert grafana.writes == 0
