"""A Grafana shared by two environments and another team: publish touches only what is ours.

Against the emulator over real HTTP, with the real CLI: the payments team's folder, dashboard, rule
group, contact point and policy route, and a colleague's dashboard in our folder, are compared byte for
byte before and after every publish, --force and --prune of both our environments.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.grafana.target import REPOSITORY_ID
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import run_publish
from tests.support.grafana_emulator.rendered import dashboard, default_tree, rule, write_tree

TOKEN = "glsa_publisher_secret_token"
UI_USER = ("admin", "admin")
ENVIRONMENTS = {"prod": "-prod", "staging": "-staging"}  # name -> uid_suffix (and the folder's)
PROVISIONING = "/api/v1/provisioning"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as emulator:
        yield emulator


@pytest.fixture
def env_file(grafana: GrafanaEmulator, tmp_path: Path) -> Path:
    environments = {
        name: {
            "url": grafana.url,
            "folder": {"uid": f"chat{suffix}", "title": f"Chat{suffix}"},
            "uid_suffix": suffix,
            "title_suffix": f" ({name})",
            "webhook_url": f"http://chat{suffix}:8000/api/alerts/grafana",
        }
        for name, suffix in ENVIRONMENTS.items()
    }
    path = tmp_path / "environments.yaml"
    path.write_text(yaml.safe_dump({"environments": environments}))
    return path


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "rendered", default_tree())


def publish(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path, env: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return run_publish(grafana.url, rendered, "--env", env, "--env-file", str(env_file), *args, token=TOKEN)


def admin(grafana: GrafanaEmulator, method: str, path: str, body: Any = None) -> Any:
    answer = call(grafana.url, method, path, body, basic=UI_USER)
    assert answer.status < 300, answer.text
    return answer.json


def create_payments_team(grafana: GrafanaEmulator) -> None:
    """Another team's objects, made by hand: a folder with a dashboard and a rule group, an email
    contact point, and their route in the org's policy tree."""
    admin(grafana, "POST", "/api/folders", {"uid": "payments", "title": "Payments"})
    payments = dashboard("payments-overview", "Payments overview")
    admin(grafana, "POST", "/api/dashboards/db", {"dashboard": payments, "folderUid": "payments"})
    point = {
        "uid": "payments-email",
        "name": "payments-email",
        "type": "email",
        "settings": {"addresses": "p@x.io"},
    }
    admin(grafana, "POST", f"{PROVISIONING}/contact-points", point)
    their_rule = {
        **rule("payments-down", "Payments down", "payments", "payments-overview"),
        "folderUID": "payments",
    }
    their_rule["labels"] = {"severity": "critical", "team": "payments"}
    group = {"title": "payments", "folderUid": "payments", "interval": 60, "rules": [their_rule]}
    admin(grafana, "PUT", f"{PROVISIONING}/folder/payments/rule-groups/payments", group)
    tree = admin(grafana, "GET", f"{PROVISIONING}/policies")
    route = {"receiver": "payments-email", "object_matchers": [["team", "=", "payments"]]}
    admin(grafana, "PUT", f"{PROVISIONING}/policies", {**tree, "routes": [route]})


def diff_line(output: str, sign: str, text: str) -> bool:
    return any(line.strip().startswith(sign) and text in line for line in output.splitlines())


def is_ours(route: dict[str, Any]) -> bool:
    return any(m[0] == "managed_by" for m in route.get("object_matchers") or [])


def not_ours(grafana: GrafanaEmulator) -> str:
    """Everything that belongs to others, as canonical JSON: what must never change."""
    tree = admin(grafana, "GET", f"{PROVISIONING}/policies")
    state = {
        "payments-dashboard": admin(grafana, "GET", "/api/dashboards/uid/payments-overview"),
        "colleague-dashboard": admin(grafana, "GET", "/api/dashboards/uid/team-notes"),
        "payments-group": admin(grafana, "GET", f"{PROVISIONING}/folder/payments/rule-groups/payments"),
        "payments-point": [
            p for p in admin(grafana, "GET", f"{PROVISIONING}/contact-points") if p["uid"] == "payments-email"
        ],
        "policy-root": {k: v for k, v in tree.items() if k != "routes"},
        "policy-routes": [r for r in tree.get("routes") or [] if not is_ours(r)],
    }
    return json.dumps(state, sort_keys=True)


