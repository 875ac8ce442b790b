"""Talk to one Grafana: grafana-client with retries for exactly the transient failures, one-line errors.

grafana-client retries nothing and lets connection errors escape as niquests' ConnectionError (an
OSError), so `Grafana.call` adds retries with exponential backoff for exactly the transient cases:
5xx, 429, timeouts and connection errors. Every other failure becomes a `PublishError` with one line.

grafana-client also takes whatever answers: a text/* page comes back as a string and any other non-JSON
body raises niquests' JSONDecodeError. An SSO login page, a proxy's error page or a web server at a wrong
base path would then surface far away as a traceback, so a response hook on the session refuses every
answer that is not Grafana's JSON while the status and content type are still known (`ForeignAnswer`).
"""

from __future__ import annotations

import html
import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from scripts.common.exits import ExitCode
from scripts.grafana.errors import PublishError
from scripts.grafana.target import DEFAULT_TIMEOUT_S, Target, safe_url

TOO_MANY_REQUESTS = 429
EXCERPT_CHARS = 80  # of a foreign page's text in an error line: enough to recognise it, never a dump
EXCERPT_SOURCE_BYTES = 64 * 1024  # a login page's title can follow kilobytes of inline script
WAIT_REPORT_EVERY_S = 5.0
T = TypeVar("T")

_INVISIBLE_MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def visible_text(markup: str) -> str:
    """The start of what a person would read on `markup`: tags, scripts and control characters removed."""
    text = html.unescape(_TAG.sub(" ", _INVISIBLE_MARKUP.sub(" ", markup)))
    return _clip(" ".join("".join(c for c in text if c.isprintable() or c.isspace()).split()))


class ForeignAnswer(Exception):
    """An answer that is not Grafana's JSON API, summarised (status, content type, text) for one line."""

    def __init__(self, method: str, url: str, status: int, summary: str) -> None:
        super().__init__(f"{method} {url} answered {summary}")
        self.status = status


def _summary(response: niquests.Response) -> str:
    if response.is_redirect:
        target = urljoin(str(response.url), response.headers.get("Location", ""))
        return f"{response.status_code} redirect to {safe_url(target)}"
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip() or "without content type"
    excerpt = visible_text((response.content or b"")[:EXCERPT_SOURCE_BYTES].decode("utf-8", "replace"))
    return f"{response.status_code} {content_type}" + (f' "{excerpt}"' if excerpt else "")


def refuse_foreign_answers(response: niquests.Response, **_: Any) -> None:
    """Session response hook: Grafana's API answers JSON, or nothing at all (204, some 404s); a redirect
    is refused too, since Grafana's API never redirects and following one would turn a write into a GET."""
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type.lower() or not (content_type or response.content or response.is_redirect):
        return
    request = response.request
    raise ForeignAnswer(
        str(request.method), safe_url(str(request.url)), response.status_code, _summary(response)
    )


# The least basic role holding each permission a publish can be refused for: "resource:verb" exactly, else
# "resource:*" (grafana/grafana pkg/services/ngalert/accesscontrol.go and the basic roles' fixed roles). An
# action not listed is taken as Admin's: naming a smaller role would send the operator round again.
_ROLE_FOR_PERMISSION = {
    "dashboards:read": "Viewer",
    "dashboards:*": "Editor",
    "folders:read": "Viewer",
    "folders:*": "Editor",
    "alert.rules:read": "Viewer",  # fixed:alerting:reader, granted to Viewer
    "alert.rules:*": "Editor",  # create, write, delete: fixed:alerting:writer, granted to Editor
    "alert.notifications:read": "Viewer",
    "alert.notifications:*": "Editor",
    "alert.provisioning.provenance:write": "Editor",  # 11.0+, fixed:alerting.provisioning.provenance:writer
    "alert.provisioning:*": "Admin",  # fixed:alerting.provisioning:writer
    "alert.provisioning.secrets:*": "Admin",
    "alert.rules.provisioning:*": "Admin",
    "alert.notifications.provisioning:*": "Admin",
}
_ROLES = ("Viewer", "Editor", "Admin")
_EVALUATOR_TOKEN = re.compile(r"any of|all of|any\(|all\(|\)|[\w.-]+:[\w.*-]+")


