"""The HTTP side of the emulator: a real server on 127.0.0.1, authentication, org selection, RBAC,
routing to the stores, fault injection and a request log.

Order of processing mirrors Grafana's middleware chain: /api/health first (no auth), then
authentication (401 bodies: pkg/services/authn), org selection (pkg/middleware/org_redirect.go and
the X-Grafana-Org-Id header), RBAC (403 body: pkg/services/accesscontrol middleware deny()), then the handler.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .alerting import AlertingStore
from .apps import DASHBOARD_GROUP, FOLDER_GROUP, AppsApi, discovery
from .dashboards import DashboardStore
from .errors import ApiError, access_denied, plain, public
from .profile import PROFILES, Profile

_INVALID_JSON = object()  # a body that did not decode; every handler answers 'bad request data'
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


# ---- RBAC: what each basic role holds and what each route asks for ------------------------------------
@dataclass(frozen=True)
class Perm:
    """`ac.EvalPermission(action, scopes...)`. Scopes are left out: every basic role holds the actions
    below on all folders and dashboards (`folders:*`), so a scope never decides here, and Grafana's
    String() prints the action alone."""

    action: str

    def allows(self, granted: frozenset[str]) -> bool:
        return self.action in granted

    def __str__(self) -> str:
        return self.action


@dataclass(frozen=True)
class AnyOf:
    """`ac.EvalAny(...)`, printed "any of a, b" (pkg/services/accesscontrol/evaluator.go)."""

    of: tuple[Evaluator, ...]

    def allows(self, granted: frozenset[str]) -> bool:
        return any(e.allows(granted) for e in self.of)

    def __str__(self) -> str:
        return "any of " + ", ".join(map(str, self.of))


@dataclass(frozen=True)
class AllOf:
    """`ac.EvalAll(...)`, printed "all of a, b" (pkg/services/accesscontrol/evaluator.go)."""

    of: tuple[Evaluator, ...]

    def allows(self, granted: frozenset[str]) -> bool:
        return all(e.allows(granted) for e in self.of)

    def __str__(self) -> str:
        return "all of " + ", ".join(map(str, self.of))


Evaluator = Perm | AnyOf | AllOf


def any_of(*of: Evaluator | str) -> AnyOf:
    return AnyOf(tuple(Perm(e) if isinstance(e, str) else e for e in of))


def all_of(*of: Evaluator | str) -> AllOf:
    return AllOf(tuple(Perm(e) if isinstance(e, str) else e for e in of))


_READ = {"dashboards:read", "folders:read"}
_EDIT = {
    "dashboards:create",
    "dashboards:write",
    "dashboards:delete",
    "folders:create",
    "folders:write",
    "folders:delete",
}
# grafana/grafana pkg/services/ngalert/accesscontrol.go (11.x): fixed:alerting:reader is granted to Viewer
# (alert.rules:read, alert.notifications:read), fixed:alerting:writer to Editor (alert.rules:create/write/
# delete, alert.notifications:write), fixed:alerting.provisioning.provenance:writer to Editor and Admin,
# fixed:alerting.provisioning:writer and fixed:alerting.provisioning.secrets:reader to Admin alone. The
# actions 10.x lacks (provenance:write, alert.rules/notifications.provisioning:*) change no v10 answer:
# its provisioning routes ask for alert.provisioning:read/write alone.
_ALERTING_READ = {"alert.rules:read", "alert.notifications:read"}
_ALERTING_WRITE = {
    "alert.rules:create",
    "alert.rules:write",
    "alert.rules:delete",
    "alert.notifications:write",
    "alert.provisioning.provenance:write",
}
_ALERT_PROVISIONING = {
    "alert.provisioning:read",
    "alert.provisioning:write",
    "alert.provisioning.secrets:read",
    "alert.rules.provisioning:read",
    "alert.rules.provisioning:write",
    "alert.notifications.provisioning:read",
    "alert.notifications.provisioning:write",
}
_VIEWER = frozenset(_READ | _ALERTING_READ)
_EDITOR = _VIEWER | _EDIT | _ALERTING_WRITE
ROLE_PERMISSIONS = {"Viewer": _VIEWER, "Editor": _EDITOR, "Admin": _EDITOR | _ALERT_PROVISIONING}


def provisioning_evaluators(profile: Profile) -> dict[str, Evaluator]:
    """The alerting provisioning routes' evaluators (grafana/grafana
    pkg/services/ngalert/api/authorization.go): in 10.x `alert.provisioning:read` / `:write` alone; from 11.0
    an EvalAny that also takes the permissions Viewers (reads) and Editors (writes) hold, the handler then
    checking folders and data sources."""
    if not profile.provisioning_rbac:
        read, write = Perm("alert.provisioning:read"), Perm("alert.provisioning:write")
        return dict.fromkeys(("rules:read", "notifications:read"), read) | dict.fromkeys(
            (
                "rule:create",
                "rule:update",
                "rule:delete",
                "group:write",
                "group:delete",
                "notifications:write",
            ),
            write,
        )
    write = ("alert.provisioning:write", "alert.rules.provisioning:write")
    provenance = "alert.provisioning.provenance:write"
    rules_read = any_of(
        "alert.provisioning:read",
        "alert.rules.provisioning:read",
        "alert.provisioning.secrets:read",
        all_of("alert.rules:read", "folders:read"),
    )
    return {
        "rules:read": rules_read,  # the list, one rule, and a rule group (there scoped to its folder)
        "rule:create": any_of(*write, all_of("alert.rules:create", provenance)),
        "rule:update": any_of(*write, all_of("alert.rules:write", provenance)),
        "rule:delete": any_of(*write, all_of("alert.rules:delete", provenance)),
        "group:write": any_of(
            *write,
            all_of(
                "alert.rules:read",
                "folders:read",
                provenance,
                any_of("alert.rules:write", "alert.rules:create", "alert.rules:delete"),
            ),
        ),
        "group:delete": any_of(
            *write, all_of("alert.rules:delete", "alert.rules:read", "folders:read", provenance)
        ),
        "notifications:read": any_of(  # contact points and the notification policy tree
            "alert.provisioning:read",
            "alert.notifications.provisioning:read",
            "alert.provisioning.secrets:read",
            "alert.notifications:read",
        ),
        "notifications:write": any_of(
            "alert.provisioning:write",
            "alert.notifications.provisioning:write",
            all_of("alert.notifications:write", provenance),
        ),
    }


@dataclass(frozen=True)
class Token:
    """A service-account token bound to one org and one basic role."""

    value: str
    org_id: int = 1
    role: str = "Admin"
    login: str = "sa-1-publisher"
    state: str = "ok"  # ok | expired | revoked


@dataclass(frozen=True)
class User:
    login: str
    password: str
    roles: dict[int, str] = field(default_factory=lambda: {1: "Admin"})


@dataclass(frozen=True)
class Identity:
    login: str
    org_id: int
    role: str


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int  # 0 = connection dropped without an answer


@dataclass(frozen=True)
class ForeignPage:
    """What something other than Grafana answers at its address: an SSO proxy's login page or redirect, a
    reverse proxy's 404 or 502 page, another web server at a wrong base path."""

    status: int
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    location: str = ""  # where a redirect (3xx) sends the client


