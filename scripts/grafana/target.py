"""Where to publish: one Grafana target, from GRAFANA_* variables or an environments file entry.

Configuration comes from the environment (GRAFANA_URL, GRAFANA_TOKEN or GRAFANA_USER/GRAFANA_PASSWORD,
GRAFANA_ORG_ID, GRAFANA_PUBLIC_URL, GRAFANA_TIMEOUT) or, with `--env NAME`, from an environments file
(see provisioning/environments.example.yaml) that names the URL, folder, datasource-uid mapping and the
*name* of the variable holding the token. Secrets are only ever read from the environment and never
appear in messages: `Target.credential` is excluded from repr and URLs are printed without user info.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from dashboards.core.conventions import CHAT_FOLDER
from scripts.grafana.errors import config_error

DEFAULT_TIMEOUT_S = 10.0
# Who publishes: this repository. With the environment's name it is the owner every published object
# carries (dashboards in their marker, alert rules as the `managed_by` label that also routes them).
REPOSITORY_ID = "grafana-chat-as-code"
_SUFFIX = re.compile(r"[a-zA-Z0-9_-]*")  # what a uid may be made longer with (UID_PATTERN's characters)


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
    folder_uid: str = CHAT_FOLDER.uid
    folder_title: str = CHAT_FOLDER.title
    datasource_map: Mapping[str, str] = field(default_factory=dict)
    # Environments in one Grafana are kept apart by construction: their own folder, and these.
    uid_suffix: str = ""  # appended to every dashboard, alert rule and contact point uid (and name)
    title_suffix: str = ""  # appended to every dashboard title
    webhook_url: str | None = None  # the chat's alert webhook as this Grafana reaches it (None: rendered)

    @property
    def owner(self) -> str:
        """Who owns what this target's publish writes: this repository in this environment."""
        return f"{REPOSITORY_ID}/{self.name}"


def _org_id(value: Any, source: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise config_error(f"{source} must be a number (the Grafana organisation id), got {value!r}")


def _credential(environ: Mapping[str, str], token_var: str) -> str | tuple[str, str]:
    token = environ.get(token_var, "")
    if token:
        return token
    user, password = environ.get("GRAFANA_USER", ""), environ.get("GRAFANA_PASSWORD", "")
    if user and password:
        return (user, password)
    raise config_error(
        f"no Grafana credentials: export {token_var}=<service-account token> "
        "(or GRAFANA_USER and GRAFANA_PASSWORD)"
    )


def _environment_entry(env_name: str, env_file: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(env_file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise config_error(
            f"environments file {env_file} not found (copy provisioning/environments.example.yaml)"
        ) from None
    except yaml.YAMLError as exc:
        raise config_error(f"environments file {env_file} is not valid YAML: {exc}".splitlines()[0]) from exc
    environments = loaded.get("environments") if isinstance(loaded, dict) else None
    if not isinstance(environments, dict) or env_name not in environments:
        known = ", ".join(sorted(environments or {})) or "none"
        raise config_error(f"environment {env_name!r} is not in {env_file} (known: {known})")
    entry = environments[env_name]
    if not isinstance(entry, dict) or not entry.get("url"):
        raise config_error(f"environment {env_name!r} in {env_file} needs at least `url:`")
    return entry


def load_target(env_name: str | None, env_file: Path, environ: Mapping[str, str] = os.environ) -> Target:
    """The target from `--env NAME` (environments file) or from GRAFANA_* variables."""
    if env_name is None:
        url = environ.get("GRAFANA_URL", "")
        if not url:
            raise config_error(
                "GRAFANA_URL is not set: export GRAFANA_URL=http://127.0.0.1:3000 (or use --env NAME)"
            )
        return Target(
            name="default",
            url=url,
            public_url=environ.get("GRAFANA_PUBLIC_URL") or safe_url(url),
            credential=_credential(environ, "GRAFANA_TOKEN"),
            org_id=_org_id(environ.get("GRAFANA_ORG_ID"), "GRAFANA_ORG_ID"),
            webhook_url=environ.get("ALERT_WEBHOOK_URL") or None,
        )
    entry = _environment_entry(env_name, env_file)
    folder = entry.get("folder") or {}
    datasources = entry.get("datasources") or {}
    if not isinstance(folder, dict) or not isinstance(datasources, dict):
        raise config_error(f"environment {env_name!r}: `folder` and `datasources` must be mappings")
    return Target(
        name=env_name,
        url=str(entry["url"]),
        public_url=str(entry.get("public_url") or safe_url(str(entry["url"]))),
        credential=_credential(environ, str(entry.get("token_env") or "GRAFANA_TOKEN")),
        org_id=_org_id(entry.get("org_id"), f"{env_name}.org_id"),
        folder_uid=str(folder.get("uid") or CHAT_FOLDER.uid),
        folder_title=str(folder.get("title") or CHAT_FOLDER.title),
        datasource_map={str(k): str(v) for k, v in datasources.items()},
        uid_suffix=_suffix(entry, "uid_suffix", env_name),
        title_suffix=str(entry.get("title_suffix") or ""),
        webhook_url=str(entry["webhook_url"]) if entry.get("webhook_url") else None,
    )


def _suffix(entry: Mapping[str, Any], key: str, env_name: str) -> str:
    value = str(entry.get(key) or "")
    if not _SUFFIX.fullmatch(value):
        raise config_error(f"environment {env_name!r}: `{key}` may only hold letters, digits, - and _")
    return value


def request_timeout(environ: Mapping[str, str]) -> float:
    """GRAFANA_TIMEOUT: seconds per request (default 10)."""
    raw = environ.get("GRAFANA_TIMEOUT", "")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise config_error(f"GRAFANA_TIMEOUT must be a number of seconds, got {raw!r}") from None
