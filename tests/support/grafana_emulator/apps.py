"""The app-platform API (/apis) of Grafana 13 over the same rows as the legacy API (dashboards.py).

Followed from grafana/grafana: discovery (k8s APIGroupList), dashboards in dashboard.grafana.app v1beta1
(classic JSON spec) and v2beta1 (schema v2), folders in folder.grafana.app v1beta1; namespaces
`default` / `org-<id>` (authlib claims.ParseNamespace); admission checks of
pkg/registry/apis/dashboard/validate.go (title, refresh below the minimum, tag length, message length,
a stale metadata.generation: 412); the k8s storage's optimistic lock (a stale resourceVersion: 409
Conflict; a create of an existing name: 409 AlreadyExists); strict field validation (an unknown field:
400 "strict decoding error"); `dryRun=All` (validated and answered, never stored); manager annotations
enforced as pkg/storage/unified/apistore/managed.go does (kind or identity changes 403, a repository's
objects refused to other writers); errors as k8s Status bodies.
"""

from __future__ import annotations

import copy
from typing import Any

from .dashboards import (
    MANAGED_BY,
    MAX_TITLE,
    MIN_REFRESH_MS,
    V2_STORED,
    DashboardStore,
    Row,
    is_file_provisioned,
)
from .errors import ApiError
from .naming import generate_uid, now_rfc3339, prom_duration_ms
from .schema_v2 import V2_SPEC_KEYS, to_classic, to_v2

DASHBOARD_GROUP, FOLDER_GROUP = "dashboard.grafana.app", "folder.grafana.app"
CLASSIC, FOLDERS = "v1beta1", "v1beta1"
LATEST_SCHEMA = 42  # a v1 write is migrated to it (apps/dashboard/pkg/migration)
FOLDER, MANAGER_ID = "grafana.app/folder", "grafana.app/managerId"
MESSAGE, UPDATED_BY = "grafana.app/message", "grafana.app/updatedBy"
UPDATED_AT, CREATED_BY = "grafana.app/updatedTimestamp", "grafana.app/createdBy"
TOP_LEVEL = frozenset({"kind", "apiVersion", "metadata", "spec", "status"})
METADATA = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "labels",
        "annotations",
        "finalizers",
        "managedFields",
        "ownerReferences",
    }
)
MAX_TAG, MAX_MESSAGE = 50, 500
CLASSIC_KINDS = ("classic-file-provisioning", "classic-api-provisioning", "classic-converted-prometheus")


