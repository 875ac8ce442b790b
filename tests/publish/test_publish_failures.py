"""The publisher when things go wrong: transient 503s, dropped connections, bad credentials, missing role,
Grafana down or still starting, something other than Grafana answering (a login page, a proxy's error
page), a deleted folder, alert validation errors, bad configuration."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from grafana_client.client import GrafanaException

from scripts.common.procs import free_port, poll_until
from scripts.grafana.client import Grafana, explain
from scripts.grafana.target import load_target
from scripts.publish.apply import FAILED, SKIPPED, apply_plan
from scripts.publish.desired import load_desired
from scripts.publish.plan import build_plan
from scripts.publish.revision import Revision
from scripts.publish.writers import Writer
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import WEBHOOK_SECRET, run_publish
from tests.support.grafana_emulator.rendered import default_tree, write_tree
from tests.support.grafana_emulator.server import ForeignPage

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


def _publish_an_update_as(
    grafana: GrafanaEmulator, tmp_path: Path, token: str
) -> subprocess.CompletedProcess[str]:
    """Everything published by the Admin token, then one rule group changed and published with `token`."""
    tree = default_tree()
    directory = write_tree(tmp_path, tree)
    assert publish(grafana, directory).returncode == 0
    tree["rule_groups"][0]["interval"] = 120
    write_tree(directory, tree)
    return publish(grafana, directory, token=token)


# grafana/grafana pkg/services/ngalert/api/authorization.go, as accesscontrol/evaluator.go prints it
RULE_GROUP_PUT_NEEDS = (
    "any of alert.provisioning:write, alert.rules.provisioning:write, all of alert.rules:read, folders:read, "
    "alert.provisioning.provenance:write, any of alert.rules:write, alert.rules:create, alert.rules:delete"
)


@pytest.mark.parametrize(
    ("profile", "role", "code", "denial"),
    [
        # Grafana 10: the provisioning API is Admin's; an Editor's plan stops at its first alerting read.
        (
            "v10",
            "Editor",
            2,
            "publish: error: notification policy: permission denied by Grafana (403): the service account "
            "needs the Admin role (missing permission alert.provisioning:read)",
        ),
        # Grafana 11.0+: a Viewer reads all the plan reads; the rule group's write is refused by an EvalAny
        # whose least passing role is Editor (alert.rules:* + alert.provisioning.provenance:write). The
        # refused write fails that object; the exit code is configuration's (2), as for a 403 in the plan.
        (
            "v11.3+",
            "Viewer",
            2,
            "failed: rule-group chat/chat: permission denied by Grafana (403): the service account needs the "
            f"Editor role (missing permission {RULE_GROUP_PUT_NEEDS})",
        ),
    ],
)
def test_missing_role_names_the_role(tmp_path: Path, profile: str, role: str, code: int, denial: str) -> None:
    short = "glsa_short_token"
    with GrafanaEmulator(
        profile, tokens=[Token(TOKEN), Token(short, role=role, login="sa-short")]
    ) as grafana:
        result = _publish_an_update_as(grafana, tmp_path, short)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    denials = [line for line in (result.stdout + result.stderr).splitlines() if "(403)" in line]
    assert denials == [denial]


def test_an_editor_publishes_on_grafana_11(tmp_path: Path) -> None:
    """From 11.0 every provisioning route also takes the permissions an Editor has (grafana/grafana#85022):
    creates, updates and a no-op rerun all go through with an Editor token."""
    with GrafanaEmulator(
        "v11.3+", tokens=[Token(TOKEN), Token(EDITOR, role="Editor", login="sa-editor")]
    ) as grafana:
        tree = default_tree()
        directory = write_tree(tmp_path, tree)
        created = publish(grafana, directory, token=EDITOR)
        assert created.returncode == 0, created.stdout + created.stderr
        tree["rule_groups"][0]["interval"] = 120
        tree["contact_points"][0]["disableResolveMessage"] = True
        write_tree(directory, tree)
        updated = publish(grafana, directory, token=EDITOR)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        assert "plan: 0 create, 3 update" in updated.stdout
        assert not [r for r in grafana.requests if r.status == 403]
        grafana.reset_log()
        assert publish(grafana, directory, token=EDITOR).returncode == 0
        assert grafana.writes == 0


READ_RULES_NEEDS = (
    "any of alert.provisioning:read, alert.rules.provisioning:read, alert.provisioning.secrets:read, "
    "all of alert.rules:read, folders:read"
)


@pytest.mark.parametrize(
    ("permission", "role"),
    [
        # one permission, as every route printed it before 11.0 and dashboards/folders still do
        ("dashboards:read", "Viewer"),
        ("dashboards:write", "Editor"),
        ("dashboards:create", "Editor"),
        ("folders:read", "Viewer"),
        ("folders:create", "Editor"),
        ("folders:delete", "Editor"),
        ("alert.rules:read", "Viewer"),
        ("alert.rules:write", "Editor"),
        ("alert.rules:create", "Editor"),
        ("alert.notifications:read", "Viewer"),
        ("alert.notifications:write", "Editor"),
        ("alert.provisioning.provenance:write", "Editor"),
        ("alert.provisioning:read", "Admin"),
        ("alert.provisioning:write", "Admin"),
        ("alert.provisioning.secrets:read", "Admin"),
        ("alert.rules.provisioning:write", "Admin"),
        ("alert.notifications.provisioning:read", "Admin"),
        ("users:read", "Admin"),  # not one a publish needs: the hint does not guess lower
        # Grafana 11 evaluators (String(): "any of"/"all of", a nested group running to the end)
        (READ_RULES_NEEDS, "Viewer"),
        (
            "any of alert.provisioning:read, alert.notifications.provisioning:read, "
            "alert.provisioning.secrets:read, alert.notifications:read",
            "Viewer",
        ),
        (
            "any of alert.provisioning:write, alert.rules.provisioning:write, "
            "all of alert.rules:create, alert.provisioning.provenance:write",
            "Editor",
        ),
        (RULE_GROUP_PUT_NEEDS, "Editor"),
        (
            "any of alert.provisioning:write, alert.notifications.provisioning:write, "
            "all of alert.notifications:write, alert.provisioning.provenance:write",
            "Editor",
        ),
        ("all of alert.rules:read, alert.provisioning:read", "Admin"),  # all of: the most a member needs
        ("any of alert.provisioning:write, alert.rules.provisioning:write", "Admin"),
        # older builds printed GoString(): "any(a b)", groups closed by ")"
        ("any(alert.provisioning:read, alert.provisioning.secrets:read)", "Admin"),
        ("any(alert.provisioning:read all(alert.rules:read folders:read))", "Viewer"),
        ("any(all(alert.provisioning:read alert.rules:read) folders:create)", "Editor"),
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


def test_a_403_without_permissions_names_editor() -> None:
    """A handler's own refusal (no evaluator printed): Editor, the least role that writes."""
    error = explain(GrafanaException(403, {"message": "Access denied"}, ""), "folder chat", "http://g:3000")
    assert (
        str(error)
        == "folder chat: permission denied by Grafana (403): the service account needs the Editor role"
    )


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


SSO_LOGIN_PAGE = ForeignPage(
    200,
    "<!doctype html><html><head><title>Sign in · Example SSO</title><style>body { margin: 0 }</style>"
    "<script>window.next = '<b>dashboards</b>';</script></head>"
    "<body><h1>Sign in</h1><p>Use your company account &amp; password.</p></body></html>",
)
NGINX_404_PAGE = ForeignPage(
    404,
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
    "</center>\r\n<hr><center>nginx</center>\r\n" + "<!-- a padding comment -->\r\n" * 40 + "</body></html>",
)
SSO_REDIRECT = ForeignPage(302, location="https://sso.example.com/oauth2/start?state=s3cr3t-state")


def assert_summarised(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    """One line naming the request and what came back; none of the page's markup."""
    assert_one_line_error(result, code, *fragments)
    error_line = next(line for line in result.stderr.splitlines() if line.startswith("publish: error:"))
    assert "<" not in error_line and len(error_line) < 300, error_line


@pytest.mark.parametrize(
    ("page", "path_prefix", "fragment"),
    [
        (
            SSO_LOGIN_PAGE,
            "/api/health",
            'health check: GET {url}/api/health answered 200 text/html "Sign in · Example SSO Sign in Use '
            "your company account & password.\", not Grafana's JSON: is GRAFANA_URL the Grafana base URL?",
        ),
        (  # a web server at a wrong base path
            NGINX_404_PAGE,
            "/",
            'health check: GET {url}/api/health answered 404 text/html "404 Not Found 404 Not Found nginx",',
        ),
        (
            SSO_REDIRECT,
            "/",
            "health check: GET {url}/api/health answered 302 redirect to https://sso.example.com/oauth2/start,",
        ),
        (  # a proxy's 404 page is not "the folder does not exist": the plan must not go on to create it
            NGINX_404_PAGE,
            "/api/folders/",
            "folder chat: GET {url}/api/folders/chat answered 404 text/html",
        ),
        (
            ForeignPage(403, "<h1>Blocked by policy</h1>"),
            "/api/v1/provisioning/contact-points",
            'contact points: GET {url}/api/v1/provisioning/contact-points answered 403 text/html "Blocked by',
        ),
        (
            ForeignPage(200, "search is elsewhere", content_type="text/plain"),
            "/api/search",
            'dashboard search: GET {url}/api/search answered 200 text/plain "search is elsewhere"',
        ),
    ],
)
def test_an_answer_that_is_not_grafanas_is_a_configuration_error(
    grafana: GrafanaEmulator, directory: Path, page: ForeignPage, path_prefix: str, fragment: str
) -> None:
    grafana.answer_foreign(page, path_prefix)
    result = publish(grafana, directory, "--plan")
    assert_summarised(result, 2, fragment.format(url=grafana.url))
    assert "s3cr3t-state" not in result.stderr


def test_a_proxy_error_page_is_retried_like_a_503(grafana: GrafanaEmulator, directory: Path) -> None:
    bad_gateway = ForeignPage(502, "<html><head><title>502 Bad Gateway</title></head><body></body></html>")
    grafana.answer_foreign(bad_gateway, "/api/health", count=2)
    recovered = publish(grafana, directory, "--plan", "--json")
    assert recovered.returncode == 0, recovered.stderr
    assert '"retries": 2' in recovered.stdout
    grafana.answer_foreign(bad_gateway, "/api/health")
    assert_summarised(
        publish(grafana, directory, "--plan"),
        1,
        f'health check: GET {grafana.url}/api/health answered 502 text/html "502 Bad Gateway", '
        "not Grafana's JSON: is Grafana running behind it?",
    )


def test_json_that_does_not_parse_is_one_line(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.answer_foreign(ForeignPage(200, "<html>", content_type="application/json"), "/api/health")
    assert_one_line_error(
        publish(grafana, directory, "--plan"),
        1,
        f"health check: Grafana at {grafana.url} answered JSON that does not parse (Expecting value",
    )


def test_waiting_shows_progress_and_gives_up_in_time(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.database_ok = False
    started = time.monotonic()
    result = publish(grafana, directory, "--wait", "6")
    assert time.monotonic() - started < 6 + 5  # one request timeout at most past the wait, plus start-up
    assert_one_line_error(result, 1, "health check: Grafana answered 503", "(gave up after 6 s)")
    progress = [line for line in result.stderr.splitlines() if line.startswith("waiting for Grafana")]
    assert len(progress) == 1, result.stderr  # every 5 s
    assert re.fullmatch(
        rf"waiting for Grafana at {re.escape(grafana.url)}: health check: Grafana answered 503: "
        r'\{"database": "failing".*\} \(\d s of 6 s\)',
        progress[0],
    ), progress[0]


def test_waiting_ends_at_once_on_a_configuration_error(grafana: GrafanaEmulator, directory: Path) -> None:
    grafana.answer_foreign(SSO_LOGIN_PAGE, "/api/health")
    started = time.monotonic()
    result = publish(grafana, directory, "--wait", "60")
    assert time.monotonic() - started < 20
    assert_summarised(result, 2, "is GRAFANA_URL the Grafana base URL?")
    assert "waiting for Grafana" not in result.stderr


def _publish_then_edit_in_the_ui(grafana: GrafanaEmulator, tmp_path: Path) -> Path:
    """Publish as Admin, then save chat-logs from the UI: the plan then reads that dashboard's history."""
    directory = write_tree(tmp_path, default_tree())
    assert publish(grafana, directory).returncode == 0
    live = call(grafana.url, "GET", "/api/dashboards/uid/chat-logs", token=TOKEN).json["dashboard"]
    live["title"] = "Edited in the UI"
    edit = {"dashboard": live, "folderUid": "chat"}
    assert call(grafana.url, "POST", "/api/dashboards/db", edit, basic=("admin", "admin")).status == 200
    return directory


@pytest.mark.parametrize(
    ("profile", "role"),
    [
        # Grafana 10: the provisioning reads need alert.provisioning:read, which only the fixed roles
        # fixed:alerting.provisioning:writer and fixed:alerting.provisioning.secrets:reader grant, both to
        # Admin (grafana/grafana pkg/services/ngalert/accesscontrol.go, api/authorization.go).
        ("v10", "Admin"),
        # Grafana 11.0+ also accepts alert.rules:read + folders:read and alert.notifications:read there
        # (grafana/grafana#77007, #85022), a Viewer's; dashboard history still needs dashboards:write: Editor.
        ("v11.3+", "Editor"),
    ],
)
def test_the_least_role_runs_the_whole_plan(tmp_path: Path, profile: str, role: str) -> None:
    """The plan reads folders, dashboards with their history (a drifted one), rules and notifications."""
    least = "glsa_plan_token"
    with GrafanaEmulator(profile, tokens=[Token(TOKEN), Token(least, role=role, login="sa-plan")]) as grafana:
        directory = _publish_then_edit_in_the_ui(grafana, tmp_path)
        planned = publish(grafana, directory, "--plan", token=least)
        assert planned.returncode == 3, planned.stdout + planned.stderr  # the plan ran through: drift
        assert "drifted    dashboard chat-logs" in planned.stdout
        assert ("GET", "/api/dashboards/uid/chat-logs/versions", 200) in {
            (r.method, r.path, r.status) for r in grafana.requests
        }


@pytest.mark.parametrize(
    ("profile", "role", "denial"),
    [
        (
            "v10",
            "Editor",
            "notification policy: permission denied by Grafana (403): the service account needs "
            "the Admin role (missing permission alert.provisioning:read)",
        ),
        (
            "v11.3+",
            "Viewer",
            "dashboard chat-logs history: permission denied by Grafana (403): the service account needs "
            "the Editor role (missing permission dashboards:write)",
        ),
    ],
)
def test_one_role_less_cannot_run_the_plan(tmp_path: Path, profile: str, role: str, denial: str) -> None:
    """The role below the least one is refused a read the plan needs, and the hint names the least one."""
    short = "glsa_short_token"
    with GrafanaEmulator(
        profile, tokens=[Token(TOKEN), Token(short, role=role, login="sa-short")]
    ) as grafana:
        directory = _publish_then_edit_in_the_ui(grafana, tmp_path)
        assert_one_line_error(publish(grafana, directory, "--plan", token=short), 2, denial)


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
            Writer(connection, "chat", Revision("abc", "test"), {}, "test/default"), plan, pool, force=False
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
            Writer(connection, "chat", Revision("abc", "test"), {}, "test/default"), plan, pool, force=False
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