def test_two_environments_and_another_team_share_one_grafana(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path
) -> None:
    create_payments_team(grafana)
    for env in ENVIRONMENTS:
        first = publish(grafana, rendered, env_file, env)
        assert first.returncode == 0, first.stdout + first.stderr
    # A colleague saves a dashboard of their own in our folder, from the UI.
    notes = {"dashboard": dashboard("team-notes", "Team notes"), "folderUid": "chat-prod"}
    admin(grafana, "POST", "/api/dashboards/db", notes)
    before = not_ours(grafana)

    for env in ENVIRONMENTS:
        for args in ((), ("--force",), ("--prune",), ("--prune", "--force")):
            result = publish(grafana, rendered, env_file, env, *args)
            assert result.returncode == 0, (env, args, result.stdout + result.stderr)
            assert not_ours(grafana) == before, (env, args)
    planned = publish(grafana, rendered, env_file, "prod", "--plan", "--prune")
    assert "not-ours   dashboard team-notes - not published by make publish" in planned.stdout

    # Both environments converged, side by side: each its own folder, uids, titles, webhook and route.
    for env, suffix in ENVIRONMENTS.items():
        stored = admin(grafana, "GET", f"/api/dashboards/uid/chat-overview{suffix}")
        assert stored["meta"]["folderUid"] == f"chat{suffix}"
        assert stored["dashboard"]["title"] == f"Chat overview ({env})"
        assert stored["dashboard"]["__publish"]["owner"] == f"{REPOSITORY_ID}/{env}"
        point = next(
            p
            for p in admin(grafana, "GET", f"{PROVISIONING}/contact-points")
            if p["uid"] == f"chat-webhook{suffix}"
        )
        assert point["settings"]["url"] == f"http://chat{suffix}:8000/api/alerts/grafana"
        rules = admin(grafana, "GET", f"{PROVISIONING}/folder/chat{suffix}/rule-groups/chat")["rules"]
        assert {r["uid"] for r in rules} == {f"chat-app-down{suffix}", f"chat-no-clients{suffix}"}
        assert {r["labels"]["managed_by"] for r in rules} == {f"{REPOSITORY_ID}/{env}"}
        assert {r["annotations"]["__dashboardUid__"] for r in rules} == {f"chat-overview{suffix}"}
        grafana.reset_log()
        again = publish(grafana, rendered, env_file, env)
        assert again.returncode == 0 and grafana.writes == 0, again.stdout
    routes = admin(grafana, "GET", f"{PROVISIONING}/policies")["routes"]
    assert [r["receiver"] for r in routes if is_ours(r)] == ["chat-webhook-staging", "chat-webhook-prod"]


def test_a_uid_taken_by_someone_else_is_refused_even_with_force(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path
) -> None:
    theirs = {"dashboard": dashboard("chat-logs-prod", "Someone's logs"), "folderUid": ""}
    admin(grafana, "POST", "/api/dashboards/db", theirs)
    before = admin(grafana, "GET", "/api/dashboards/uid/chat-logs-prod")
    for args in ((), ("--force",)):
        result = publish(grafana, rendered, env_file, "prod", *args)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "not-ours   dashboard chat-logs-prod - not published by make publish" in result.stdout
        assert "refused: dashboard chat-logs-prod in Grafana belong to someone else" in result.stdout
        assert admin(grafana, "GET", "/api/dashboards/uid/chat-logs-prod") == before
    # Another environment that (by mistake) has prod's uid_suffix: prod's objects are not its own.
    environments = yaml.safe_load(env_file.read_text())["environments"]
    shadow = {**environments["prod"], "folder": {"uid": "chat-shadow", "title": "Shadow"}}
    env_file.write_text(yaml.safe_dump({"environments": {**environments, "shadow": shadow}}))
    prods = admin(grafana, "GET", "/api/dashboards/uid/chat-overview-prod")
    collided = publish(grafana, rendered, env_file, "shadow", "--force")
    assert collided.returncode == 3, collided.stdout
    assert f"not-ours   dashboard chat-overview-prod - published by {REPOSITORY_ID}/prod" in collided.stdout
    assert admin(grafana, "GET", "/api/dashboards/uid/chat-overview-prod") == prods


def test_an_alert_rule_edited_in_grafana_is_drift(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path
) -> None:
    assert publish(grafana, rendered, env_file, "prod").returncode == 0
    path = f"{PROVISIONING}/folder/chat-prod/rule-groups/chat"
    group = admin(grafana, "GET", path)
    group["rules"][0]["for"] = "10m"  # someone unlocked it and changed it (another tool, an export/import)
    answer = call(grafana.url, "PUT", path, group, basic=UI_USER, headers={"X-Disable-Provenance": "true"})
    assert answer.status == 200, answer.text

    refused = publish(grafana, rendered, env_file, "prod", "--diff")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert (
        "drifted    rule-group chat-prod/chat - rule chat-app-down-prod edited in Grafana" in refused.stdout
    )
    assert diff_line(refused.stdout, "-", '"for": "10m"') and diff_line(refused.stdout, "+", '"for": "1m"')
    assert "600000" not in refused.stdout  # durations are shown as durations
    assert admin(grafana, "GET", path)["rules"][0]["for"] == "10m"
    forced = publish(grafana, rendered, env_file, "prod", "--force")
    assert forced.returncode == 0, forced.stdout
    assert admin(grafana, "GET", path)["rules"][0]["for"] == "1m"
    assert publish(grafana, rendered, env_file, "prod").returncode == 0