def status(code: int, reason: str, message: str, **details: Any) -> ApiError:
    """A k8s `Status` error body (k8s.io/apimachinery/pkg/api/errors)."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }
    return ApiError(code, body)


def discovery() -> dict[str, Any]:
    def group(name: str, versions: list[str], preferred: str) -> dict[str, Any]:
        return {
            "name": name,
            "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
            "preferredVersion": {"groupVersion": f"{name}/{preferred}", "version": preferred},
        }

    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            group(DASHBOARD_GROUP, ["v1beta1", "v0alpha1", V2_STORED], "v1beta1"),
            group(FOLDER_GROUP, [FOLDERS], FOLDERS),
        ],
    }


def org_of(namespace: str) -> int:
    if namespace == "default":
        return 1
    if namespace.startswith("org-") and namespace[4:].isdigit():
        return int(namespace[4:])
    raise status(400, "BadRequest", f"invalid namespace {namespace!r}: expected default or org-<id>")


class AppsApi:
    """Handlers for /apis; `org` is the caller's org (from its credential), `actor` its login."""

    def __init__(self, store: DashboardStore) -> None:
        self.store = store

    # ---- shared checks -------------------------------------------------------------------------------
    @staticmethod
    def check_namespace(namespace: str, org: int) -> None:
        if org_of(namespace) != org:
            raise status(
                403, "Forbidden", f"namespace {namespace} is not the organisation of the caller (org {org})"
            )

    @staticmethod
    def _strict(body: Any, resource: str, strict: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise status(400, "BadRequest", "the body of the request was in an unknown format")
        if not strict:  # Ignore / Warn: unknown fields are dropped
            body = {k: v for k, v in body.items() if k in TOP_LEVEL}
            body["metadata"] = {k: v for k, v in (body.get("metadata") or {}).items() if k in METADATA}
            return body
        unknown = [f'unknown field "{k}"' for k in body if k not in TOP_LEVEL]
        unknown += [f'unknown field "metadata.{k}"' for k in body.get("metadata") or {} if k not in METADATA]
        if unknown:
            raise status(400, "BadRequest", f"{resource}: strict decoding error: {', '.join(unknown)}")
        return body

    @staticmethod
    def _check_identity(body: dict[str, Any], api_version: str, kind: str, namespace: str, name: str) -> None:
        if body.get("apiVersion") != api_version or body.get("kind") != kind:
            raise status(
                400,
                "BadRequest",
                f"the API version in the data ({body.get('apiVersion')}) does not match the expected API "
                f"version ({api_version})",
            )
        meta = body.get("metadata") or {}
        if meta.get("namespace") not in (None, "", namespace):
            raise status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        if name and meta.get("name") != name:
            raise status(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})",
            )

    def _decode(
        self,
        org: int,
        namespace: str,
        api_version: str,
        kind: str,
        name: str,
        body: Any,
        query: dict[str, list[str]],
    ) -> tuple[dict[str, Any], str, dict[str, str], bool]:
        """A write's body checked like the k8s decoder does: (body, its name, its annotations without the
        server-set ones, whether it is a dry run)."""
        self.check_namespace(namespace, org)
        strict = query.get("fieldValidation", ["Strict"])[0] == "Strict"
        body = self._strict(body, f"{api_version}, Kind={kind}", strict)
        self._check_identity(body, api_version, kind, namespace, name)
        meta = body.setdefault("metadata", {})
        uid = str(meta.get("name") or (generate_uid() if meta.get("generateName") else ""))
        if not uid:
            raise status(400, "BadRequest", "metadata.name: Required value: name or generateName is required")
        annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
        for volatile in (UPDATED_BY, UPDATED_AT, CREATED_BY):
            annotations.pop(volatile, None)
        return body, uid, annotations, query.get("dryRun", [""])[0] == "All"

    def _existing(self, org: int, uid: str, name: str, resource: str, folder: bool) -> Row | None:
        """The stored row a write replaces: a create (no name in the path) of a taken uid is 409 (folders
        and dashboards share the legacy table's uids), an update of a missing one 404."""
        existing = self.store._row(org, uid)
        if name == "" and existing is not None:
            raise status(409, "AlreadyExists", f'{resource} "{uid}" already exists', name=uid)
        if name and (existing is None or existing.is_folder != folder):
            raise status(404, "NotFound", f'{resource} "{uid}" not found', name=uid)
        return existing

    @staticmethod
    def _check_lock(existing: Row, meta: dict[str, Any], resource: str, kind: str) -> None:
        """The storage's optimistic lock: an update names the resourceVersion it read."""
        group = resource.split(".", 1)[1]
        rv = str(meta.get("resourceVersion") or "")
        if not rv:
            raise status(
                422,
                "Invalid",
                f'{kind}.{group} "{existing.uid}" is invalid: metadata.resourceVersion: Invalid value: 0: '
                "must be specified for an update",
            )
        if rv != str(existing.resource_version):
            raise status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource} "{existing.uid}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                name=existing.uid,
            )

    # ---- manager annotations (pkg/storage/unified/apistore/managed.go) -------------------------------
    @staticmethod
    def _manager(annotations: dict[str, str]) -> tuple[str, str] | None:
        identity = annotations.get(MANAGER_ID, "")
        return (annotations.get(MANAGED_BY, ""), identity) if identity else None

    def _check_manager(self, old: dict[str, str] | None, new: dict[str, str], admin: bool) -> None:
        before, after = (self._manager(old) if old is not None else None), self._manager(new)
        if after is not None and after[0] == "repo":
            raise status(403, "Forbidden", "this resource is managed by a repository")
        if before is None:
            return
        if after is None:
            if before[0] == "repo" and not admin:
                raise status(403, "Forbidden", "Can not remove resource manager from resource")
            return
        if after[0] != before[0]:
            raise status(
                403,
                "Forbidden",
                "Cannot change resource manager kind; remove the existing manager first, then add the new "
                "one",
            )
        if after[1] != before[1] and after[0] != "terraform" and after[0] not in CLASSIC_KINDS:
            raise status(
                403,
                "Forbidden",
                "Cannot change resource manager identity; remove the existing manager first, then add the "
                "new one",
            )

    # ---- dashboards ----------------------------------------------------------------------------------
    def _dashboard_row(self, org: int, name: str) -> Row:
        row = self.store._row(org, name)
        if row is None or row.is_folder:
            raise status(404, "NotFound", f'dashboards.{DASHBOARD_GROUP} "{name}" not found', name=name)
        return row

    def dashboard_object(self, row: Row, version: str, namespace: str) -> dict[str, Any]:
        annotations = {**row.annotations, UPDATED_BY: row.updated_by, CREATED_BY: row.created_by}
        if row.folder_uid:
            annotations[FOLDER] = row.folder_uid
        obj: dict[str, Any] = {
            "kind": "Dashboard",
            "apiVersion": f"{DASHBOARD_GROUP}/{version}",
            "metadata": {
                "name": row.uid,
                "namespace": namespace,
                "uid": f"k8s-{row.id}",
                "resourceVersion": str(row.resource_version),
                "generation": row.version,
                "creationTimestamp": row.created,
                "annotations": annotations,
                "labels": {},
            },
            "status": {},
        }
        stored_v2 = row.stored_version == V2_STORED
        if version == V2_STORED:
            # A classic-stored dashboard read as v2 (what the 13.x UI opens) is converted, nothing stored.
            obj["spec"] = copy.deepcopy(row.v2_spec) if stored_v2 else to_v2(row.data)
            if not stored_v2:
                obj["status"] = {"conversion": {"failed": False, "storedVersion": CLASSIC}}
        else:
            obj["spec"] = {k: v for k, v in row.data.items() if k not in ("id", "uid", "version")}
            if stored_v2:
                obj["status"] = {"conversion": {"failed": False, "storedVersion": V2_STORED}}
        return obj

    def get_dashboard(self, org: int, namespace: str, version: str, name: str) -> dict[str, Any]:
        self.check_namespace(namespace, org)
        return self.dashboard_object(self._dashboard_row(org, name), version, namespace)

    def list_dashboards(
        self, org: int, namespace: str, version: str, query: dict[str, list[str]]
    ) -> dict[str, Any]:
        self.check_namespace(namespace, org)
        rows = sorted(
            (r for r in self.store.rows.values() if r.org_id == org and not r.is_folder), key=lambda r: r.uid
        )
        limit = int(query.get("limit", ["0"])[0] or 0) or len(rows) or 1
        start = int(query.get("continue", ["0"])[0] or 0)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return {
            "kind": "DashboardList",
            "apiVersion": f"{DASHBOARD_GROUP}/{version}",
            "metadata": {
                "resourceVersion": str(max((r.resource_version for r in rows), default=0)),
                **({"continue": str(start + limit)} if more else {}),
            },
            "items": [self.dashboard_object(r, version, namespace) for r in page],
        }

    def _validate_dashboard(self, spec: Any, version: str, annotations: dict[str, str]) -> tuple[str, str]:
        """(title, refresh) after the admission checks of validate.go; raises their answers."""
        if not isinstance(spec, dict):
            raise status(400, "BadRequest", "spec must be an object")
        if version == V2_STORED:
            unknown = sorted(set(spec) - V2_SPEC_KEYS)
            if unknown:
                raise status(400, "BadRequest", f'strict decoding error: unknown field "spec.{unknown[0]}"')
            title, refresh = (
                str(spec.get("title") or ""),
                str((spec.get("timeSettings") or {}).get("autoRefresh") or ""),
            )
        else:
            title, refresh = str(spec.get("title") or ""), str(spec.get("refresh") or "")
        if not title.strip():
            raise status(400, "BadRequest", "Dashboard title cannot be empty")
        if len(title.strip()) > MAX_TITLE:
            raise status(400, "BadRequest", "Dashboard title cannot contain more than 5 000 characters")
        if len(annotations.get(MESSAGE, "")) > MAX_MESSAGE:
            raise status(400, "BadRequest", "message too long, max 500 characters")
        if any(len(str(tag)) > MAX_TAG for tag in spec.get("tags") or []):
            raise status(400, "BadRequest", "dashboard tag too long, max 50 characters")
        if refresh and refresh != "auto":
            try:
                too_low = prom_duration_ms(refresh) < MIN_REFRESH_MS
            except ApiError:
                too_low = False
            if too_low:
                raise status(400, "BadRequest", "Dashboard refresh interval is too low")
        return title.strip(), refresh

    def write_dashboard(
        self,
        org: int,
        actor: str,
        admin: bool,
        namespace: str,
        version: str,
        name: str,
        body: Any,
        query: dict[str, list[str]],
    ) -> tuple[int, dict[str, Any]]:
        """POST (name "") or PUT of a dashboard; 201/200 with the object as stored (or as it would be)."""
        api_version = f"{DASHBOARD_GROUP}/{version}"
        body, uid, annotations, dry_run = self._decode(
            org, namespace, api_version, "Dashboard", name, body, query
        )
        title, _ = self._validate_dashboard(body.get("spec"), version, annotations)
        existing = self._existing(org, uid, name, f"dashboards.{DASHBOARD_GROUP}", folder=False)
        if existing is not None:
            self._check_lock(existing, body["metadata"], f"dashboards.{DASHBOARD_GROUP}", kind="Dashboard")
            generation = body["metadata"].get("generation")
            if generation not in (None, 0) and generation != existing.version:
                raise status(412, "PreconditionFailed", "The dashboard has been changed by someone else")
        folder_uid = annotations.pop(FOLDER, "")
        if folder_uid and self.store.folder(org, folder_uid) is None and not dry_run:
            raise status(400, "BadRequest", "folder not found")
        self._check_manager(existing.annotations if existing else None, annotations, admin)
        spec = copy.deepcopy(body["spec"])
        if version == V2_STORED:
            classic, stored, v2 = to_classic(spec), V2_STORED, spec
        else:
            classic = {k: v for k, v in spec.items() if k not in ("id", "uid", "version")}
            classic["schemaVersion"] = max(int(classic.get("schemaVersion") or 0), LATEST_SCHEMA)
            stored, v2 = "", None
        if dry_run:
            preview = Row(
                id=existing.id if existing else 0,
                org_id=org,
                uid=uid,
                title=title,
                is_folder=False,
                folder_uid=folder_uid,
                version=(existing.version if existing else 0) + 1,
                created=existing.created if existing else now_rfc3339(),
                created_by=existing.created_by if existing else actor,
                updated_by=actor,
                data=classic,
                annotations=annotations,
                resource_version=existing.resource_version if existing else 0,
                stored_version=stored,
                v2_spec=v2,
            )
            return (200 if existing else 201), self.dashboard_object(preview, version, namespace)
        self.store._persist(
            org, actor, classic, title, uid, folder_uid, annotations.get(MESSAGE, ""), existing,
            stored_version=stored, v2_spec=v2,
        )  # fmt: skip
        row = self.store._dashboard(org, uid)
        row.annotations = annotations
        return (200 if existing else 201), self.dashboard_object(row, version, namespace)

    def delete_dashboard(self, org: int, admin: bool, namespace: str, name: str) -> dict[str, Any]:
        self.check_namespace(namespace, org)
        row = self._dashboard_row(org, name)
        manager = self._manager(row.annotations)
        if manager is not None and manager[0] == "repo":
            raise status(403, "Forbidden", "this resource is managed by a repository")
        if is_file_provisioned(row.annotations):
            raise status(400, "BadRequest", "provisioned dashboard cannot be deleted")
        del self.store.rows[(org, name)]
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": DASHBOARD_GROUP, "kind": "dashboards"},
        }

    # ---- folders -------------------------------------------------------------------------------------
    def folder_object(self, row: Row, namespace: str) -> dict[str, Any]:
        annotations = {**row.annotations, UPDATED_BY: row.updated_by, CREATED_BY: row.created_by}
        if row.folder_uid:
            annotations[FOLDER] = row.folder_uid
        return {
            "kind": "Folder",
            "apiVersion": f"{FOLDER_GROUP}/{FOLDERS}",
            "metadata": {
                "name": row.uid,
                "namespace": namespace,
                "uid": f"k8s-{row.id}",
                "resourceVersion": str(row.resource_version),
                "generation": row.version,
                "creationTimestamp": row.created,
                "annotations": annotations,
            },
            "spec": {"title": row.title, **({"description": row.description} if row.description else {})},
            "status": {},
        }

    def get_folder(self, org: int, namespace: str, name: str) -> dict[str, Any]:
        self.check_namespace(namespace, org)
        row = self.store.folder(org, name)
        if row is None:
            raise status(404, "NotFound", f'folders.{FOLDER_GROUP} "{name}" not found', name=name)
        return self.folder_object(row, namespace)

    def write_folder(
        self,
        org: int,
        actor: str,
        admin: bool,
        namespace: str,
        name: str,
        body: Any,
        query: dict[str, list[str]],
    ) -> tuple[int, dict[str, Any]]:
        api_version = f"{FOLDER_GROUP}/{FOLDERS}"
        body, uid, annotations, dry_run = self._decode(
            org, namespace, api_version, "Folder", name, body, query
        )
        title = str((body.get("spec") or {}).get("title") or "").strip()
        if not title:
            raise status(400, "BadRequest", "folder title cannot be empty")
        parent = annotations.pop(FOLDER, "")
        existing = self._existing(org, uid, name, f"folders.{FOLDER_GROUP}", folder=True)
        if existing is not None:
            self._check_lock(existing, body["metadata"], f"folders.{FOLDER_GROUP}", kind="Folder")
        self._check_manager(existing.annotations if existing else None, annotations, admin)
        if dry_run:
            preview = existing or Row(0, org, uid, title, True, parent, 0, now_rfc3339(), actor)
            shown = copy.copy(preview)
            shown.title, shown.annotations = title, annotations
            return (200 if existing else 201), self.folder_object(shown, namespace)
        now = now_rfc3339()
        if existing is None:
            row = Row(
                id=next(self.store._ids), org_id=org, uid=uid, title=title, is_folder=True, folder_uid=parent,
                version=1, created=now, created_by=actor, updated=now, updated_by=actor,
            )  # fmt: skip
            self.store.rows[(org, uid)] = row
        else:
            row = existing
            if (row.title, row.folder_uid) != (title, parent):
                row.version += 1
            row.title, row.folder_uid, row.updated, row.updated_by = title, parent, now, actor
        row.annotations = annotations
        row.resource_version = next(self.store._resource_versions)
        return (200 if existing else 201), self.folder_object(row, namespace)
