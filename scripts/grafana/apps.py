"""Grafana's app-platform API (`/apis`, Kubernetes-style resources): discovery, namespaces, resources.

Grafana 12 serves dashboards and folders as resources under `/apis/dashboard.grafana.app/<version>/
namespaces/<ns>/dashboards/<name>` and `/apis/folder.grafana.app/<version>/.../folders/<name>`; Grafana
13 deprecates the legacy `/api` routes in their favour. What matters to a publisher (grafana/grafana):
- the namespace is the org: `default` for org 1, `org-<id>` otherwise (pkg/apimachinery authlib
  `claims.ParseNamespace`); `metadata.name` is the uid;
- a dashboard's folder is the annotation `grafana.app/folder` (pkg/apimachinery/utils/meta.go);
- `metadata.resourceVersion` is the optimistic lock: a PUT with a stale one answers 409 Conflict; a
  `metadata.generation` that is not the stored one answers 412 version-mismatch
  (pkg/registry/apis/dashboard/validate.go validateUpdate);
- `?dryRun=All` runs the admission checks and answers as a write would, storing nothing;
- errors are a Kubernetes `Status` ({"kind": "Status", "code", "reason", "message"}).

grafana-client builds every URL as `<base>/api` + path, so an `/apis/...` path is requested as
`"s/..."` appended to it: the same session, credentials, org header, response hook and retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, config_error, is_not_found

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
LIST_PAGE = 500
APP_PLATFORM_FROM = 13  # the major release `--api auto` starts using /apis at (choose_api)
# Classic dashboard JSON as the spec (v1 family) and the dynamic-dashboards schema (v2 family), newest
# first: what the server serves decides.
CLASSIC_VERSIONS = ("v1", "v1beta1", "v1alpha1")
V2_VERSIONS = ("v2", "v2beta1", "v2alpha1")
FOLDER_VERSIONS = ("v1", "v1beta1")

# The manager annotations Grafana's provisioning tools set (pkg/apimachinery/utils/meta.go, manager.go).
ANNO_FOLDER = "grafana.app/folder"
ANNO_MESSAGE = "grafana.app/message"
ANNO_UPDATED_BY = "grafana.app/updatedBy"
ANNO_UPDATED_AT = "grafana.app/updatedTimestamp"
ANNO_MANAGED_BY = "grafana.app/managedBy"
ANNO_MANAGER_ID = "grafana.app/managerId"
ANNO_MANAGER_ALLOWS_EDITS = "grafana.app/managerAllowsEdits"
ANNO_SOURCE_PATH = "grafana.app/sourcePath"
ANNO_SOURCE_CHECKSUM = "grafana.app/sourceChecksum"
ANNO_SOURCE_TIMESTAMP = "grafana.app/sourceTimestamp"
SERVER_SET_ANNOTATIONS = frozenset({"grafana.app/createdBy", ANNO_UPDATED_BY, ANNO_UPDATED_AT})
# ManagerKind values (pkg/apimachinery/utils/manager.go) as a reader of a plan knows them.
MANAGER_NAMES = {
    "repo": "Git Sync repository",
    "terraform": "Terraform",
    "kubectl": "kubectl",
    "plugin": "plugin",
    "grafana": "Grafana",
    "classic-file-provisioning": "file provisioning",
    "classic-api-provisioning": "API provisioning",
}


def namespace_for(org_id: int) -> str:
    """The app-platform namespace of an org (authlib claims.ParseNamespace): org 1 is `default`."""
    return "default" if org_id == 1 else f"org-{org_id}"


def manager_label(annotations: dict[str, str]) -> str:
    """Who manages an object, for a plan line: "Terraform (tf-prod)", "" when nobody does."""
    kind, identity = annotations.get(ANNO_MANAGED_BY, ""), annotations.get(ANNO_MANAGER_ID, "")
    if not kind and not identity:
        return ""
    name = MANAGER_NAMES.get(kind, kind or "unknown manager")
    source = annotations.get(ANNO_SOURCE_PATH, "")
    return f"{name} ({identity})" + (f", from {source}" if source else "") if identity else name


@dataclass(frozen=True)
class ApiChoice:
    """Which API a publish speaks, and why (printed in the plan)."""

    apps: bool
    namespace: str = ""
    dashboards: str = ""  # the classic-JSON dashboard version, e.g. "v1beta1"
    dashboards_v2: str = ""  # the schema v2 version, "" when not served
    folders: str = ""
    reason: str = ""

    @property
    def name(self) -> str:
        return "apps" if self.apps else "legacy"

    def describe(self) -> str:
        if not self.apps:
            return f"legacy /api ({self.reason})" if self.reason else "legacy /api"
        return (
            f"app platform /apis: {DASHBOARD_GROUP}/{self.dashboards}, {FOLDER_GROUP}/{self.folders}, "
            f"namespace {self.namespace}"
        )


def _served(groups: list[dict[str, Any]], group: str, wanted: tuple[str, ...]) -> str:
    entry = next((g for g in groups if g.get("name") == group), None)
    served = {str(v.get("version")) for v in (entry or {}).get("versions") or []}
    return next((v for v in wanted if v in served), "")


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def choose_api(grafana: Grafana, requested: str, version: str, org_id: Callable[[], int]) -> ApiChoice:
    """`requested` is legacy, apps or auto: discover through GET /apis which versions the server serves.
    auto takes the app platform when it serves both a classic dashboard version and a folder version,
    else the legacy /api; apps insists on it (exit 2 if not).

    auto asks only a Grafana 13 (or one that hides its version): 13 is where unified storage became the
    default (grafana/grafana #118715), whose generations and annotations this publisher relies on. A 12.x
    may serve /apis over its legacy SQL storage (storage modes 0-2), so it gets the legacy /api unless
    `--api apps` is given; Grafana 11 has no dashboard.grafana.app v1 at all."""
    if requested == "legacy":
        return ApiChoice(False, reason="--api legacy")
    major = _major(version)
    if requested == "auto" and major is not None and major < APP_PLATFORM_FROM:
        return ApiChoice(
            False, reason=f"Grafana {version}; --api apps to use /apis before {APP_PLATFORM_FROM}"
        )
    try:
        listing = grafana.call("API discovery (/apis)", lambda api: api.client.GET("s"))
    except PublishError as error:
        if not is_not_found(error):  # no /apis at all: nothing served there
            raise
        listing = {}
    groups = listing.get("groups") or [] if isinstance(listing, dict) else []
    dashboards = _served(groups, DASHBOARD_GROUP, CLASSIC_VERSIONS)
    folders = _served(groups, FOLDER_GROUP, FOLDER_VERSIONS)
    if dashboards and folders:
        return ApiChoice(
            True,
            namespace=namespace_for(org_id()),
            dashboards=dashboards,
            dashboards_v2=_served(groups, DASHBOARD_GROUP, V2_VERSIONS),
            folders=folders,
        )
    missing = " and ".join(
        name for name, found in ((DASHBOARD_GROUP, dashboards), (FOLDER_GROUP, folders)) if not found
    )
    if requested == "apps":
        raise config_error(f"--api apps: this Grafana does not serve {missing} (use --api legacy or auto)")
    return ApiChoice(False, reason=f"this Grafana does not serve {missing}")


LEGACY = ApiChoice(False)


class Resources:
    """One resource type in one namespace: get, list, create, update, delete, each through Grafana.call."""

    def __init__(self, grafana: Grafana, group: str, version: str, namespace: str, plural: str) -> None:
        self.grafana = grafana
        self.group, self.version, self.plural = group, version, plural
        self.base = f"s/{group}/{version}/namespaces/{namespace}/{plural}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.grafana.call(
                f"{self.plural[:-1]} {name}", lambda api: api.client.GET(f"{self.base}/{name}")
            )
        except PublishError as error:
            if is_not_found(error):
                return None
            raise

    def list(self) -> Iterator[dict[str, Any]]:
        """Every item, a page of LIST_PAGE at a time (`continue` tokens)."""
        token = ""
        while True:
            params = {"limit": LIST_PAGE, **({"continue": token} if token else {})}
            page = self.grafana.call(
                f"{self.plural} list", lambda api, params=params: api.client.GET(self.base, params=params)
            )
            yield from page.get("items") or []
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return

    def _params(self, dry_run: bool) -> dict[str, str]:
        # Strict: a field the server does not know is an error, not a warning we would never read.
        return {"fieldValidation": "Strict", **({"dryRun": "All"} if dry_run else {})}

    def create(self, obj: dict[str, Any], what: str, dry_run: bool = False) -> dict[str, Any]:
        return self.grafana.call(
            what, lambda api: api.client.POST(self.base, json=obj, params=self._params(dry_run))
        )

    def update(self, obj: dict[str, Any], what: str, dry_run: bool = False) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        return self.grafana.call(
            what, lambda api: api.client.PUT(f"{self.base}/{name}", json=obj, params=self._params(dry_run))
        )

    def save(self, obj: dict[str, Any], what: str, new: bool, dry_run: bool = False) -> dict[str, Any]:
        """Create (`new`) or update `obj`."""
        return (self.create if new else self.update)(obj, what, dry_run)

    def delete(self, name: str, what: str) -> None:
        self.grafana.call(what, lambda api: api.client.DELETE(f"{self.base}/{name}"))


def dashboards(grafana: Grafana, choice: ApiChoice, v2: bool = False) -> Resources:
    version = choice.dashboards_v2 if v2 else choice.dashboards
    return Resources(grafana, DASHBOARD_GROUP, version, choice.namespace, "dashboards")


def folders(grafana: Grafana, choice: ApiChoice) -> Resources:
    return Resources(grafana, FOLDER_GROUP, choice.folders, choice.namespace, "folders")


def current_org(grafana: Grafana) -> int:
    """The org a request acts in when GRAFANA_ORG_ID is not set: the credential's own (GET /api/org)."""
    org = grafana.call("current organisation", lambda api: api.client.GET("/org"))
    return int(org.get("id") or 1) if isinstance(org, dict) else 1
