"""The emulator's health, authentication, org selection, RBAC and fault hooks, against
grafana/grafana: pkg/services/authn/authnimpl/service.go and pkg/middleware/auth.go."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.grafana_emulator import GrafanaEmulator, Token, User
from tests.support.grafana_emulator.client import call

ADMIN, VIEWER, ORG2 = "glsa_admin_token", "glsa_viewer_token", "glsa_org2_token"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    tokens = [
        Token(ADMIN),
        Token(VIEWER, role="Viewer", login="sa-viewer"),
        Token(ORG2, org_id=2),
        Token("glsa_expired", state="expired"),
        Token("glsa_revoked", state="revoked"),
    ]
    users = [User("admin", "admin"), User("multi", "pw", {1: "Viewer", 2: "Editor"})]
    with GrafanaEmulator(tokens=tokens, users=users) as emulator:
        yield emulator


def test_health_needs_no_auth_and_is_pretty_printed(grafana: GrafanaEmulator) -> None:
    answer = call(grafana.url, "GET", "/api/health")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert answer.json == {"database": "ok", "version": "11.5.0", "commit": "4550cfb5b7"}
    assert '\n  "database": "ok"' in answer.text
    grafana.database_ok = False
    failing = call(grafana.url, "GET", "/api/health")
    assert (failing.status, failing.json["database"]) == (503, "failing")


@pytest.mark.parametrize(
    ("kwargs", "message_id", "message"),
    [
        ({}, "auth.unauthorized", "Unauthorized"),
        ({"token": "glsa_unknown"}, "api-key.invalid", "Invalid API key"),
        ({"token": "glsa_expired"}, "api-key.expired", "Expired API key"),
        ({"token": "glsa_revoked"}, "api-key.revoked", "Revoked API key"),
        ({"basic": ("admin", "wrong")}, "password-auth.failed", "Invalid username or password"),
        ({"headers": {"Authorization": "Basic !!!not-base64"}}, "auth.unauthorized", "Unauthorized"),
        ({"headers": {"Authorization": "bearer " + ADMIN}}, "auth.unauthorized", "Unauthorized"),
    ],
)
def test_401_bodies(grafana: GrafanaEmulator, kwargs: dict, message_id: str, message: str) -> None:
    answer = call(grafana.url, "GET", "/api/folders", **kwargs)
    assert answer.status == 401
    assert (answer.json["messageId"], answer.json["message"], answer.json["statusCode"]) == (
        message_id,
        message,
        401,
    )


def test_token_via_basic_api_key_and_users(grafana: GrafanaEmulator) -> None:
    assert call(grafana.url, "GET", "/api/folders", basic=("api_key", ADMIN)).status == 200
    assert call(grafana.url, "GET", "/api/folders", basic=("admin", "admin")).status == 200


def test_token_is_bound_to_its_org(grafana: GrafanaEmulator) -> None:
    mismatch = call(grafana.url, "GET", "/api/folders", token=ADMIN, headers={"X-Grafana-Org-Id": "2"})
    assert mismatch.status == 401
    assert mismatch.json["messageId"] == "api-key.organization-mismatch"
    assert call(grafana.url, "GET", "/api/folders?targetOrgId=1", token=ADMIN).status == 200
    ignored = call(grafana.url, "GET", "/api/folders", token=ADMIN, headers={"X-Grafana-Org-Id": "abc"})
    assert ignored.status == 200  # non-numeric org ids are ignored


def test_org_header_scopes_objects(grafana: GrafanaEmulator) -> None:
    created = call(grafana.url, "POST", "/api/folders", {"uid": "x", "title": "X"}, token=ORG2)
    assert created.status == 200
    assert call(grafana.url, "GET", "/api/folders/x", token=ORG2).status == 200
    assert call(grafana.url, "GET", "/api/folders/x", token=ADMIN).status == 404
    as_user = call(
        grafana.url, "GET", "/api/folders/x", basic=("multi", "pw"), headers={"X-Grafana-Org-Id": "2"}
    )
    assert as_user.status == 200


def test_rbac_denial_names_the_permission(grafana: GrafanaEmulator) -> None:
    answer = call(grafana.url, "POST", "/api/folders", {"title": "T"}, token=VIEWER)
    assert answer.status == 403
    assert answer.json["title"] == "Access denied"
    assert answer.json["message"].endswith("Permissions needed: folders:create")
    assert answer.json["accessErrorId"].startswith("ACE") and len(answer.json["accessErrorId"]) == 13
    as_editor = {"basic": ("multi", "pw"), "headers": {"X-Grafana-Org-Id": "2"}}  # a Viewer in org 1
    assert call(grafana.url, "GET", "/api/v1/provisioning/policies", **as_editor).status == 200
    viewer = call(grafana.url, "PUT", "/api/v1/provisioning/policies", {}, basic=("multi", "pw"))
    assert viewer.status == 403
    assert viewer.json["message"].endswith(f"Permissions needed: {NOTIFICATIONS_WRITE}")
    assert call(grafana.url, "GET", "/api/search", token=VIEWER).status == 200


# grafana/grafana pkg/services/ngalert/api/authorization.go (11.x), printed as evaluator.go's String() does
RULES_READ = (
    "any of alert.provisioning:read, alert.rules.provisioning:read, alert.provisioning.secrets:read, "
    "all of alert.rules:read, folders:read"
)
RULES_WRITE = "any of alert.provisioning:write, alert.rules.provisioning:write, all of alert.rules:{}, "
RULES_WRITE += "alert.provisioning.provenance:write"
GROUP_WRITE = (
    "any of alert.provisioning:write, alert.rules.provisioning:write, all of alert.rules:read, folders:read, "
    "alert.provisioning.provenance:write, any of alert.rules:write, alert.rules:create, alert.rules:delete"
)
GROUP_DELETE = (
    "any of alert.provisioning:write, alert.rules.provisioning:write, all of alert.rules:delete, "
    "alert.rules:read, folders:read, alert.provisioning.provenance:write"
)
NOTIFICATIONS_READ = (
    "any of alert.provisioning:read, alert.notifications.provisioning:read, alert.provisioning.secrets:read, "
    "alert.notifications:read"
)
NOTIFICATIONS_WRITE = (
    "any of alert.provisioning:write, alert.notifications.provisioning:write, "
    "all of alert.notifications:write, alert.provisioning.provenance:write"
)
PROVISIONING_ROUTES = [  # method, path, what 11.x asks for; 10.x asks for alert.provisioning:read/write alone
    ("GET", "/alert-rules", RULES_READ),
    ("GET", "/alert-rules/r1", RULES_READ),
    ("POST", "/alert-rules", RULES_WRITE.format("create")),
    ("PUT", "/alert-rules/r1", RULES_WRITE.format("write")),
    ("DELETE", "/alert-rules/r1", RULES_WRITE.format("delete")),
    ("GET", "/folder/f/rule-groups/g", RULES_READ),
    ("PUT", "/folder/f/rule-groups/g", GROUP_WRITE),
    ("DELETE", "/folder/f/rule-groups/g", GROUP_DELETE),
    ("GET", "/contact-points", NOTIFICATIONS_READ),
    ("POST", "/contact-points", NOTIFICATIONS_WRITE),
    ("PUT", "/contact-points/c1", NOTIFICATIONS_WRITE),
    ("DELETE", "/contact-points/c1", NOTIFICATIONS_WRITE),
    ("GET", "/policies", NOTIFICATIONS_READ),
    ("PUT", "/policies", NOTIFICATIONS_WRITE),
    ("DELETE", "/policies", NOTIFICATIONS_WRITE),
]


@pytest.mark.parametrize(("method", "path", "needs"), PROVISIONING_ROUTES)
@pytest.mark.parametrize("profile", ["v11.3+", "v10"])
def test_provisioning_routes_authorise_as_grafana_does(
    profile: str, method: str, path: str, needs: str
) -> None:
    """Which basic role gets past each route's evaluator, and the 403 for the others. 11.x: reads are a
    Viewer's (fixed:alerting:reader), writes an Editor's (fixed:alerting:writer +
    fixed:alerting.provisioning.provenance:writer; pkg/services/ngalert/accesscontrol.go); 10.x: Admin's."""
    roles = ("Viewer", "Editor", "Admin")
    if profile == "v10":
        needs = "alert.provisioning:" + ("read" if method == "GET" else "write")
    least = ("Viewer" if method == "GET" else "Editor") if profile == "v11.3+" else "Admin"
    with GrafanaEmulator(profile, tokens=[Token(r, role=r, login=r.lower()) for r in roles]) as grafana:
        for role in roles:
            body = None if method == "GET" else {}
            answer = call(grafana.url, method, f"/api/v1/provisioning{path}", body, token=role)
            if roles.index(role) >= roles.index(least):
                assert answer.status != 403, (role, answer.text)
            else:
                assert answer.status == 403, (role, answer.text)
                assert answer.json["message"].endswith(f"Permissions needed: {needs}")