def _role_for(action: str) -> str:
    resource = action.partition(":")[0]
    return _ROLE_FOR_PERMISSION.get(action) or _ROLE_FOR_PERMISSION.get(f"{resource}:*", "Admin")


def _least_role(tokens: list[str], combine: Callable[..., int]) -> str:
    """The least role satisfying a group: `min` of an EvalAny's members, `max` of an EvalAll's. Grafana's
    String() never closes a group ("any of a, b, all of c, d"), so a nested "any of"/"all of" runs to the
    end of its parent; GoString's "any(a b)" (older builds) closes with ")"."""
    roles: list[str] = []
    while tokens:
        token = tokens.pop(0)
        if token == ")":
            break
        if token in ("any of", "any("):
            roles.append(_least_role(tokens, min))
        elif token in ("all of", "all("):
            roles.append(_least_role(tokens, max))
        else:
            roles.append(_role_for(token))
    return _ROLES[combine(map(_ROLES.index, roles))] if roles else "Admin"


def _needed_role(message: str) -> str:
    """The hint for a 403: the least basic role that passes the evaluator Grafana printed ("Permissions
    needed: alert.provisioning:read" before 11.0; from 11.0 "any of ..., all of alert.rules:read,
    folders:read" and the like: pkg/services/ngalert/api/authorization.go, accesscontrol/evaluator.go)."""
    needed = message.rsplit("Permissions needed:", 1)[-1].strip() if "Permissions needed:" in message else ""
    tokens = _EVALUATOR_TOKEN.findall(needed)
    # No evaluator printed (a handler's own refusal, e.g. a folder's permissions): Editor, the least
    # role that writes.
    role = _least_role(tokens, min) if tokens else "Editor"
    missing = f" (missing permission {needed})" if needed else ""
    return f"the service account needs the {role} role{missing}"