@dataclass
class Fault:
    """Applies to the next `remaining` requests matching `methods` (all when empty) and `path_prefix`."""

    remaining: int
    methods: frozenset[str]
    path_prefix: str
    status: int = 503
    after_apply: bool = False
    page: ForeignPage | None = None  # answer this instead of Grafana

    def take(self, method: str, path: str) -> bool:
        if self.remaining <= 0 or (self.methods and method not in self.methods):
            return False
        if not path.startswith(self.path_prefix):
            return False
        self.remaining -= 1
        return True


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    identity: Identity | None = None

    @property
    def provenance(self) -> str:
        return "" if "x-disable-provenance" in self.headers else "api"


Handler = Callable[[Request, "re.Match[str]"], tuple[int, Any]]


class GrafanaEmulator:
    """In-process Grafana: `with GrafanaEmulator() as grafana: ... grafana.url ...`."""

    def __init__(
        self,
        profile: str = "v11.3+",
        tokens: list[Token] | None = None,
        users: list[User] | None = None,
        latency_s: float = 0.0,
    ) -> None:
        self.profile: Profile = PROFILES[profile]
        self.tokens = {t.value: t for t in tokens or []}
        self.users = {u.login: u for u in users or [User("admin", "admin")]}
        self.latency_s = latency_s
        self.database_ok = True
        self.requests: list[LoggedRequest] = []
        self.writes = 0
        self.lock = threading.RLock()
        self.alerting = AlertingStore(
            self.profile, lambda org, uid: self.dashboards.folder(org, uid) is not None
        )
        self.dashboards = DashboardStore(self.profile, self.alerting.rules_in_folder)
        self._faults: list[Fault] = []
        self._interleaved: list[tuple[str, str, Callable[[], None]]] = []
        self._routes = self._route_table()
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ---- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> GrafanaEmulator:
        handler = type("BoundHandler", (_HttpHandler,), {"emulator": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="grafana-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._server = None

    def __enter__(self) -> GrafanaEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "emulator not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ---- test hooks ----------------------------------------------------------------------------------
    def fail_next(
        self, count: int, status: int = 503, methods: tuple[str, ...] = (), path_prefix: str = "/"
    ) -> None:
        """Answer the next `count` matching requests with `status` instead of handling them."""
        with self.lock:
            self._faults.append(Fault(count, frozenset(methods), path_prefix, status=status))

    def drop_next(
        self, count: int, methods: tuple[str, ...] = (), path_prefix: str = "/", after_apply: bool = False
    ) -> None:
        """Close the socket without answering the next `count` matching requests (before/after handling)."""
        with self.lock:
            self._faults.append(
                Fault(count, frozenset(methods), path_prefix, status=0, after_apply=after_apply)
            )

    def answer_foreign(
        self,
        page: ForeignPage,
        path_prefix: str = "/",
        count: int = sys.maxsize,
        methods: tuple[str, ...] = (),
    ) -> None:
        """Answer the next `count` matching requests (default: all) with `page` instead of as Grafana."""
        with self.lock:
            self._faults.append(Fault(count, frozenset(methods), path_prefix, page.status, page=page))

    def interleave(self, method: str, path_prefix: str, action: Callable[[], None]) -> None:
        """Run `action` (e.g. someone's save) once, just before handling the next `method` request to a path
        starting with `path_prefix`: what another writer does between a publish's plan and its write."""
        with self.lock:
            self._interleaved.append((method, path_prefix, action))

    def _run_interleaved(self, method: str, path: str) -> None:
        with self.lock:
            due = next((i for i in self._interleaved if i[0] == method and path.startswith(i[1])), None)
            if due is not None:
                self._interleaved.remove(due)
        if due is not None:
            due[2]()

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.writes = 0

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            return next((f for f in self._faults if f.take(method, path)), None)

    def _record(self, method: str, path: str, status: int, dry_run: bool = False) -> None:
        with self.lock:
            self.requests.append(LoggedRequest(method, path, status))
            if method in WRITE_METHODS and 200 <= status < 300 and not dry_run:  # a dry run stores nothing
                self.writes += 1

    # ---- request processing --------------------------------------------------------------------------
    def health(self) -> tuple[int, str]:
        body = {
            "database": "ok" if self.database_ok else "failing",
            "version": self.profile.version,
            "commit": "4550cfb5b7",
        }
        return (200 if self.database_ok else 503), json.dumps(body, indent=2)

    def handle(self, request: Request) -> tuple[int, Any]:
        """Authenticate, authorise and dispatch one /api request; errors become Grafana's bodies."""
        try:
            request.identity = self._authenticate(request)
            for method, pattern, needed, handler in self._routes:
                match = pattern.fullmatch(request.path)
                if match is None or method != request.method:
                    continue
                if needed is not None and not needed.allows(ROLE_PERMISSIONS[request.identity.role]):
                    raise access_denied(needed)
                with self.lock:
                    return handler(request, match)
            raise plain(404, "Not found")
        except ApiError as error:
            return error.status, error.body

    def _authenticate(self, request: Request) -> Identity:
        header = request.headers.get("authorization", "")
        requested_org = self._requested_org(request)
        if header.startswith("Bearer "):
            return self._token_identity(header[len("Bearer ") :], requested_org)
        if header.startswith("Basic "):
            try:
                login, _, password = (
                    base64.b64decode(header[len("Basic ") :], validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                login, password = "", ""
            if login == "api_key":
                return self._token_identity(password, requested_org)
            if login:
                return self._user_identity(login, password, requested_org)
        raise public(401, "auth.unauthorized", "Unauthorized")

    @staticmethod
    def _requested_org(request: Request) -> int | None:
        for value in (request.query.get("targetOrgId", [""])[0], request.headers.get("x-grafana-org-id", "")):
            if value.isdigit():
                return int(value)
        return None

    def _token_identity(self, value: str, requested_org: int | None) -> Identity:
        token = self.tokens.get(value)
        if token is None:
            raise public(401, "api-key.invalid", "Invalid API key")
        if token.state != "ok":
            raise public(401, f"api-key.{token.state}", f"{token.state.capitalize()} API key")
        if requested_org is not None and requested_org != token.org_id:
            raise public(
                401, "api-key.organization-mismatch", "API key does not belong to the requested organization"
            )
        return Identity(token.login, token.org_id, token.role)

    def _user_identity(self, login: str, password: str, requested_org: int | None) -> Identity:
        user = self.users.get(login)
        if user is None or user.password != password:
            raise public(401, "password-auth.failed", "Invalid username or password")
        org_id = requested_org if requested_org is not None else min(user.roles)
        if org_id not in user.roles:
            raise public(401, "auth.unauthorized", "Unauthorized")
        return Identity(login, org_id, user.roles[org_id])

    # ---- routes --------------------------------------------------------------------------------------
    def _route_table(self) -> list[tuple[str, re.Pattern[str], Evaluator | None, Handler]]:
        dash, alert = self.dashboards, self.alerting
        uid, prov = r"([^/]+)", "/api/v1/provisioning"
        needs = provisioning_evaluators(self.profile)

        def can_edit(req: Request) -> bool:
            return req.identity is not None and req.identity.role in ("Editor", "Admin")

        def org(req: Request) -> int:
            assert req.identity is not None
            return req.identity.org_id

        def actor(req: Request) -> str:
            assert req.identity is not None
            return req.identity.login

        def first(req: Request, name: str, default: str = "") -> str:
            return req.query.get(name, [default])[0]

        def delete_folder(req: Request, m: re.Match[str]) -> tuple[int, Any]:
            deleted = dash.delete_folder(org(req), m[1], first(req, "forceDeleteRules") == "true")
            alert.delete_rules_in_folders(org(req), deleted)
            return 200, {"message": "Folder deleted"}

        def delete_rule(req: Request, m: re.Match[str]) -> tuple[int, Any]:
            alert.delete_rule(org(req), m[1], req.provenance)
            return 204, None

        def delete_group(req: Request, m: re.Match[str]) -> tuple[int, Any]:
            alert.delete_group(org(req), m[1], m[2], req.provenance)
            return 204, None

        def versions(req: Request, m: re.Match[str]) -> tuple[int, Any]:
            limit, start = int(first(req, "limit", "1000") or 1000), int(first(req, "start", "0") or 0)
            return 200, dash.list_versions(org(req), m[1], limit, start)

        routes: list[tuple[str, str, Evaluator | str | None, Handler]] = [
            (
                "GET",
                "/api/folders",
                "folders:read",
                lambda r, m: (200, dash.list_folders(org(r), first(r, "parentUid"))),
            ),
            (
                "GET",
                f"/api/folders/{uid}",
                "folders:read",
                lambda r, m: (200, dash.get_folder(org(r), m[1], can_edit(r))),
            ),
            (
                "POST",
                "/api/folders",
                "folders:create",
                lambda r, m: (200, dash.create_folder(org(r), actor(r), r.body)),
            ),
            (
                "PUT",
                f"/api/folders/{uid}",
                "folders:write",
                lambda r, m: (200, dash.update_folder(org(r), actor(r), m[1], r.body)),
            ),
            ("DELETE", f"/api/folders/{uid}", "folders:delete", delete_folder),
            (
                "POST",
                "/api/dashboards/db",
                "dashboards:create",
                lambda r, m: (200, dash.save_dashboard(org(r), actor(r), r.body)),
            ),
            (
                "GET",
                f"/api/dashboards/uid/{uid}",
                "dashboards:read",
                lambda r, m: (200, dash.get_dashboard(org(r), m[1], can_edit(r))),
            ),
            (
                "DELETE",
                f"/api/dashboards/uid/{uid}",
                "dashboards:delete",
                lambda r, m: (200, dash.delete_dashboard(org(r), m[1])),
            ),
            ("GET", f"/api/dashboards/uid/{uid}/versions", "dashboards:write", versions),
            (
                "GET",
                f"/api/dashboards/uid/{uid}/versions/(\\d+)",
                "dashboards:write",
                lambda r, m: (200, dash.get_version(org(r), m[1], int(m[2]))),
            ),
            (
                "POST",
                f"/api/dashboards/uid/{uid}/restore",
                "dashboards:write",
                lambda r, m: (200, dash.restore_version(org(r), actor(r), m[1], r.body)),
            ),
            ("GET", "/api/search", None, lambda r, m: (200, dash.search(org(r), r.query))),
            # pkg/api/org.go getCurrentOrg (org.DTO); any member may read its own org
            ("GET", "/api/org", None, lambda r, m: (200, {"id": org(r), "name": "Main Org."})),
            (
                "GET",
                f"{prov}/alert-rules",
                needs["rules:read"],
                lambda r, m: (200, alert.list_rules(org(r))),
            ),
            (
                "GET",
                f"{prov}/alert-rules/{uid}",
                needs["rules:read"],
                lambda r, m: (200, alert.get_rule(org(r), m[1])),
            ),
            (
                "POST",
                f"{prov}/alert-rules",
                needs["rule:create"],
                lambda r, m: (201, alert.create_rule(org(r), r.body, r.provenance)),
            ),
            (
                "PUT",
                f"{prov}/alert-rules/{uid}",
                needs["rule:update"],
                lambda r, m: (200, alert.update_rule(org(r), m[1], r.body, r.provenance)),
            ),
            ("DELETE", f"{prov}/alert-rules/{uid}", needs["rule:delete"], delete_rule),
            (
                "GET",
                f"{prov}/folder/{uid}/rule-groups/{uid}",
                needs["rules:read"],
                lambda r, m: (200, alert.get_group(org(r), m[1], m[2])),
            ),
            (
                "PUT",
                f"{prov}/folder/{uid}/rule-groups/{uid}",
                needs["group:write"],
                lambda r, m: (200, alert.replace_group(org(r), m[1], m[2], r.body, r.provenance)),
            ),
            ("DELETE", f"{prov}/folder/{uid}/rule-groups/{uid}", needs["group:delete"], delete_group),
            (
                "GET",
                f"{prov}/contact-points",
                needs["notifications:read"],
                lambda r, m: (200, alert.list_contact_points(org(r), r.query.get("name", [None])[0])),
            ),
            (
                "POST",
                f"{prov}/contact-points",
                needs["notifications:write"],
                lambda r, m: (202, alert.create_contact_point(org(r), r.body, r.provenance)),
            ),
            (
                "PUT",
                f"{prov}/contact-points/{uid}",
                needs["notifications:write"],
                lambda r, m: (202, alert.update_contact_point(org(r), m[1], r.body, r.provenance)),
            ),
            (
                "DELETE",
                f"{prov}/contact-points/{uid}",
                needs["notifications:write"],
                lambda r, m: (202, alert.delete_contact_point(org(r), m[1])),
            ),
            (
                "GET",
                f"{prov}/policies",
                needs["notifications:read"],
                lambda r, m: (200, alert.get_policies(org(r))),
            ),
            (
                "PUT",
                f"{prov}/policies",
                needs["notifications:write"],
                lambda r, m: (202, alert.set_policies(org(r), r.body, r.provenance)),
            ),
            (
                "DELETE",
                f"{prov}/policies",
                needs["notifications:write"],
                lambda r, m: (202, alert.reset_policies(org(r))),
            ),
        ]
        if self.profile.app_platform:
            routes += self._app_platform_routes(org, actor)
        return [
            (method, re.compile(path), Perm(needed) if isinstance(needed, str) else needed, fn)
            for method, path, needed, fn in routes
        ]

    def _app_platform_routes(
        self, org: Callable[[Request], int], actor: Callable[[Request], str]
    ) -> list[tuple[str, str, Evaluator | str | None, Handler]]:
        """/apis (apps.py): discovery, dashboards in three versions, folders."""
        apps = AppsApi(self.dashboards)
        ns = "/namespaces/([^/]+)"
        dashboards = f"/apis/{DASHBOARD_GROUP}/(v1beta1|v0alpha1|v2beta1){ns}/dashboards"
        folders = f"/apis/{FOLDER_GROUP}/v1beta1{ns}/folders"

        def admin(req: Request) -> bool:
            return req.identity is not None and req.identity.role == "Admin"

        def write(req: Request, m: re.Match[str], name: str) -> tuple[int, Any]:
            return apps.write_dashboard(
                org(req), actor(req), admin(req), m[2], m[1], name, req.body, req.query
            )

        def write_folder(req: Request, m: re.Match[str], name: str) -> tuple[int, Any]:
            return apps.write_folder(org(req), actor(req), admin(req), m[1], name, req.body, req.query)

        return [
            ("GET", "/apis", None, lambda r, m: (200, discovery())),
            (
                "GET",
                dashboards,
                "dashboards:read",
                lambda r, m: (200, apps.list_dashboards(org(r), m[2], m[1], r.query)),
            ),
            ("POST", dashboards, "dashboards:create", lambda r, m: write(r, m, "")),
            (
                "GET",
                f"{dashboards}/([^/]+)",
                "dashboards:read",
                lambda r, m: (200, apps.get_dashboard(org(r), m[2], m[1], m[3])),
            ),
            ("PUT", f"{dashboards}/([^/]+)", "dashboards:write", lambda r, m: write(r, m, m[3])),
            (
                "DELETE",
                f"{dashboards}/([^/]+)",
                "dashboards:delete",
                lambda r, m: (200, apps.delete_dashboard(org(r), admin(r), m[2], m[3])),
            ),
            (
                "GET",
                f"{folders}/([^/]+)",
                "folders:read",
                lambda r, m: (200, apps.get_folder(org(r), m[1], m[2])),
            ),
            ("POST", folders, "folders:create", lambda r, m: write_folder(r, m, "")),
            ("PUT", f"{folders}/([^/]+)", "folders:write", lambda r, m: write_folder(r, m, m[2])),
        ]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, closed socket) is normal here; anything else is a bug to show."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _HttpHandler(BaseHTTPRequestHandler):
    """Translate HTTP to `Request`s for the emulator; HTTP/1.1 keep-alive like a real server."""

    emulator: GrafanaEmulator
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms per request). Go's net/http (real Grafana) sets TCP_NODELAY too.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the emulator keeps its own request log."""

    def setup(self) -> None:
        super().setup()
        with self.emulator.lock:
            self.emulator._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.emulator.lock:
            self.emulator._connections.discard(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _read_body(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return _INVALID_JSON

    def _serve(self) -> None:
        emulator = self.emulator
        parts = urlsplit(self.path)
        method, path = self.command, parts.path
        self._dry_run = parse_qs(parts.query).get("dryRun") == ["All"]
        body = self._read_body()
        if emulator.latency_s:
            time.sleep(emulator.latency_s)
        emulator._run_interleaved(method, path)
        fault = emulator._take_fault(method, path)
        if fault is not None and fault.page is not None:
            self._answer_page(method, path, fault.page)
            return
        if fault is not None and fault.status == 0 and not fault.after_apply:
            self._drop(method, path)
            return
        if fault is not None and fault.status:
            self._answer(method, path, fault.status, {"message": "Service Unavailable"})
            return
        status, payload = self._dispatch(method, path, parts.query, body)
        if fault is not None:  # dropped after the write was applied: the client never learns the outcome
            if method in WRITE_METHODS and 200 <= status < 300:
                with emulator.lock:
                    emulator.writes += 1
            self._drop(method, path)
            return
        self._answer(method, path, status, payload)

    def _dispatch(self, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
        if path == "/api/health" and method in ("GET", "HEAD"):
            return self.emulator.health()
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(method, path, parse_qs(query), headers, body)
        if not (path.startswith("/api/") or path == "/apis" or path.startswith("/apis/")):
            return self._ui_page(request)
        return self.emulator.handle(request)

    def _ui_page(self, request: Request) -> tuple[int, Any]:
        """Non-API pages (/d/..., /d-solo/...): 302 to /login when not signed in, else an HTML shell."""
        try:
            self.emulator._authenticate(request)
        except ApiError:
            return 302, "/login"
        return 200, "<!doctype html><title>Grafana</title>"

    def _drop(self, method: str, path: str) -> None:
        self.emulator._record(method, path, 0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(self, method: str, path: str, status: int, payload: Any) -> None:
        headers: dict[str, str] = {}
        data = b""
        if status == 302:
            headers["Location"] = str(payload)
        elif isinstance(payload, str) and path == "/api/health":
            data, headers["Content-Type"] = payload.encode(), "application/json; charset=UTF-8"
        elif isinstance(payload, str):
            data, headers["Content-Type"] = payload.encode(), "text/html; charset=UTF-8"
        elif payload is not None:
            data, headers["Content-Type"] = json.dumps(payload).encode(), "application/json"
        self._send(method, path, status, headers, data)

    def _answer_page(self, method: str, path: str, page: ForeignPage) -> None:
        headers = {"Content-Type": page.content_type} if page.content_type else {}
        if page.location:
            headers["Location"] = page.location
        self._send(method, path, page.status, headers, page.body.encode())

    def _send(self, method: str, path: str, status: int, headers: dict[str, str], data: bytes) -> None:
        # Before writing: a client that gave up still counts.
        self.emulator._record(method, path, status, getattr(self, "_dry_run", False))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD" and status != 204:
            self.wfile.write(data)