def test_unknown_api_route_and_ui_pages(grafana: GrafanaEmulator) -> None:
    assert call(grafana.url, "GET", "/api/nope", token=ADMIN).json == {"message": "Not found"}
    page = call(grafana.url, "GET", "/d-solo/abc/slug?panelId=1")
    assert (page.status, page.headers["Location"]) == (302, "/login")
    assert call(grafana.url, "GET", "/d-solo/abc/slug?panelId=1", token=ADMIN).status == 200


def test_fail_next_and_request_log(grafana: GrafanaEmulator) -> None:
    grafana.fail_next(2, methods=("GET",), path_prefix="/api/folders")
    statuses = [call(grafana.url, "GET", "/api/folders", token=ADMIN).status for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert call(grafana.url, "POST", "/api/folders", {"title": "T"}, token=ADMIN).status == 200
    assert [(r.method, r.path, r.status) for r in grafana.requests] == [
        ("GET", "/api/folders", 503),
        ("GET", "/api/folders", 503),
        ("GET", "/api/folders", 200),
        ("POST", "/api/folders", 200),
    ]
    assert grafana.writes == 1


def test_drop_next_closes_without_answer(grafana: GrafanaEmulator) -> None:
    grafana.drop_next(1, methods=("POST",))
    with pytest.raises(requests.ConnectionError):
        call(grafana.url, "POST", "/api/folders", {"uid": "dropped", "title": "Dropped"}, token=ADMIN)
    assert call(grafana.url, "GET", "/api/folders/dropped", token=ADMIN).status == 404  # not applied
    grafana.drop_next(1, methods=("POST",), after_apply=True)
    with pytest.raises(requests.ConnectionError):
        call(grafana.url, "POST", "/api/folders", {"uid": "applied", "title": "Applied"}, token=ADMIN)
    assert call(grafana.url, "GET", "/api/folders/applied", token=ADMIN).status == 200
    assert [r.status for r in grafana.requests if r.method == "POST"] == [0, 0]
    assert grafana.writes == 1


def test_latency_delays_every_request(grafana: GrafanaEmulator) -> None:
    grafana.latency_s = 0.2
    for _ in range(2):
        started = time.monotonic()
        assert call(grafana.url, "GET", "/api/health").status == 200
        assert time.monotonic() - started >= 0.2


def test_stop_frees_the_port() -> None:
    emulator = GrafanaEmulator().start()
    port = int(emulator.url.rsplit(":", 1)[1])
    emulator.stop()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
