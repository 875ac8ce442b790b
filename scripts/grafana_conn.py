"""Where to publish and how to talk to it: target configuration, a retrying grafana-client, one-line errors.

Configuration comes from the environment (GRAFANA_URL, GRAFANA_TOKEN or GRAFANA_USER/GRAFANA_PASSWORD,
GRAFANA_ORG_ID, GRAFANA_PUBLIC_URL, GRAFANA_TIMEOUT) or, with `--env NAME`, from an environments file
(see provisioning/environments.example.yaml) that names the URL, folder, datasource-uid mapping and the
*name* of the variable holding the token. Secrets are only ever read from the environment and never
appear in messages: `Target.credential` is excluded from repr and URLs are printed without user info.

grafana-client retries nothing and lets connection errors escape as niquests' ConnectionError (an
OSError), so `Grafana.call` adds retries with exponential backoff for exactly the transient cases:
5xx, 429, timeouts and connection errors. Every other failure becomes a `PublishError` with one line.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import yaml
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_DRIFT = 0, 1, 2, 3
# = dashboards.core.conventions.CHAT_FOLDER, spelled out: importing dashboards (grafanalib) would add ~0.13 s
# to every publish run, which otherwise needs only the rendered files.
DEFAULT_FOLDER_UID, DEFAULT_FOLDER_TITLE = "chat", "Chat"
DEFAULT_TIMEOUT_S = 10.0
TOO_MANY_REQUESTS = 429
T = TypeVar("T")


class PublishError(Exception):
    """A failure to show as one line; `exit_code` is what the CLI exits with."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED, status: int = 0, body: Any = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status
        self.body = body


def safe_url(url: str) -> str:
    """`url` without user:password@ so it can be printed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Target:
    """One Grafana to publish to."""

    name: str
    url: str
    public_url: str
    credential: str | tuple[str, str] = field(repr=False)
    org_id: int | None = None
    folder_uid: str = DEFAULT_FOLDER_UID
    folder_title: str = DEFAULT_FOLDER_TITLE
    datasource_map: Mapping[str, str] = field(default_factory=dict)


def _config_error(message: str) -> PublishError:
    return PublishError(message, exit_code=EXIT_CONFIG)


def _org_id(value: Any, source: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise _config_error(f"{source} must be a number (the Grafana organisation id), got {value!r}")


def _credential(environ: Mapping[str, str], token_var: str) -> str | tuple[str, str]:
    token = environ.get(token_var, "")
    if token:
        return token
    user, password = environ.get("GRAFANA_USER", ""), environ.get("GRAFANA_PASSWORD", "")
    if user and password:
        return (user, password)
    raise _config_error(
        f"no Grafana credentials: export {token_var}=<service-account token> "
        "(or GRAFANA_USER and GRAFANA_PASSWORD)"
    )


def _environment_entry(env_name: str, env_file: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(env_file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise _config_error(
            f"environments file {env_file} not found (copy provisioning/environments.example.yaml)"
        ) from None
    except yaml.YAMLError as exc:
        raise _config_error(f"environments file {env_file} is not valid YAML: {exc}".splitlines()[0]) from exc
    environments = loaded.get("environments") if isinstance(loaded, dict) else None
    if not isinstance(environments, dict) or env_name not in environments:
        known = ", ".join(sorted(environments or {})) or "none"
        raise _config_error(f"environment {env_name!r} is not in {env_file} (known: {known})")
    entry = environments[env_name]
    if not isinstance(entry, dict) or not entry.get("url"):
        raise _config_error(f"environment {env_name!r} in {env_file} needs at least `url:`")
    return entry


def load_target(env_name: str | None, env_file: Path, environ: Mapping[str, str] = os.environ) -> Target:
    """The target from `--env NAME` (environments file) or from GRAFANA_* variables."""
    if env_name is None:
        url = environ.get("GRAFANA_URL", "")
        if not url:
            raise _config_error(
                "GRAFANA_URL is not set: export GRAFANA_URL=http://127.0.0.1:3000 (or use --env NAME)"
            )
        return Target(
            name="default",
            url=url,
            public_url=environ.get("GRAFANA_PUBLIC_URL") or safe_url(url),
            credential=_credential(environ, "GRAFANA_TOKEN"),
            org_id=_org_id(environ.get("GRAFANA_ORG_ID"), "GRAFANA_ORG_ID"),
        )
    entry = _environment_entry(env_name, env_file)
    folder = entry.get("folder") or {}
    datasources = entry.get("datasources") or {}
    if not isinstance(folder, dict) or not isinstance(datasources, dict):
        raise _config_error(f"environment {env_name!r}: `folder` and `datasources` must be mappings")
    return Target(
        name=env_name,
        url=str(entry["url"]),
        public_url=str(entry.get("public_url") or safe_url(str(entry["url"]))),
        credential=_credential(environ, str(entry.get("token_env") or "GRAFANA_TOKEN")),
        org_id=_org_id(entry.get("org_id"), f"{env_name}.org_id"),
        folder_uid=str(folder.get("uid") or DEFAULT_FOLDER_UID),
        folder_title=str(folder.get("title") or DEFAULT_FOLDER_TITLE),
        datasource_map={str(k): str(v) for k, v in datasources.items()},
    )


# ---- errors ----------------------------------------------------------------------------------------------
_ROLE_FOR_PERMISSION = (("alert.", "Admin"), ("dashboards:", "Editor"), ("folders:", "Editor"))


def _needed_role(message: str) -> str:
    permission = (
        message.rsplit("Permissions needed:", 1)[-1].strip() if "Permissions needed:" in message else ""
    )
    role = next((r for prefix, r in _ROLE_FOR_PERMISSION if permission.startswith(prefix)), "Editor")
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
            EXIT_CONFIG,
            status,
            body,
        )
    if status == 403:
        return PublishError(
            f"{what}: permission denied by Grafana (403): {_needed_role(message)}", EXIT_CONFIG, status
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


def is_not_found(error: PublishError) -> bool:
    return error.status == 404
