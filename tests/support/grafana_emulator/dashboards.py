"""Folders, dashboards, dashboard versions and search (grafana/grafana: pkg/api/dashboard.go,
pkg/services/dashboards/database/database.go, pkg/api/folder.go, pkg/api/search.go).

Folders are rows of the same table as dashboards (`dashboard`) and share one id sequence. Every method takes
the org id and the acting login and either returns (status, body) data or raises ApiError with Grafana's body.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scripts.rendered.slug import slugify

from .decoding import (
    CREATE_FOLDER,
    RESTORE_VERSION,
    SAVE_DASHBOARD,
    UPDATE_FOLDER,
    decodes,
    string_field,
)
from .errors import ApiError, plain, public, with_status
from .naming import check_uid, generate_uid, now_rfc3339, prom_duration_ms
from .profile import Profile

ROOT_TITLE = "General"
MAX_TITLE = 5000
MAX_MESSAGE = 500
MAX_SEARCH_LIMIT = 5000
MAX_FOLDER_DEPTH = 8  # folder.MaxNestedFolderDepth
MIN_REFRESH, MIN_REFRESH_MS = "5s", 5000


@dataclass
class Row:
    """One row of Grafana's `dashboard` table: a folder (is_folder) or a dashboard."""

    id: int
    org_id: int
    uid: str
    title: str
    is_folder: bool
    folder_uid: str  # containing folder ("" = root); for folders the parent
    version: int
    created: str
    created_by: str
    updated: str = ""
    updated_by: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    versions: list[dict[str, Any]] = field(default_factory=list)
    # The app-platform side of the row (apps.py): metadata annotations (manager, folder, message), the
    # resourceVersion of the last write, and the schema the dashboard is stored in ("v2beta1": `data` is
    # then the lossy classic conversion of `v2_spec`, which is what was saved).
    annotations: dict[str, str] = field(default_factory=dict)
    resource_version: int = 0
    stored_version: str = ""
    v2_spec: dict[str, Any] | None = None

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def url(self) -> str:
        return f"/dashboards/f/{self.uid}/{self.slug}" if self.is_folder else f"/d/{self.uid}/{self.slug}"