def test_detailed_exit_codes_and_only(grafana: GrafanaEmulator, rendered: Path, env_file: Path) -> None:
    pending = publish(grafana, rendered, env_file, "prod", "--plan", "--detailed-exitcode")
    assert pending.returncode == 2, pending.stdout + pending.stderr
    only = publish(
        grafana, rendered, env_file, "prod", "--only", "dashboard/chat-logs", "--only", "folder/chat-prod"
    )
    assert only.returncode == 0, only.stdout + only.stderr
    assert {d["uid"] for d in admin(grafana, "GET", "/api/search?type=dash-db")} == {"chat-logs-prod"}
    assert publish(grafana, rendered, env_file, "prod").returncode == 0
    clean = publish(grafana, rendered, env_file, "prod", "--plan", "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout
    ui = admin(grafana, "GET", "/api/dashboards/uid/chat-logs-prod")["dashboard"]
    admin(
        grafana,
        "POST",
        "/api/dashboards/db",
        {"dashboard": {**ui, "title": "Edited"}, "folderUid": "chat-prod"},
    )
    assert publish(grafana, rendered, env_file, "prod", "--plan", "--detailed-exitcode").returncode == 3
    broken = run_publish(grafana.url, rendered, "--plan", "--detailed-exitcode", token="glsa_wrong")
    assert broken.returncode == 1  # an error is 1 here, so that 2 can only mean "changes pending"


def test_our_contact_point_or_route_edited_in_grafana_is_drift(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path
) -> None:
    assert publish(grafana, rendered, env_file, "prod").returncode == 0
    point = next(
        p for p in admin(grafana, "GET", f"{PROVISIONING}/contact-points") if p["uid"] == "chat-webhook-prod"
    )
    point["settings"]["url"] = "http://elsewhere:8000/hook"
    edited = call(
        grafana.url, "PUT", f"{PROVISIONING}/contact-points/chat-webhook-prod", point, basic=UI_USER,
        headers={"X-Disable-Provenance": "true"},
    )  # fmt: skip
    assert edited.status == 202, edited.text
    refused = publish(grafana, rendered, env_file, "prod")
    assert refused.returncode == 3, refused.stdout
    assert (
        "drifted    contact-point chat-webhook-prod - edited in Grafana after our last publish"
        in refused.stdout
    )
    assert publish(grafana, rendered, env_file, "prod", "--force").returncode == 0
    assert publish(grafana, rendered, env_file, "prod").returncode == 0

    tree = admin(grafana, "GET", f"{PROVISIONING}/policies")
    ours = next(r for r in tree["routes"] if is_ours(r))
    ours["group_wait"] = "5m"
    admin(grafana, "PUT", f"{PROVISIONING}/policies", tree)
    route_refused = publish(grafana, rendered, env_file, "prod")
    assert route_refused.returncode == 3, route_refused.stdout
    assert (
        "drifted    policy route managed_by=grafana-chat-as-code/prod - edited in Grafana"
        in route_refused.stdout
    )


def test_a_route_added_by_another_team_while_we_publish_is_kept(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path
) -> None:
    """The writer re-reads the tree right before it writes our route into it: a route another team added
    after our plan was read is written back as they left it."""
    from concurrent.futures import ThreadPoolExecutor

    from scripts.grafana.client import Grafana
    from scripts.grafana.target import load_target
    from scripts.publish.apply import OK, apply_plan
    from scripts.publish.desired import load_desired
    from scripts.publish.plan import build_plan
    from scripts.publish.revision import Revision
    from scripts.publish.writers import Writer

    environ = {"GRAFANA_TOKEN": TOKEN, "ALERT_WEBHOOK_TOKEN": "secret"}
    target = load_target("prod", env_file, environ)
    connection = Grafana(target)
    desired = load_desired(rendered, target, environ)
    with ThreadPoolExecutor(max_workers=4) as pool:
        plan = build_plan(connection, desired, pool)
        create_payments_team(grafana)  # lands between our plan and our writes
        writer = Writer(connection, desired.folder_uid, Revision("abc", "test"), {}, desired.owner)
        outcomes = apply_plan(writer, plan, pool, force=False)
    assert {o.status for o in outcomes} == {OK}
    routes = admin(grafana, "GET", f"{PROVISIONING}/policies")["routes"]
    assert [r["receiver"] for r in routes] == ["chat-webhook-prod", "payments-email"]


def test_a_save_as_copy_of_our_dashboard_is_not_ours(
    grafana: GrafanaEmulator, rendered: Path, env_file: Path
) -> None:
    """The UI's "Save as" keeps the JSON, our marker included, under a new uid: it is the copier's."""
    assert publish(grafana, rendered, env_file, "prod").returncode == 0
    ours = admin(grafana, "GET", "/api/dashboards/uid/chat-overview-prod")["dashboard"]
    copy = {**ours, "uid": "my-copy", "title": "My copy", "id": None, "version": 0}
    admin(grafana, "POST", "/api/dashboards/db", {"dashboard": copy, "folderUid": "chat-prod"})
    before = admin(grafana, "GET", "/api/dashboards/uid/my-copy")
    planned = publish(grafana, rendered, env_file, "prod", "--plan", "--prune")
    assert "not-ours   dashboard my-copy" in planned.stdout, planned.stdout
    assert publish(grafana, rendered, env_file, "prod", "--prune", "--force").returncode == 0
    assert admin(grafana, "GET", "/api/dashboards/uid/my-copy") == before
