"""Plan the folder and the dashboards as app-platform resources (`/apis`, Grafana 12+/13).

What is whose, without our `__publish` marker (the annotations hold it, as Grafana's own provisioning
tools keep it: pkg/apimachinery/utils/meta.go):
  * managedBy `kubectl` + managerId <our owner>              -> ours
  * any other manager (Terraform, Git Sync, file provisioning) -> managed: never written without --force
    (a Git Sync repository's: never at all, Grafana would commit our write into that repository)
  * no manager, but a `__publish` marker of ours in the spec  -> ours (published through the legacy API)
  * anything else                                             -> not ours

Whether nobody saved it since our publish: our write records the generation it creates in
PUBLISHED_GENERATION and the content hash in grafana.app/sourceChecksum. Unified storage bumps the
generation only when the spec (or folder) changes (pkg/storage/unified/apistore prepareObjectForUpdate),
so generation == PUBLISHED_GENERATION means "as we left it", even where Grafana migrated what we sent (a
v1 write is migrated to the latest schemaVersion: apps/dashboard/pkg/migration). A dashboard the UI saved
in schema v2 (status.conversion.storedVersion) is read in that version and compared in our panels' terms
(panels_view.py); a dashboard the UI only opened was not written, so it is as we left it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scripts.grafana import apps
from scripts.grafana.apps import ApiChoice, Resources
from scripts.grafana.client import Grafana
from scripts.publish.compare import MARKER_KEY, content_hash, dashboard_content, marker_hash, written_by
from scripts.publish.compare import is_clean as marker_is_clean
from scripts.publish.desired import Desired
from scripts.publish.model import Action, Change, Kind
from scripts.publish.panels_view import classic_view, v2_view
from scripts.rendered.slug import slugify

API = "/apis"
OUR_MANAGER_KIND = "kubectl"  # Grafana has no kind for a CI tool; kubectl is "any k8s-style API client"
# Ours, not Grafana's: the generation our write created (a metadata-only key, it bumps nothing).
PUBLISHED_GENERATION = "grafana-chat-as-code/publishedGeneration"


def dashboard_path(uid: str, title: str) -> str:
    """Where Grafana serves a dashboard (the legacy answers' `url`): /d/<uid>/<slug of its title>."""
    return f"/d/{uid}/{slugify(title)}"


def is_ours(annotations: dict[str, str], owner: str) -> bool:
    return (
        annotations.get(apps.ANNO_MANAGED_BY) == OUR_MANAGER_KIND
        and annotations.get(apps.ANNO_MANAGER_ID) == owner
    )


def is_clean(obj: dict[str, Any]) -> bool:
    """Nobody saved it since our write (generation as our write left it)."""
    meta = obj.get("metadata") or {}
    published = (meta.get("annotations") or {}).get(PUBLISHED_GENERATION)
    return published is not None and published == str(meta.get("generation"))


def stored_version(obj: dict[str, Any]) -> str:
    """The version a dashboard is stored in when a read converted it (schema v2 saved by the UI)."""
    conversion = (obj.get("status") or {}).get("conversion") or {}
    return str(conversion.get("storedVersion") or "")


def _who(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return (
        f"generation {meta.get('generation')} saved by {annotations.get(apps.ANNO_UPDATED_BY, '?')} "
        f"at {annotations.get(apps.ANNO_UPDATED_AT) or meta.get('creationTimestamp', '?')}"
    )


def plan_folder(folders: Resources, desired: Desired) -> Change:
    uid = desired.folder_uid
    change = Change(
        Kind.FOLDER, uid, Action.CREATE, desired={"uid": uid, "title": desired.folder_title}, api=API
    )
    live = folders.get(uid)
    if live is None:
        return change
    meta = live.get("metadata") or {}
    change.live = {"title": (live.get("spec") or {}).get("title", "")}
    change.version, change.resource_version = (
        int(meta.get("generation") or 0),
        str(meta.get("resourceVersion")),
    )
    change.live_annotations = dict(meta.get("annotations") or {})
    change.url = f"/dashboards/f/{uid}/{slugify(change.live['title'])}"
    change.action = Action.UNCHANGED if change.live["title"] == desired.folder_title else Action.UPDATE
    return change


def _ownership(change: Change, spec: dict[str, Any], annotations: dict[str, str], owner: str) -> bool:
    """Set NOT_OURS / MANAGED on `change` when the object is not ours; True when it is ours."""
    if is_ours(annotations, owner):
        return True
    manager = apps.manager_label(annotations)
    if manager and annotations.get(apps.ANNO_MANAGED_BY) == "repo":
        change.action = Action.NOT_OURS
        change.reason = (
            f"managed by {manager}: a write would be committed to that repository; never changed here"
        )
    elif manager:  # ours in code: refused unless --force; not in code: someone else's, never deleted
        change.action = Action.MANAGED if change.desired is not None else Action.NOT_OURS
        change.reason = f"managed by {manager}"
    elif written_by(spec.get(MARKER_KEY), owner, change.key):
        return True
    else:
        publisher = (
            (spec.get(MARKER_KEY) or {}).get("owner") if isinstance(spec.get(MARKER_KEY), dict) else None
        )
        who = f"published by {publisher}" if publisher else "not published by make publish"
        change.action, change.reason = Action.NOT_OURS, f"{who}: never changed or deleted here"
    return False


def plan_dashboard(
    grafana: Grafana,
    choice: ApiChoice,
    obj: dict[str, Any],
    desired: dict[str, Any] | None,
    folder_uid: str,
    owner: str,
) -> Change:
    """Decide one listed dashboard (desired=None: no longer in code, a prune candidate)."""
    meta = obj.get("metadata") or {}
    uid, annotations = str(meta.get("name")), dict(meta.get("annotations") or {})
    # Grafana keeps the uid as metadata.name only (its admission drops it from the spec); put it back
    # where our code and the legacy API have it, so the two compare.
    spec = {**(obj.get("spec") or {}), "uid": uid}
    change = Change(Kind.DASHBOARD, uid, Action.CREATE, desired=desired, api=API)
    change.version, change.resource_version = (
        int(meta.get("generation") or 0),
        str(meta.get("resourceVersion")),
    )
    change.live_annotations, change.url = annotations, dashboard_path(uid, str(spec.get("title", "")))
    change.live = dashboard_content(spec)
    if not _ownership(change, spec, annotations, owner):
        return change
    in_folder = annotations.get(apps.ANNO_FOLDER, "") == folder_uid
    if is_ours(annotations, owner):
        clean, published = is_clean(obj), annotations.get(apps.ANNO_SOURCE_CHECKSUM, "")
    else:  # published through the legacy API: its marker says what we sent
        clean, published = marker_is_clean(spec), marker_hash(spec)
    stored = stored_version(obj)
    if stored.startswith("v2"):
        return _plan_v2_stored(grafana, choice, change, stored, published)
    hashes = {content_hash(spec), published} if clean else {content_hash(spec)}
    if desired is not None and in_folder and content_hash(desired) in hashes:
        change.action = Action.UNCHANGED
    elif clean:
        change.action = Action.UPDATE if desired is not None else Action.DELETE
        change.reason = "" if in_folder else f"moves it into folder {folder_uid}"
    else:
        change.action = Action.DRIFTED
        change.reason = f"edited in Grafana after our last publish ({_who(obj)})"
        if desired is not None and content_hash(desired) == published:
            change.base, change.base_label = dashboard_content(desired), "last published (= code)"
    return change


def _plan_v2_stored(
    grafana: Grafana, choice: ApiChoice, change: Change, stored: str, published: str
) -> Change:
    """A dashboard of ours the UI saved in schema v2: read as stored, compared in our panels' terms."""
    change.stored_version = stored
    v2 = apps.dashboards(grafana, choice, v2=True).get(change.key) if choice.dashboards_v2 else None
    v2_spec = (v2 or {}).get("spec")
    if not isinstance(v2_spec, dict):
        change.action = Action.DRIFTED
        change.reason = (
            f"saved from the Grafana UI in schema {stored}, which this Grafana does not serve to read"
        )
        return change
    meta = v2.get("metadata") or {}
    change.resource_version = str(meta.get("resourceVersion") or change.resource_version)
    change.live = v2_view(v2_spec)
    same = change.desired is not None and change.live == classic_view(change.desired)
    if same:  # saved as v2 without changing anything we define: nothing is lost by writing ours back
        change.action = Action.UPDATE
        change.reason = (
            f"stored in schema {stored} by a UI save that changed nothing we define: restored as classic JSON"
        )
        return change
    change.action = Action.DRIFTED
    change.reason = f"saved from the Grafana UI in schema {stored} ({_who(v2)})"
    if change.desired is not None:
        label = "last published (= code)" if content_hash(change.desired) == published else "code"
        change.base, change.base_label = classic_view(change.desired), label
    return change


def plan_dashboards(
    grafana: Grafana, choice: ApiChoice, desired: Desired, pool: ThreadPoolExecutor
) -> tuple[list[Change], list[Change]]:
    """The dashboards of code, and those in our folder no longer in code (one LIST reads them all)."""
    listed = {str(o["metadata"]["name"]): o for o in apps.dashboards(grafana, choice).list()}

    def planned(uid: str) -> Change:
        if uid not in listed:
            return Change(Kind.DASHBOARD, uid, Action.CREATE, desired=desired.dashboards[uid], api=API)
        return plan_dashboard(
            grafana, choice, listed[uid], desired.dashboards[uid], desired.folder_uid, desired.owner
        )

    stale = [
        uid
        for uid, obj in listed.items()
        if uid not in desired.dashboards
        and ((obj["metadata"].get("annotations") or {}).get(apps.ANNO_FOLDER) == desired.folder_uid)
    ]

    def stale_change(uid: str) -> Change:
        return plan_dashboard(grafana, choice, listed[uid], None, desired.folder_uid, desired.owner)

    return list(pool.map(planned, list(desired.dashboards))), list(pool.map(stale_change, stale))