def _bind(body: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """web.Bind: a body that does not decode into the command struct is 'bad request data'."""
    if not decodes(body, schema):
        raise plain(400, "bad request data")
    return body


def _with_min_refresh(dashboard: dict[str, Any]) -> dict[str, Any]:
    """`refresh` below [dashboards] min_refresh_interval (default 5s) is raised to it (dashboard_service)."""
    refresh = dashboard.get("refresh")
    if not isinstance(refresh, str) or not refresh:
        return dashboard
    try:
        too_fast = prom_duration_ms(refresh) < MIN_REFRESH_MS
    except ApiError:
        return dashboard  # not a duration (e.g. "auto"): kept as it is
    return {**dashboard, "refresh": MIN_REFRESH} if too_fast else dashboard


V2_STORED = "v2beta1"
MANAGED_BY, MANAGER_ALLOWS_EDITS = "grafana.app/managedBy", "grafana.app/managerAllowsEdits"
SOURCE_PATH = "grafana.app/sourcePath"


def is_file_provisioned(annotations: dict[str, str]) -> bool:
    """What legacy reads call `provisioned`: the file provisioner's dashboards (manager kind
    classic-file-provisioning), which /api/dashboards/db refuses to save unless they allow UI updates."""
    return (
        annotations.get(MANAGED_BY) == "classic-file-provisioning"
        and annotations.get(MANAGER_ALLOWS_EDITS) != "true"
    )


def _content(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in ("id", "uid", "version")}


def _int_or_zero(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class DashboardStore:
    """Stored JSON is never mutated in place (a save replaces `row.data`), so reads and version rows may
    share it without copying; answers are serialised outside the lock."""

    def __init__(self, profile: Profile, rules_in_folder: Callable[[int, str], int]) -> None:
        self.profile = profile
        self.rows: dict[tuple[int, str], Row] = {}
        self._ids = itertools.count(1)
        self._version_ids = itertools.count(1)
        self._resource_versions = itertools.count(1_000_001)  # every write's resourceVersion, one sequence
        self._rules_in_folder = rules_in_folder

    # ---- lookups -------------------------------------------------------------------------------------
    def _row(self, org_id: int, uid: str) -> Row | None:
        return self.rows.get((org_id, uid))

    def _row_by_id(self, org_id: int, row_id: int) -> Row | None:
        return next((r for r in self.rows.values() if r.org_id == org_id and r.id == row_id), None)

    def folder(self, org_id: int, uid: str) -> Row | None:
        row = self._row(org_id, uid)
        return row if row and row.is_folder else None

    def _dashboard(self, org_id: int, uid: str) -> Row:
        row = self._row(org_id, uid)
        if row is None or row.is_folder:
            raise plain(404, "Dashboard not found", trace=True)
        return row

    # ---- folders -------------------------------------------------------------------------------------
    def _require_folder(self, org_id: int, uid: str) -> Row:
        row = self.folder(org_id, uid)
        if row is None:
            raise with_status(404, "folder not found", "not-found")
        return row

    def _parents(self, row: Row) -> list[dict[str, Any]]:
        chain: list[dict[str, Any]] = []
        parent = self.folder(row.org_id, row.folder_uid) if row.folder_uid else None
        while parent is not None:
            chain.insert(0, {"uid": parent.uid, "title": parent.title, "url": parent.url})
            parent = self.folder(parent.org_id, parent.folder_uid) if parent.folder_uid else None
        return chain

    def folder_dto(self, row: Row, can_edit: bool) -> dict[str, Any]:
        dto: dict[str, Any] = {
            "id": row.id,
            "uid": row.uid,
            "title": row.title,
            "url": row.url,
            "hasAcl": False,
            "canSave": can_edit,
            "canEdit": can_edit,
            "canAdmin": can_edit,
            "canDelete": can_edit,
            "createdBy": row.created_by,
            "created": row.created,
            "updatedBy": row.updated_by,
            "updated": row.updated,
            "version": row.version,
        }
        if row.folder_uid:
            dto["parentUid"] = row.folder_uid
            dto["parents"] = self._parents(row)
        return dto

    def list_folders(self, org_id: int, parent_uid: str) -> list[dict[str, Any]]:
        parent = parent_uid if self.profile.nested_folders else ""
        rows = [
            r for r in self.rows.values() if r.org_id == org_id and r.is_folder and r.folder_uid == parent
        ]
        return [
            {
                "id": r.id,
                "uid": r.uid,
                "title": r.title,
                **({"parentUid": r.folder_uid} if r.folder_uid else {}),
            }
            for r in sorted(rows, key=lambda r: r.title.lower())
        ]

    def get_folder(self, org_id: int, uid: str, can_edit: bool) -> dict[str, Any]:
        return self.folder_dto(self._require_folder(org_id, uid), can_edit)

    def create_folder(self, org_id: int, actor: str, body: Any) -> dict[str, Any]:
        body = _bind(body, CREATE_FOLDER)
        title = str(body.get("title") or "").strip()
        uid = str(body.get("uid") or "").strip()
        if not title:
            raise plain(400, "folder title cannot be empty")
        check_uid(uid)
        if uid == "general":
            raise plain(400, "invalid uid for folder provided")
        parent_uid = str(body.get("parentUid") or "") if self.profile.nested_folders else ""
        if (
            parent_uid
            and len(self._parents(self._require_folder(org_id, parent_uid))) + 1 >= MAX_FOLDER_DEPTH
        ):
            raise public(400, "folder.maximum-depth-reached", "Maximum nested folder depth reached")
        taken = self._row(org_id, uid) if uid else None
        if taken is not None and not taken.is_folder:
            raise plain(400, "Dashboard cannot be changed to a folder")
        if taken is not None:
            if self.profile.folder_uid_taken_status == 412:
                raise with_status(412, "the folder has been changed by someone else", "version-mismatch")
            raise plain(409, "a folder/dashboard with the same uid already exists")
        if self.profile.unique_titles and any(
            r.org_id == org_id and r.is_folder and r.slug == slugify(title) for r in self.rows.values()
        ):
            raise plain(409, "a folder or dashboard in the general folder with the same name already exists")
        now = now_rfc3339()
        row = Row(
            id=next(self._ids),
            org_id=org_id,
            uid=uid or generate_uid(),
            title=title,
            is_folder=True,
            folder_uid=parent_uid,
            version=1,
            created=now,
            created_by=actor,
            updated=now,
            updated_by=actor,
            description=str(body.get("description") or ""),
        )
        self.rows[(org_id, row.uid)] = row
        return self.folder_dto(row, True)

    def update_folder(self, org_id: int, actor: str, uid: str, body: Any) -> dict[str, Any]:
        body = _bind(body, UPDATE_FOLDER)
        row = self._require_folder(org_id, uid)
        title = str(body.get("title") or "").strip()
        if not title:
            raise plain(400, "folder title cannot be empty")
        if not body.get("overwrite") and _int_or_zero(body.get("version")) != row.version:
            raise with_status(412, "the folder has been changed by someone else", "version-mismatch")
        row.title, row.version = title, row.version + 1
        row.description = str(body.get("description") or row.description)
        row.updated, row.updated_by = now_rfc3339(), actor
        return self.folder_dto(row, True)

    def delete_folder(self, org_id: int, uid: str, force_delete_rules: bool) -> list[str]:
        """Delete the folder, its sub-folders and dashboards; return the deleted folder uids."""
        row = self._require_folder(org_id, uid)
        doomed = [row, *self._descendant_folders(row)]
        doomed_uids = [f.uid for f in doomed]
        if not force_delete_rules and any(self._rules_in_folder(org_id, f) for f in doomed_uids):
            raise plain(400, "folder contains alert rules")
        for key, other in list(self.rows.items()):
            if other.org_id == org_id and (other.uid in doomed_uids or other.folder_uid in doomed_uids):
                del self.rows[key]
        return doomed_uids

    def _descendant_folders(self, row: Row) -> list[Row]:
        children = [
            r
            for r in self.rows.values()
            if r.is_folder and r.org_id == row.org_id and r.folder_uid == row.uid
        ]
        return children + [d for child in children for d in self._descendant_folders(child)]

    # ---- dashboards ----------------------------------------------------------------------------------
    def save_dashboard(self, org_id: int, actor: str, body: Any) -> dict[str, Any]:
        """POST /api/dashboards/db, following BuildSaveDashboardCommand and saveDashboard step by step."""
        body = _bind(body, SAVE_DASHBOARD)
        dashboard = body.get("dashboard")
        if not isinstance(dashboard, dict):
            raise plain(400, "bad request data")
        if body.get("isFolder"):
            raise plain(400, "Use folders endpoint for saving folders.")
        title = string_field(dashboard, "title").strip()  # a non-string title reads as "" (empty-name)
        uid = string_field(dashboard, "uid").strip()
        message = str(body.get("message") or "")
        overwrite = bool(body.get("overwrite"))
        if not title:
            raise with_status(400, "Dashboard title cannot be empty", "empty-name")
        if self.profile.title_length_check and len(title) > MAX_TITLE:
            raise with_status(
                400, "Dashboard title cannot contain more than 5 000 characters", "title-too-long"
            )
        if len(message) > MAX_MESSAGE:
            raise plain(400, "message too long, max 500 characters")
        check_uid(uid)
        dashboard = _with_min_refresh(dashboard)
        folder_uid = self._target_folder(org_id, body)
        existing = self._existing_for_save(org_id, dashboard, uid)
        if (
            existing is not None
            and not overwrite
            and _int_or_zero(dashboard.get("version")) != existing.version
        ):
            if self.profile.legacy_conflict_status == 409:  # 13.x saves through k8s (#122027)
                raise plain(409, "Dashboard already exists. Use overwrite flag to update.")
            raise with_status(412, "The dashboard has been changed by someone else", "version-mismatch")
        if existing is not None and is_file_provisioned(existing.annotations):
            raise plain(400, "Cannot save provisioned dashboard")
        if self.profile.unique_titles:
            existing = self._check_unique_title(org_id, title, folder_uid, existing, overwrite)
        return self._persist(org_id, actor, dashboard, title, uid, folder_uid, message, existing)

    def _target_folder(self, org_id: int, body: dict[str, Any]) -> str:
        folder_uid = str(body.get("folderUid") or "")
        if folder_uid:
            if self.folder(org_id, folder_uid) is None:
                raise plain(400, "folder not found")
            return folder_uid
        folder_id = _int_or_zero(body.get("folderId"))
        if folder_id:
            row = self._row_by_id(org_id, folder_id)
            if row is None or not row.is_folder:
                raise plain(404, "Folder not found", trace=True)
            return row.uid
        return ""

    def _existing_for_save(self, org_id: int, dashboard: dict[str, Any], uid: str) -> Row | None:
        dash_id = _int_or_zero(dashboard.get("id"))
        by_id = self._row_by_id(org_id, dash_id) if dash_id else None
        if dash_id and by_id is None:
            raise with_status(404, "Dashboard not found", "not-found")
        by_uid = self._row(org_id, uid) if uid else None
        if by_id is not None and by_uid is not None and by_id is not by_uid:
            raise plain(400, "A dashboard with the same uid already exists")
        existing = by_id or by_uid
        if existing is not None and existing.is_folder:
            raise plain(400, "Dashboard cannot be changed to a folder")
        return existing

    def _check_unique_title(
        self, org_id: int, title: str, folder_uid: str, existing: Row | None, overwrite: bool
    ) -> Row | None:
        """v10 → v11.2 only: slug collisions with a folder (400) or a same-folder dashboard (412)."""
        slug = slugify(title)
        for other in self.rows.values():
            if other.org_id != org_id or other.slug != slug or other is existing:
                continue
            if other.is_folder:
                raise with_status(400, "Dashboard name cannot be the same as folder", "name-match")
            if other.folder_uid == folder_uid:
                if not overwrite:
                    raise with_status(
                        412, "A dashboard with the same name in the folder already exists", "name-exists"
                    )
                return other  # overwrite takes over that dashboard's id, uid and version
        return existing

    def _persist(
        self,
        org_id: int,
        actor: str,
        dashboard: dict[str, Any],
        title: str,
        uid: str,
        folder_uid: str,
        message: str,
        existing: Row | None,
        restored_from: int = 0,
        stored_version: str = "",
        v2_spec: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = now_rfc3339()
        if existing is None:
            row = Row(
                id=next(self._ids),
                org_id=org_id,
                uid=uid or generate_uid(),
                title=title,
                is_folder=False,
                folder_uid=folder_uid,
                version=1,
                created=now,
                created_by=actor,
            )
            self.rows[(org_id, row.uid)] = row
            parent_version = 0
        else:
            row = existing
            parent_version = row.version
            unchanged = (
                row.stored_version != V2_STORED
                and row.folder_uid == folder_uid
                and _content(row.data) == _content({**dashboard, "title": title})
            )
            # Unified storage (13.x) bumps the generation, which legacy reads report as the version, only
            # when the spec or the folder changes (pkg/storage/unified/apistore prepareObjectForUpdate).
            if not (self.profile.unified_storage and unchanged):
                row.version += 1
        row.title, row.folder_uid, row.updated, row.updated_by = title, folder_uid, now, actor
        row.resource_version = next(self._resource_versions)
        row.stored_version, row.v2_spec = stored_version, v2_spec
        row.data = {
            **dashboard,
            "id": row.id,
            "uid": row.uid,
            "version": row.version,
            "title": title,
        }
        if parent_version == row.version:  # nothing changed: no new version row either
            return self._save_answer(row, folder_uid)
        row.versions.append(
            {
                "id": next(self._version_ids),
                "dashboardId": row.id,
                "uid": row.uid,
                "parentVersion": parent_version,
                "restoredFrom": restored_from,
                "version": row.version,
                "created": now,
                "createdBy": actor,
                "message": message,
                "data": row.data,
            }
        )
        return self._save_answer(row, folder_uid)

    def _save_answer(self, row: Row, folder_uid: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": row.id,
            "uid": row.uid,
            "url": row.url,
            "status": "success",
            "version": row.version,
            "slug": row.slug,
        }
        if self.profile.post_answer_has_folder_uid:
            answer["folderUid"] = folder_uid
        return answer

    def get_dashboard(self, org_id: int, uid: str, can_edit: bool) -> dict[str, Any]:
        row = self._dashboard(org_id, uid)
        folder = self.folder(org_id, row.folder_uid) if row.folder_uid else None
        perms = {"canAdd": can_edit, "canEdit": can_edit, "canDelete": can_edit}
        meta = {
            "type": "db",
            "canSave": can_edit,
            "canEdit": can_edit,
            "canAdmin": can_edit,
            "canStar": True,
            "canDelete": can_edit,
            "slug": row.slug,
            "url": row.url,
            "expires": "0001-01-01T00:00:00Z",
            "created": row.created,
            "updated": row.updated,
            "updatedBy": row.updated_by,
            "createdBy": row.created_by,
            "version": row.version,
            "hasAcl": False,
            "isFolder": False,
            "folderId": folder.id if folder else 0,
            "folderUid": folder.uid if folder else "",
            "folderTitle": folder.title if folder else ROOT_TITLE,
            "folderUrl": folder.url if folder else "",
            "provisioned": is_file_provisioned(row.annotations),
            "provisionedExternalId": row.annotations.get(SOURCE_PATH, "")
            if is_file_provisioned(row.annotations)
            else "",
            "annotationsPermissions": {"dashboard": perms, "organization": dict(perms)},
        }
        return {"dashboard": {**row.data, "version": row.version}, "meta": meta}

    def delete_dashboard(self, org_id: int, uid: str) -> dict[str, Any]:
        row = self._row(org_id, uid)
        if row is not None and row.is_folder:
            raise plain(400, "Use folders endpoint for deleting folders.")
        row = self._dashboard(org_id, uid)
        del self.rows[(org_id, uid)]
        key = self.profile.delete_body_key
        return {"title": row.title, "message": f"Dashboard {row.title} deleted", key: getattr(row, key)}

    # ---- versions ------------------------------------------------------------------------------------
    @staticmethod
    def _version_for_read(item: dict[str, Any], with_data: bool) -> dict[str, Any]:
        shown = {**item, "data": item["data"] if with_data else None}
        if item["parentVersion"] == 0:
            shown["message"] = "Initial save"
        elif item["restoredFrom"] > 0:
            shown["message"] = f"Restored from version {item['restoredFrom']}"
        return shown

    def list_versions(self, org_id: int, uid: str, limit: int, start: int) -> Any:
        row = self._dashboard(org_id, uid)
        newest_first = list(reversed(row.versions))[start : start + limit]
        items = [self._version_for_read(v, with_data=False) for v in newest_first]
        return {"continueToken": "", "versions": items} if self.profile.versions_envelope else items

    def get_version(self, org_id: int, uid: str, version: int) -> dict[str, Any]:
        row = self._dashboard(org_id, uid)
        for item in row.versions:
            if item["version"] == version:
                return self._version_for_read(item, with_data=True)
        raise plain(500, f"Dashboard version {version} not found for dashboardId {row.id}", trace=True)

    def restore_version(self, org_id: int, actor: str, uid: str, body: Any) -> dict[str, Any]:
        """POST .../restore: save version N's data again as a new version (answer as for a save)."""
        version = _bind(body, RESTORE_VERSION).get("version") or 0
        row = self._dashboard(org_id, uid)
        item = next((v for v in row.versions if v["version"] == version), None)
        if item is None:
            raise plain(404, "Dashboard version not found")
        data = item["data"]
        message = f"Restored from version {version}"
        return self._persist(
            org_id, actor, data, data["title"], uid, row.folder_uid, message, row, restored_from=version
        )

    # ---- search --------------------------------------------------------------------------------------
    def search(self, org_id: int, params: dict[str, list[str]]) -> list[dict[str, Any]]:
        first = {k: v[0] for k, v in params.items() if v}
        if params.get("folderIds") and params.get("folderUIDs"):
            raise plain(400, "search supports UIDs or IDs, not both")
        if (params.get("dashboardIds")) and (params.get("dashboardUIDs") or params.get("dashboardUID")):
            raise plain(400, "search supports UIDs or IDs, not both")
        limit = int(first.get("limit", "1000") or 1000)
        page = max(int(first.get("page", "1") or 1), 1)
        if limit > MAX_SEARCH_LIMIT:
            raise plain(
                422, "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit"
            )
        hits = [r for r in self.rows.values() if r.org_id == org_id and self._matches(r, params, first)]
        hits.sort(key=lambda r: (not r.is_folder, r.title.lower()))
        if first.get("sort") == "alpha-desc":
            hits.sort(key=lambda r: r.title.lower(), reverse=True)
        elif first.get("sort") == "alpha-asc":
            hits.sort(key=lambda r: r.title.lower())
        return [self._hit(r) for r in hits[(page - 1) * limit : page * limit]]

    @staticmethod
    def _matches(row: Row, params: dict[str, list[str]], first: dict[str, str]) -> bool:
        kind = first.get("type")
        if (kind == "dash-db" and row.is_folder) or (kind == "dash-folder" and not row.is_folder):
            return False
        if first.get("query") and first["query"].lower() not in row.title.lower():
            return False
        tags = params.get("tag", [])
        if tags and not set(tags) <= set(row.data.get("tags") or []):
            return False
        folders = params.get("folderUIDs", [])
        if folders and (row.folder_uid or "general") not in folders:
            return False
        uids = params.get("dashboardUIDs", []) + params.get("dashboardUID", [])
        return not (uids and row.uid not in uids)

    def _hit(self, row: Row) -> dict[str, Any]:
        hit: dict[str, Any] = {
            "id": row.id,
            "uid": row.uid,
            "title": row.title,
            "uri": f"db/{row.slug}",
            "url": row.url,
            "slug": "" if row.is_folder else row.slug,
            "type": "dash-folder" if row.is_folder else "dash-db",
            "tags": list(row.data.get("tags") or []),
            "isStarred": False,
            "sortMeta": 0,
        }
        folder = self.folder(row.org_id, row.folder_uid) if row.folder_uid else None
        if folder is not None:
            hit.update(
                folderId=folder.id, folderUid=folder.uid, folderTitle=folder.title, folderUrl=folder.url
            )
        return hit
