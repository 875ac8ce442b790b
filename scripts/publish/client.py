"""Talk to one Grafana: grafana-client with retries for exactly the transient failures, one-line errors.

grafana-client retries nothing and lets connection errors escape as niquests' ConnectionError (an
OSError), so `Grafana.call` adds retries with exponential backoff for exactly the transient cases:
5xx, 429, timeouts and connection errors. Every other failure becomes a `PublishError` with one line.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from scripts.common.exits import ExitCode
from scripts.publish.errors import PublishError
from scripts.publish.target import DEFAULT_TIMEOUT_S, Target, safe_url

TOO_MANY_REQUESTS = 429
T = TypeVar("T")


_ROLE_FOR_PERMISSION = (("alert.", "Admin"), ("dashboards:", "Editor"), ("folders:", "Editor"))


def _needed_role(message: str) -> str:
    permission = (
        message.rsplit("Permissions needed:", 1)[-1].strip() if "Permissions needed:" in message else ""
    )
    # Grafana prints one permission or an evaluator ("any of alert.provisioning:write, ..."): search it.
    role = next((r for prefix, r in _ROLE_FOR_PERMISSION if prefix in permission), "Editor")
    missing = f" (missing permission {permission})" if permission else ""
    return f"the service account needs the {role} role{missing}"


def _message_of(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body or "").strip() or "empty answer"


def explain(error: Exception, what: str, url: str) -> PublishError:
    """One line for a failed request about `what`; 401/403 are configuration errors (exit 2)."""
    where = safe_url(url)
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
    if status == 403:
        return PublishError(
            f"{what}: permission denied by Grafana (403): {_needed_role(message)}", ExitCode.CONFIG, status
        )
    if status == 412 and isinstance(body, dict) and body.get("status") == "version-mismatch":
        return PublishError(
            f"{what}: changed in Grafana while publishing (412 version-mismatch); run the publish again",
            status=status,
            body=body,
        )
    if message.lower() in ("folder not found", "invalid alert rule: folder does not exist"):
        return PublishError(
            f"{what}: its folder does not exist in Grafana ({status} {message})", status=status
        )
    return PublishError(f"{what}: Grafana answered {status}: {message}", status=status, body=body)


def _transient(error: Exception) -> bool:
    if isinstance(error, OSError):
        return True
    return isinstance(error, GrafanaException) and (
        error.status_code == 0 or error.status_code >= 500 or error.status_code == TOO_MANY_REQUESTS
    )


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
            self._local.api = api
        return api

    def call(self, what: str, request: Callable[[GrafanaApi], T]) -> T:
        """Run `request`, retrying transient failures with exponential backoff; else raise PublishError."""
        for attempt in range(self.retries + 1):
            try:
                return request(self.api())
            except (GrafanaException, OSError) as error:
                if not _transient(error) or attempt == self.retries:
                    raise explain(error, what, self.target.url) from None
                with self._retries_lock:
                    self.retried += 1
                time.sleep(self.backoff_s * 2**attempt * (1 + random.random() / 2))
        raise AssertionError("unreachable")

    def wait_healthy(self, wait_s: float) -> str:
        """GET /api/health until it answers 200 (up to `wait_s`); return Grafana's version."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                health = self.call("health check", lambda api: api.client.GET("/health"))
                return str(health.get("version", "unknown")) if isinstance(health, dict) else "unknown"
            except PublishError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(1.0, max(deadline - time.monotonic(), 0.05)))