def _message_of(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    if isinstance(body, str):  # labelled JSON but not: grafana-client hands over the raw text
        return visible_text(body) or "empty answer"
    return _clip(json.dumps(body)) if body else "empty answer"  # e.g. /api/health: {"database": "failing"}


def _is_manager_refusal(message: str) -> bool:
    """The app platform's refusals to change another manager's object (pkg/storage/unified/apistore/
    managed.go): a fact about that object, not a missing role."""
    return "manager" in message or "managed by a repository" in message


def is_concurrent_edit(status: int, body: Any, message: str) -> bool:
    """Someone saved the object between our read and our write: 412 version-mismatch (legacy /api up to
    12.x; a stale `metadata.generation` on /apis, pkg/registry/apis/dashboard/validate.go), or 409 - a
    stale resourceVersion on /apis ("the object has been modified"), and on 13.x's /api/dashboards/db
    ("Dashboard already exists. Use overwrite flag to update.", grafana/grafana #122027)."""
    if status == 412:
        return isinstance(body, dict) and body.get("status") == "version-mismatch"
    return status == 409 and ("has been modified" in message or "Use overwrite flag" in message)


def _transient_status(status: int) -> bool:
    return status >= 500 or status == TOO_MANY_REQUESTS


def _explain_foreign(error: ForeignAnswer, what: str) -> PublishError:
    # No `status` on the PublishError: a proxy's 404 page must never read as "that object does not exist".
    if _transient_status(error.status):
        return PublishError(f"{what}: {error}, not Grafana's JSON: is Grafana running behind it?")
    return PublishError(
        f"{what}: {error}, not Grafana's JSON: is GRAFANA_URL the Grafana base URL?", ExitCode.CONFIG
    )


def explain(error: Exception, what: str, url: str) -> PublishError:
    """One line for a failed request about `what`; 401/403 and answers from something other than Grafana
    (a login page, a wrong base path) are configuration errors (exit 2)."""
    where = safe_url(url)
    if isinstance(error, ForeignAnswer):
        return _explain_foreign(error, what)
    if isinstance(error, ValueError):  # niquests' JSONDecodeError, also an OSError: test it first
        return PublishError(f"{what}: Grafana at {where} answered JSON that does not parse ({error})")
    if isinstance(error, OSError):
        return PublishError(
            f"cannot connect to Grafana at {where} ({what}): {type(error).__name__} - is it running?"
        )
    assert isinstance(error, GrafanaException)
    status, body = error.status_code, error.response
    message = _message_of(body)
    if status == 0:
        return PublishError(f"{what}: no answer from Grafana at {where} ({error.message})")
    if status == 401:
        return PublishError(
            f"Grafana at {where} rejected the credentials (401 {message}): check the service-account token",
            ExitCode.CONFIG,
            status,
            body,
        )
    if status == 403 and _is_manager_refusal(message):
        return PublishError(f"{what}: Grafana refused the write (403): {message}", status=status, body=body)
    if status == 403:
        return PublishError(
            f"{what}: permission denied by Grafana (403): {_needed_role(message)}", ExitCode.CONFIG, status
        )
    if is_concurrent_edit(status, body, message):
        return PublishError(
            f"{what}: edited concurrently, re-run the plan ({status} {message})", status=status, body=body
        )
    if message.lower() in ("folder not found", "invalid alert rule: folder does not exist"):
        return PublishError(
            f"{what}: its folder does not exist in Grafana ({status} {message})", status=status
        )
    return PublishError(f"{what}: Grafana answered {status}: {message}", status=status, body=body)


def _transient(error: Exception) -> bool:
    if isinstance(error, ForeignAnswer):  # e.g. a proxy's 502 page while Grafana restarts
        return _transient_status(error.status)
    if isinstance(error, ValueError):
        return False
    if isinstance(error, OSError):
        return True
    return isinstance(error, GrafanaException) and (
        error.status_code == 0 or _transient_status(error.status_code)
    )


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Grafana:
    """grafana-client for one target: one GrafanaApi per thread (sessions are not shared), with retries."""

    def __init__(
        self, target: Target, timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = 4, backoff_s: float = 0.2
    ) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._local = threading.local()
        self._retries_lock = threading.Lock()
        self.retried = 0  # how many requests were repeated, for --json and the tests

    def api(self) -> GrafanaApi:
        api = getattr(self._local, "api", None)
        if api is None:
            parts = urlsplit(self.target.url)
            credential = self.target.credential
            api = GrafanaApi(
                auth=credential,
                host=parts.hostname or "localhost",
                port=parts.port,
                url_path_prefix=parts.path.strip("/") + "/" if parts.path.strip("/") else "",
                protocol=parts.scheme or "http",
                timeout=self.timeout_s,
                organization_id=self.target.org_id,
            )
            api.client.s.hooks["response"].append(refuse_foreign_answers)
            self._local.api = api
        return api

    def call(self, what: str, request: Callable[[GrafanaApi], T], retries: int | None = None) -> T:
        """Run `request`, retrying transient failures with exponential backoff (`retries` times, default
        the connection's); else raise PublishError."""
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            try:
                return request(self.api())
            except (GrafanaException, ForeignAnswer, OSError) as error:
                if not _transient(error) or attempt == retries:
                    raise explain(error, what, self.target.url) from None
                with self._retries_lock:
                    self.retried += 1
                time.sleep(self.backoff_s * 2**attempt * (1 + random.random() / 2))
        raise AssertionError("unreachable")

    def _version(self, retries: int | None = None) -> str:
        health = self.call("health check", lambda api: api.client.GET("/health"), retries)
        return str(health.get("version", "unknown")) if isinstance(health, dict) else "unknown"

    def wait_healthy(self, wait_s: float, report: Callable[[str], None] = _print_to_stderr) -> str:
        """GET /api/health until it answers 200 (up to `wait_s`, reporting the wait every few seconds);
        return Grafana's version.

        While waiting, each try is one request (the loop is the retry), so the wait ends within one request
        timeout of `wait_s`; a configuration error (401, a login page) ends it at once: time will not fix it.
        """
        if wait_s <= 0:
            return self._version()
        started = time.monotonic()
        deadline, next_report = started + wait_s, started + WAIT_REPORT_EVERY_S
        while True:
            try:
                return self._version(retries=0)
            except PublishError as error:
                now = time.monotonic()
                if error.exit_code == ExitCode.CONFIG:
                    raise
                if now >= deadline:
                    raise PublishError(f"{error} (gave up after {wait_s:g} s)", error.exit_code) from None
                if now >= next_report:
                    where = safe_url(self.target.url)
                    report(f"waiting for Grafana at {where}: {error} ({now - started:.0f} s of {wait_s:g} s)")
                    next_report = now + WAIT_REPORT_EVERY_S
                time.sleep(min(1.0, deadline - now))
