"""The publisher when things go wrong: transient 503s, dropped connections, bad credentials, missing role,
Grafana down or still starting, a deleted folder, alert validation errors, bad configuration."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from grafana_client.client import GrafanaException

from scripts.common.procs import free_port, poll_until
from scripts.publish.apply import FAILED, SKIPPED, apply_plan
from scripts.publish.client import Grafana, explain
from scripts.publish.desired import load_desired
from scripts.publish.plan import build_plan
from scripts.publish.revision import Revision
from scripts.publish.target import load_target
from scripts.publish.writers import Writer
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import WEBHOOK_SECRET, run_publish
from tests.support.grafana_emulator.rendered import default_tree, write_tree

TOKEN, EDITOR = "glsa_publisher_token", "glsa_editor_token"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN), Token(EDITOR, role="Editor", login="sa-editor")]) as emulator:
        yield emulator


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return write_tree(tmp_path, default_tree())


def publish(
    grafana: GrafanaEmulator, directory: Path, *args: str, token: str | None = TOKEN, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return run_publish(grafana.url, directory, *args, token=token, **kw)


def connect(grafana: GrafanaEmulator) -> tuple[Grafana, dict[str, str]]:
    """An in-process connection (fast retries) and the environment it was configured from."""
    environ = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN, "ALERT_WEBHOOK_TOKEN": WEBHOOK_SECRET}
    return Grafana(load_target(None, Path("unused.yaml"), environ), backoff_s=0.01), environ


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("publish: error:")]
    assert len(error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in error_lines[0]
    assert TOKEN not in result.stdout + result.stderr


def test_transient_503s_and_dropped_connections_are_retried(
    grafana: GrafanaEmulator, directory: Path
) -> None:
    grafana.fail_next(2, methods=("POST",), path_prefix="/api/dashboards")
    grafana.fail_next(1, status=429, methods=("PUT",), path_prefix="/api/v1/provisioning/folder")
    grafana.drop_next(1, methods=("POST",), path_prefix="/api/dashboards")
    grafana.drop_next(1, methods=("GET",), path_prefix="/api/search")
    result = publish(grafana, directory, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"retries": 5' in result.stdout
    assert {(r.path, r.status) for r in grafana.requests if r.status in (0, 429, 503)} == {
        ("/api/dashboards/db", 503),
        ("/api/dashboards/db", 0),
        ("/api/search", 0),
        ("/api/v1/provisioning/folder/chat/rule-groups/chat", 429),
    }
    grafana.reset_log()
    assert publish(grafana, directory).returncode == 0
    assert grafana.writes == 0


def test_answer_lost_after_the_write_is_not_a_failure(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.drop_next(3, methods=("POST",), path_prefix="/api/dashboards", after_apply=True)
    result = publish(grafana, directory)
    assert result.returncode == 0, result.stdout + result.stderr  # the retry's 412 shows our content is live
    versions = [len(grafana.dashboards.rows[(1, uid)].versions) for uid in ("chat-overview", "chat-logs")]
    assert versions == [1, 1]


def test_persistent_failure_then_a_rerun_converges(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.fail_next(50, methods=("POST",), path_prefix="/api/dashboards")
    failed = publish(grafana, directory)
    assert failed.returncode == 1
    assert "failed: dashboard chat-overview: Grafana answered 503: Service Unavailable" in failed.stdout
    assert "skipped: an earlier step failed" in failed.stdout  # rule groups wait for the dashboards
    assert "skipped: skipped" not in failed.stdout
    assert grafana.alerting.list_rules(1) == []
    grafana.clear_faults()
    assert publish(grafana, directory).returncode == 0
    grafana.reset_log()
    assert publish(grafana, directory).returncode == 0 and grafana.writes == 0


def test_requests_time_out_and_are_retried(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.latency_s = 1.0
    result = publish(grafana, directory, extra_env={"GRAFANA_TIMEOUT": "0.2"})
    assert_one_line_error(result, 1, f"health check: no answer from Grafana at {grafana.url}")
    # The last request is still sleeping in the emulator.
    poll_until(lambda: len(grafana.requests) >= 5, 10, interval_s=0.05)
    assert [r.path for r in grafana.requests] == ["/api/health"] * 5  # 1 try + 4 retries, then give up


def test_bad_token_is_a_configuration_error(grafana: GrafanaEmulator, directory: Path) -> None:
    result = publish(grafana, directory, token="glsa_wrong")
    assert_one_line_error(
        result, 2, f"Grafana at {grafana.url} rejected the credentials (401 Invalid API key)"
    )
    assert "glsa_wrong" not in result.stdout + result.stderr


def test_missing_role_names_the_role(grafana: GrafanaEmulator, directory: Path) -> None:
    result = publish(grafana, directory, token=EDITOR)
    assert_one_line_error(
        result, 2, "permission denied by Grafana (403)", "needs the Admin role", "alert.provisioning:read"
    )


@pytest.mark.parametrize(
    ("permission", "role"),
    [
        ("dashboards:write", "Editor"),
        ("alert.provisioning:write", "Admin"),
        ("any of alert.provisioning:write, alert.rules.provisioning:write", "Admin"),
        ("any(alert.provisioning:read, alert.provisioning.secrets:read)", "Admin"),  # older builds
    ],
)
def test_the_403_hint_names_the_role_for_every_way_grafana_prints_permissions(
    permission: str, role: str
) -> None:
    denial = GrafanaException(
        403, {"message": f"You'll need additional permissions. Permissions needed: {permission}"}, ""
    )
    error = explain(denial, "rule group chat", "http://127.0.0.1:3000")
    assert f"needs the {role} role (missing permission {permission})" in str(error)


def test_connection_refused_names_the_url(directory: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_publish(
        url,
        directory,
        token=TOKEN,
        extra_env={"GRAFANA_URL": f"http://user:pw@127.0.0.1:{url.rsplit(':', 1)[1]}"},
    )
    assert_one_line_error(result, 1, f"cannot connect to Grafana at {url} (health check)")
    assert "pw@" not in result.stderr


def test_wait_for_a_starting_grafana(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.database_ok = False
    not_waiting = publish(grafana, directory)
    assert_one_line_error(not_waiting, 1, "health check: Grafana answered 503")
    timer = threading.Timer(1.0, lambda: setattr(grafana, "database_ok", True))
    timer.start()
    try:
        waited = publish(grafana, directory, "--wait", "30")
    finally:
        timer.cancel()
    assert waited.returncode == 0, waited.stderr


@pytest.mark.parametrize(
    ("index", "field", "value", "named", "message"),
    [
        (1, "noDataState", "Sometimes", "chat-no-clients", "unknown NoData state option Sometimes"),
        # chat-app-down is declared in dashboards/alerts.py: the line says where to fix it in code
        (
            0,
            "execErrState",
            "Never",
            "chat-app-down (dashboards/alerts.py)",
            "unknown Error state option Never",
        ),
    ],
)
def test_alert_validation_error_names_group_and_rule(
    grafana: GrafanaEmulator, tmp_path: Path, index: int, field: str, value: str, named: str, message: str
) -> None:
    tree = default_tree()
    tree["rule_groups"][0]["rules"][index][field] = value
    result = publish(grafana, write_tree(tmp_path, tree))
    assert result.returncode == 1
    assert (
        f"failed: rule group 'chat' (rule uid {named}): Grafana rejected it: invalid alert rule: {message}"
    ) in result.stdout
    assert call(grafana.url, "GET", "/api/dashboards/uid/chat-overview", token=TOKEN).status == 200


def test_lost_answers_to_creates_and_deletes_are_not_failures(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    """The write was applied but its answer was lost: the retry is refused ("uid taken", 404), the
    read-back shows our object, so the publish succeeds."""
    tree = default_tree()
    directory = write_tree(tmp_path, tree)
    grafana.drop_next(1, methods=("POST",), path_prefix="/api/folders", after_apply=True)
    grafana.drop_next(
        1, methods=("POST",), path_prefix="/api/v1/provisioning/contact-points", after_apply=True
    )
    first = publish(grafana, directory)
    assert first.returncode == 0, first.stdout + first.stderr
    assert [p["uid"] for p in grafana.alerting.contact_points[1]].count("chat-webhook") == 1
    assert {(r.path, r.status) for r in grafana.requests if r.method == "POST" and r.status >= 400} == {
        ("/api/folders", 409),
        ("/api/v1/provisioning/contact-points", 400),
    }
    tree["dashboards"] = tree["dashboards"][:2]
    write_tree(directory, tree)
    grafana.drop_next(1, methods=("DELETE",), path_prefix="/api/dashboards/uid", after_apply=True)
    pruned = publish(grafana, directory, "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert ("DELETE", "/api/dashboards/uid/chat-service-health", 404) in {
        (r.method, r.path, r.status) for r in grafana.requests
    }


def test_a_taken_folder_uid_with_another_title_still_fails(grafana: GrafanaEmulator, directory: Path) -> None:
    """The read-back only excuses a refused create when the live object is ours."""
    connection, environ = connect(grafana)
    with ThreadPoolExecutor(4) as pool:
        plan = build_plan(connection, load_desired(directory, connection.target, environ), pool)
        call(grafana.url, "POST", "/api/folders", {"uid": "chat", "title": "Someone else's"}, token=TOKEN)
        outcomes = apply_plan(
            Writer(connection, "chat", Revision("abc", "test"), {}), plan, pool, force=False
        )
    assert (outcomes[0].change.label, outcomes[0].status, outcomes[0].error) == (
        "folder chat",
        FAILED,
        "folder chat: Grafana answered 409: a folder/dashboard with the same uid already exists",
    )
    assert {o.status for o in outcomes[1:]} == {SKIPPED}


def test_folder_deleted_between_plan_and_write(grafana: GrafanaEmulator, directory: Path) -> None:
    connection, environ = connect(grafana)
    assert run_publish(grafana.url, directory, token=TOKEN).returncode == 0
    desired = load_desired(directory, connection.target, environ)
    desired.dashboards["chat-overview"]["description"] = "changed"
    with ThreadPoolExecutor(4) as pool:
        plan = build_plan(connection, desired, pool)
        call(grafana.url, "DELETE", "/api/folders/chat?forceDeleteRules=true", token=TOKEN)
        outcomes = apply_plan(
            Writer(connection, "chat", Revision("abc", "test"), {}), plan, pool, force=False
        )
    assert [(o.change.key, o.status, o.error) for o in outcomes] == [
        (
            "chat-overview",
            FAILED,
            "dashboard chat-overview: its folder does not exist in Grafana (400 folder not found)",
        )
    ]
    assert all(o.status != SKIPPED for o in outcomes)


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        ((), {"GRAFANA_URL": ""}, "GRAFANA_URL is not set"),
        ((), {"ALERT_WEBHOOK_TOKEN": ""}, "export ALERT_WEBHOOK_TOKEN"),
        ((), {"GRAFANA_ORG_ID": "one"}, "GRAFANA_ORG_ID must be a number"),
        (("--dir", "/nonexistent/rendered"), {}, "run `make render` first"),
        (
            ("--env", "dev", "--env-file", "/nonexistent.yaml"),
            {},
            "environments file /nonexistent.yaml not found",
        ),
    ],
)
def test_configuration_errors_exit_2(
    grafana: GrafanaEmulator, directory: Path, args: tuple[str, ...], env: dict[str, str], fragment: str
) -> None:
    assert_one_line_error(publish(grafana, directory, *args, extra_env=env), 2, fragment)


def test_no_credentials(grafana: GrafanaEmulator, directory: Path) -> None:
    assert_one_line_error(publish(grafana, directory, token=None), 2, "export GRAFANA_TOKEN=")
