"""Write the folder and the dashboards as app-platform resources; alerting as the legacy writer does.

Every object carries the manager annotations Grafana's provisioning tools set (pkg/apimachinery/utils/
meta.go): managedBy `kubectl` (Grafana's kind for a generic API client), managerId = our owner,
managerAllowsEdits "true" (the 13.x UI then lets people edit - its DashboardScene blocks saves of a
managed dashboard that does not allow edits - and publish reports their edit as drift), sourcePath = the
module that defines it, sourceChecksum = the hash of what we sent, sourceTimestamp = when. No
`__publish` marker: the annotations say all it said.

Writes carry the live resourceVersion (and generation) we planned against: a save in between answers
409/412, reported as "edited concurrently, re-run the plan" - unless it is our own write whose answer
was lost, which a read-back recognises. `--force` over another tool's dashboard releases its manager
(Grafana refuses to change a manager's kind in one write: apistore/managed.go) with our content, then
marks it ours. `--force` over a dashboard the UI stored in schema v2 writes our classic JSON and reads it
back to prove it is stored as ours again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from scripts.grafana import apps
from scripts.grafana.apps import ApiChoice
from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, is_not_found
from scripts.publish.apps_plan import (
    OUR_MANAGER_KIND,
    PUBLISHED_GENERATION,
    dashboard_path,
    is_clean,
    stored_version,
)
from scripts.publish.compare import content_hash, dashboard_content
from scripts.publish.model import Action, Change, Kind
from scripts.publish.revision import Revision
from scripts.publish.writers import CONCURRENT, Writer
from scripts.rendered.layout import OUTPUT_DIR, dashboard_file


class AppsWriter(Writer):
    def __init__(
        self,
        grafana: Grafana,
        folder_uid: str,
        revision: Revision,
        rule_sources: Mapping[str, str],
        owner: str,
        choice: ApiChoice,
        dashboard_sources: Mapping[str, str],
    ) -> None:
        super().__init__(grafana, folder_uid, revision, rule_sources, owner)
        self.dashboards = apps.dashboards(grafana, choice)
        self.folders = apps.folders(grafana, choice)
        self.dashboard_sources = dashboard_sources

    def _manager(self, source: str, checksum: str) -> dict[str, str]:
        annotations = {
            apps.ANNO_MANAGED_BY: OUR_MANAGER_KIND,
            apps.ANNO_MANAGER_ID: self.owner,
            apps.ANNO_MANAGER_ALLOWS_EDITS: "true",
            apps.ANNO_SOURCE_PATH: source,
            apps.ANNO_SOURCE_CHECKSUM: checksum,
            apps.ANNO_SOURCE_TIMESTAMP: str(int(time.time() * 1000)),
        }
        return {key: value for key, value in annotations.items() if value}  # Grafana drops empty ones

    # ---- folder --------------------------------------------------------------------------------------
    def folder_object(self, change: Change) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": change.key}
        if change.action == Action.CREATE:
            metadata["annotations"] = self._manager(str(OUTPUT_DIR), "")
        else:  # a title change keeps whatever manager the folder has; Grafana sets who and when
            kept = (change.live_annotations or {}).items()
            metadata["annotations"] = {k: v for k, v in kept if k not in apps.SERVER_SET_ANNOTATIONS}
            metadata["resourceVersion"] = change.resource_version
        return {
            "apiVersion": self.folders.api_version,
            "kind": "Folder",
            "metadata": metadata,
            "spec": {"title": change.desired["title"]},
        }

    def folder(self, change: Change) -> str:
        obj = self.folder_object(change)
        try:
            self.folders.save(obj, change.label, new=change.action == Action.CREATE)
        except PublishError as error:
            live = self.folders.get(change.key) if error.status in CONCURRENT else None
            if live is None or (live.get("spec") or {}).get("title") != change.desired["title"]:
                raise
        return ""  # the folder's URL is printed nowhere

    # ---- dashboards ----------------------------------------------------------------------------------
    def dashboard_object(self, change: Change, with_manager: bool = True) -> dict[str, Any]:
        """The resource we write: our content as the spec, the folder and manager as annotations, the
        generation this write creates (a new object starts at 1; a changed spec adds one)."""
        spec = {k: v for k, v in dashboard_content(change.desired).items() if k != "uid"}
        creates = change.action == Action.CREATE
        annotations = {apps.ANNO_FOLDER: self.folder_uid, apps.ANNO_MESSAGE: self.revision.message}
        if with_manager:
            source = self.dashboard_sources.get(change.key) or str(OUTPUT_DIR / dashboard_file(change.key))
            annotations |= self._manager(source, content_hash(change.desired))
            annotations[PUBLISHED_GENERATION] = str(1 if creates else change.version + 1)
        metadata: dict[str, Any] = {"name": change.key, "annotations": annotations}
        if not creates:
            metadata["resourceVersion"] = change.resource_version
        return {
            "apiVersion": self.dashboards.api_version,
            "kind": "Dashboard",
            "metadata": metadata,
            "spec": spec,
        }

    def dashboard(self, change: Change) -> str:
        if change.desired is None:
            try:
                self.dashboards.delete(change.key, change.label)
            except PublishError as error:
                if not is_not_found(error):  # already gone: what we wanted
                    raise
            return ""
        if change.action == Action.MANAGED:
            change = self._release(change)
        obj = self.dashboard_object(change)
        try:
            self.dashboards.save(obj, change.label, new=change.action == Action.CREATE)
        except PublishError as error:
            if error.status not in CONCURRENT or not self._already_applied_apps(obj):
                raise
        if change.stored_version:
            self._verify_restored(change, obj)
        return dashboard_path(change.key, str(change.desired.get("title", "")))

    def _release(self, change: Change) -> Change:
        """--force over another tool's dashboard: one write of our content without any manager (Grafana
        lets the caller drop a Terraform/kubectl/file manager, never change its kind in one write); the
        second write, which marks it ours, then changes only metadata."""
        released = self.dashboards.update(self.dashboard_object(change, with_manager=False), change.label)
        meta = released.get("metadata") or {}
        return Change(
            change.kind,
            change.key,
            Action.UPDATE,
            desired=change.desired,
            version=int(meta.get("generation") or 0) - 1,  # the marking write creates no generation
            resource_version=str(meta.get("resourceVersion") or ""),
        )

    def _already_applied_apps(self, sent: dict[str, Any]) -> bool:
        """After a conflict: is the live object the very write we sent (its answer was lost)?"""
        live = self.dashboards.get(sent["metadata"]["name"])
        if live is None:
            return False
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        wanted = sent["metadata"]["annotations"]
        return is_clean(live) and all(
            annotations.get(key) == wanted[key]
            for key in (apps.ANNO_SOURCE_CHECKSUM, apps.ANNO_SOURCE_TIMESTAMP, PUBLISHED_GENERATION)
        )

    def _verify_restored(self, change: Change, sent: dict[str, Any]) -> None:
        """--force over a schema v2 save: our classic JSON must be what is stored now."""
        live = self.dashboards.get(change.key)
        if live is None or stored_version(live) or not is_clean(live):
            raise PublishError(
                f"{change.label}: written over the schema {change.stored_version} save, but the read-back "
                f"is not our version (stored as {stored_version(live or {}) or 'unknown'}); re-run the plan"
            )
        checksum = (live.get("metadata") or {}).get("annotations", {}).get(apps.ANNO_SOURCE_CHECKSUM)
        if checksum != sent["metadata"]["annotations"][apps.ANNO_SOURCE_CHECKSUM]:
            raise PublishError(f"{change.label}: read-back after --force does not carry our checksum")

    # ---- server-side dry run -------------------------------------------------------------------------
    def dry_run(self, change: Change) -> str:
        """What Grafana answers this write with dryRun=All ("" = it would accept it); nothing is stored."""
        try:
            if change.kind == Kind.FOLDER:
                obj = self.folder_object(change)
                resources = self.folders
            else:
                obj = self.dashboard_object(change, with_manager=change.action != Action.MANAGED)
                resources = self.dashboards
            resources.save(obj, change.label, new=change.action == Action.CREATE, dry_run=True)
        except PublishError as error:
            if error.status in (400, 403, 409, 412, 422):
                message = error.body.get("message") if isinstance(error.body, dict) else None
                return str(message or error)
            raise
        return ""
