"""Compare the desired state with what Grafana has, object by object, without writing anything.

Each object gets one Action (scripts/publish/model.py): create, update, unchanged, drifted (changed in
Grafana since our last publish: we refuse to overwrite it without --force) or delete (only with --prune).

Dashboards (the marker and the hashes: scripts/publish/compare.py):
  * hash(live content) == hash(desired content), or clean and
    marker sha256 == hash(desired content)             -> unchanged (no write, no new version)
  * clean                                              -> update
  * otherwise (marker stale or missing)                -> drifted: a UI save changed it
A UI save bumps the version and either keeps the marker (stale) or, in Grafana 11+ Scenes, rebuilds the
JSON without it - both read as "drifted", so no edit is ever lost. The version check makes this robust
against Grafana normalising what we sent (e.g. raising `refresh` to min_refresh_interval): that is not
mistaken for a UI edit, and re-publishing the same code is still a no-op. The marker costs no extra
request (the version message would need the versions API per dashboard, and Grafana rewrites the message
of version 1 to "Initial save" on read). To *show* the UI edit we fetch the history only for drifted
dashboards: the newest older version whose marker matches its own content is what we last published.

Alerting objects are written with provenance "api", which the Grafana UI refuses to edit, so for them
any difference is a plain update.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scripts.grafana import apps
from scripts.grafana.apps import LEGACY, ApiChoice
from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, is_not_found
from scripts.publish import apps_plan
from scripts.publish.compare import (
    MARKER_KEY,
    OWNER_LABEL,
    content_hash,
    dashboard_content,
    dashboard_owner,
    is_clean,
    marker_hash,
    normalise_contact_point,
    normalise_group,
    normalise_policy,
    normalise_rule,
    policy_route_index,
    routing_edited,
    rule_edited,
    without_route_marker,
    written_by,
)
from scripts.publish.desired import Desired
from scripts.publish.kinds import KINDS
from scripts.publish.model import Action, Change, Kind, Plan

SEARCH_PAGE = 5000
HISTORY_LOOKBACK = 10


def _get_or_none(grafana: Grafana, what: str, request: Callable[[Any], Any]) -> Any:
    try:
        return grafana.call(what, request)
    except PublishError as error:
        if is_not_found(error):
            return None
        raise


def _plan_folder(grafana: Grafana, desired: Desired) -> Change:
    uid = desired.folder_uid
    live = _get_or_none(grafana, f"folder {uid}", lambda api: api.folder.get_folder(uid))
    change = Change(Kind.FOLDER, uid, Action.CREATE, desired={"uid": uid, "title": desired.folder_title})
    if live is None:
        return change
    change.version, change.url, change.live = (
        int(live.get("version") or 0),
        live.get("url", ""),
        {"title": live["title"]},
    )
    change.action = Action.UNCHANGED if live.get("title") == desired.folder_title else Action.UPDATE
    return change


def search_dashboards(grafana: Grafana) -> dict[str, dict[str, Any]]:
    """Every dashboard of the org by uid (one request per 5000), to skip GETs of ones that do not exist."""
    hits: dict[str, dict[str, Any]] = {}
    for page in range(1, 1000):
        batch = grafana.call(
            "dashboard search",
            lambda api, page=page: api.client.GET(
                "/search", params={"type": "dash-db", "limit": SEARCH_PAGE, "page": page}
            ),
        )
        hits.update({hit["uid"]: hit for hit in batch})
        if len(batch) < SEARCH_PAGE:
            break
    return hits


def _versions(grafana: Grafana, uid: str, live_version: int) -> Iterator[tuple[dict[str, Any], int]]:
    """The dashboard's older versions, newest first (at most HISTORY_LOOKBACK)."""
    listing = grafana.call(
        f"dashboard {uid} history",
        lambda api: api.client.GET(f"/dashboards/uid/{uid}/versions", params={"limit": HISTORY_LOOKBACK + 1}),
    )
    for item in listing.get("versions", []) if isinstance(listing, dict) else listing:
        number = int(item["version"])
        if number >= live_version:
            continue
        data = grafana.call(
            f"dashboard {uid} version {number}",
            lambda api, number=number: api.client.GET(f"/dashboards/uid/{uid}/versions/{number}"),
        ).get("data")
        if isinstance(data, dict):
            yield data, number


def last_published(
    grafana: Grafana, uid: str, live_version: int, owner: str
) -> tuple[dict[str, Any], int] | None:
    """The newest older version that `owner` published and nobody had saved since: what we last sent."""
    return next(
        ((data, number) for data, number in _versions(grafana, uid, live_version)
         if written_by(data.get(MARKER_KEY), owner, uid) and is_clean(data)),
        None,
    )  # fmt: skip


def _live_hashes(live: dict[str, Any]) -> tuple[str, ...]:
    """The code a live dashboard stands for: its content, and what we sent if nobody saved it since."""
    return (content_hash(live), marker_hash(live)) if is_clean(live) else (content_hash(live),)


def _who(meta: dict[str, Any]) -> str:
    return (
        f"version {meta.get('version')} saved by {meta.get('updatedBy', '?')} at {meta.get('updated', '?')}"
    )


def _not_ours_reason(live: dict[str, Any], meta: dict[str, Any]) -> str:
    publisher = dashboard_owner(live)
    if publisher:
        return f"published by {publisher}, not by us: never changed or deleted here"
    return f"not published by make publish ({_who(meta)}): never changed or deleted here"


def plan_dashboard(
    grafana: Grafana, uid: str, desired: dict[str, Any] | None, folder_uid: str, owner: str
) -> Change:
    """Decide one dashboard (desired=None: it is no longer in code, i.e. a prune candidate).

    Ours: its marker names us, or (a UI save of Grafana 11+ drops the marker) one of its recent versions
    was published by us. Anything else is someone else's and is left as it is."""
    found = _get_or_none(grafana, f"dashboard {uid}", lambda api: api.dashboard.get_dashboard(uid))
    change = Change(Kind.DASHBOARD, uid, Action.CREATE, desired=desired)
    if found is None:
        return change
    live, meta = found["dashboard"], found.get("meta", {})
    change.live, change.version, change.url = (
        dashboard_content(live),
        int(meta.get("version") or 0),
        meta.get("url", ""),
    )
    in_folder = meta.get("folderUid", "") == folder_uid
    marker = live.get(MARKER_KEY)
    if meta.get("provisioned"):  # the file provisioner's (the only manager a legacy read shows)
        source = meta.get("provisionedExternalId") or "a provisioning file"
        # ours in code: refused unless --force; not in code: someone else's, never deleted
        change.action = Action.MANAGED if desired is not None else Action.NOT_OURS
        change.reason = f"managed by file provisioning, from {source}"
    elif marker is not None and not written_by(marker, owner, uid):
        change.action, change.reason = Action.NOT_OURS, _not_ours_reason(live, meta)
    elif desired is not None and in_folder and content_hash(desired) in _live_hashes(live):
        change.action = Action.UNCHANGED
    elif is_clean(live):
        change.action = Action.UPDATE if desired is not None else Action.DELETE
        change.reason = "" if in_folder else f"moves it into folder {folder_uid}"
    else:
        previous = last_published(grafana, uid, change.version, owner)
        if previous is None and marker is None:
            change.action, change.reason = Action.NOT_OURS, _not_ours_reason(live, meta)
            return change
        change.action, change.reason = (
            Action.DRIFTED,
            f"edited in Grafana after our last publish ({_who(meta)})",
        )
        if previous is not None:
            change.base = dashboard_content(previous[0])
            change.base_label = f"last published (version {previous[1]})"
    return change


def rule_is_ours(rule: dict[str, Any], owner: str) -> bool:
    """Our rules carry our owner label; a rule without any owner label that was provisioned through the
    API ("api") in our group was published by this tool before owner labels existed."""
    labelled = (rule.get("labels") or {}).get(OWNER_LABEL)
    return labelled == owner or (labelled is None and rule.get("provenance") == "api")


def _plan_rule_group(
    grafana: Grafana,
    group: dict[str, Any],
    folder_exists: bool,
    prune: bool,
    owner: str,
    all_rules: dict[str, dict[str, Any]],
) -> list[Change]:
    """The group, plus its live rules that are no longer in code (deleted only with --prune). A group PUT
    replaces the group, so without --prune those rules are carried along: nothing is deleted unless
    asked. A group holding a rule that is not ours is not ours: it is left alone."""
    key = f"{group['folderUid']}/{group['title']}"
    change = Change(Kind.RULE_GROUP, key, Action.CREATE, desired=group)
    taken = _taken_rule_uids(group, all_rules, owner)
    if taken:
        change.action, change.reason = Action.NOT_OURS, f"rule uid {', '.join(taken)} is someone else's"
        return [change]
    if not folder_exists:
        return [change]
    live = _get_or_none(
        grafana,
        f"rule group {key}",
        lambda api: api.alertingprovisioning.get_rule_group(group["folderUid"], group["title"]),
    )
    if live is None:
        return [change]
    live_rules = live.get("rules") or []
    change.live = normalise_group(live)
    foreign = [str(r.get("uid")) for r in live_rules if not rule_is_ours(r, owner)]
    if foreign:
        change.action = Action.NOT_OURS
        change.reason = f"holds rules that are not ours ({', '.join(foreign)}): never changed here"
        return [change]
    in_code = {rule.get("uid") for rule in group["rules"]}
    removed = [rule for rule in live_rules if rule.get("uid") not in in_code]
    if removed and not prune:
        change.desired = {**group, "rules": [*group["rules"], *removed]}
        change.reason = f"keeps {', '.join(r['uid'] for r in removed)}, no longer in code (--prune deletes)"
    edited = [str(r.get("uid")) for r in live_rules if rule_edited(r, live.get("interval"))]
    if change.live == normalise_group(change.desired):
        change.action = Action.UNCHANGED
    elif edited:
        change.action = Action.DRIFTED
        change.reason = f"rule {', '.join(edited)} edited in Grafana after our last publish"
    else:
        change.action = Action.UPDATE
    gone = Action.DELETE if prune else Action.ORPHAN
    reason = f"no longer in group {group['title']}"
    return [
        change,
        *(Change(Kind.ALERT_RULE, r["uid"], gone, reason, live=normalise_rule(r)) for r in removed),
    ]


def route_owners(tree: dict[str, Any]) -> dict[str, set[str]]:
    """Receiver name -> the owners whose routes (the root's children matching `managed_by=<owner>`, and
    everything below them) send to it."""
    owners: dict[str, set[str]] = {}

    def walk(route: dict[str, Any], owner: str) -> None:
        if route.get("receiver"):
            owners.setdefault(route["receiver"], set()).add(owner)
        for child in route.get("routes") or []:
            walk(child, owner)

    for route in tree.get("routes") or []:
        owner = next((m[2] for m in route.get("object_matchers") or [] if m[0] == OWNER_LABEL), None)
        if owner is not None:
            walk(route, owner)
    return owners


def contact_point_is_ours(point: dict[str, Any], owner: str, owners: dict[str, set[str]]) -> bool:
    """A contact point cannot carry its owner, so ownership comes from who routes to it: ours when our
    route sends to it, never when another owner's does, and otherwise when this tool wrote it (provenance
    "api": it is not someone's hand-made one)."""
    routed_by = owners.get(str(point.get("name")), set())
    if routed_by - {owner}:
        return False
    return owner in routed_by or point.get("provenance") == "api"


def _plan_contact_points(
    grafana: Grafana, points: list[dict[str, Any]], tree: dict[str, Any], owner: str
) -> list[Change]:
    if not points:
        return []
    live_points = {
        p.get("uid"): p
        for p in grafana.call("contact points", lambda api: api.alertingprovisioning.get_contactpoints())
    }
    owners = route_owners(tree)
    changes = []
    for point in points:
        change = Change(
            Kind.CONTACT_POINT, str(point.get("uid") or point.get("name")), Action.CREATE, desired=point
        )
        live = live_points.get(point.get("uid"))
        if live is not None:
            change.live = normalise_contact_point(live)
            if not contact_point_is_ours(live, owner, owners):
                routed = ", ".join(sorted(owners.get(str(live.get("name")), set()))) or "made by hand"
                change.action, change.reason = Action.NOT_OURS, f"{routed}: never changed here"
            elif change.live == normalise_contact_point(point):
                change.action = Action.UNCHANGED
            else:
                change.action = Action.UPDATE
        changes.append(change)
    return changes


def _plan_policy(route: dict[str, Any] | None, tree: dict[str, Any], owner: str) -> list[Change]:
    """Our route of the org's notification policy tree; the rest of the tree is never compared or written."""
    if route is None:
        return []
    index = policy_route_index(tree, owner)
    key = f"route {OWNER_LABEL}={owner}"
    if index is None:
        return [Change(Kind.POLICY, key, Action.CREATE, desired=route)]
    live = normalise_policy(tree["routes"][index])
    action = Action.UNCHANGED if live == normalise_policy(route) else Action.UPDATE
    return [Change(Kind.POLICY, key, action, desired=route, live=live)]


def _mark_routing_drift(changes: list[Change], tree: dict[str, Any], owner: str) -> None:
    """Our route and contact points share one marker (the route's): when what is live no longer hashes to
    it, every one of them that differs from code was edited in Grafana, and is drift."""
    index = policy_route_index(tree, owner)
    if index is None:
        return
    ours = [
        c
        for c in changes
        if c.kind in (Kind.POLICY, Kind.CONTACT_POINT) and c.live is not None and c.action != Action.NOT_OURS
    ]
    points = [c.live for c in ours if c.kind == Kind.CONTACT_POINT]
    if not routing_edited(tree["routes"][index], points):
        return
    for change in ours:
        differs = without_route_marker(change.live) != without_route_marker(
            KINDS[change.kind].normalise(change.desired)
        )
        if change.action == Action.UPDATE and differs:
            change.action, change.reason = Action.DRIFTED, "edited in Grafana after our last publish"


def _plan_stale_rules(rules: list[dict[str, Any]], desired: Desired, prune: bool) -> list[Change]:
    """Our rules in our folder whose group is no longer in code; other teams' rules are never listed."""
    groups = {g["title"] for g in desired.rule_groups}
    return [
        Change(
            Kind.ALERT_RULE,
            r["uid"],
            Action.DELETE if prune else Action.ORPHAN,
            reason=f"group {r.get('ruleGroup')} is no longer in code",
            live=normalise_rule(r),
        )
        for r in rules
        if r.get("folderUID") == desired.folder_uid
        and r.get("ruleGroup") not in groups
        and rule_is_ours(r, desired.owner)
    ]


def _taken_rule_uids(group: dict[str, Any], rules: dict[str, dict[str, Any]], owner: str) -> list[str]:
    """Rule uids of this group that Grafana already has for someone else (they are unique per org)."""
    taken = []
    for wanted in group["rules"]:
        live = rules.get(wanted["uid"])
        elsewhere = live is not None and (live.get("folderUID"), live.get("ruleGroup")) != (
            group["folderUid"],
            group["title"],
        )
        if live is not None and (elsewhere or not rule_is_ours(live, owner)):
            where = f"{live.get('folderUID')}/{live.get('ruleGroup')}"
            taken.append(
                f"{wanted['uid']} (in {where}, {(live.get('labels') or {}).get(OWNER_LABEL, 'by hand')})"
            )
    return taken


def _orphaned(change: Change, prune: bool) -> Change:
    """A dashboard of ours no longer in code is deleted only with --prune (a drifted one only with
    --prune --force); without --prune it is listed."""
    if change.action in (Action.DELETE, Action.DRIFTED) and not prune:
        change.action, change.reason = (
            Action.ORPHAN,
            "in Grafana, no longer in code: would be deleted with --prune",
        )
    return change


def build_plan(
    grafana: Grafana,
    desired: Desired,
    pool: ThreadPoolExecutor,
    prune: bool = False,
    api: ApiChoice = LEGACY,
) -> Plan:
    """Read everything we manage from Grafana (reads run on `pool`) and decide each object's action.
    Folder and dashboards go through `api` (apps_plan.py on the app platform), alerting through the
    alerting provisioning API, which has no app-platform counterpart the publisher uses."""
    folder = (
        apps_plan.plan_folder(apps.folders(grafana, api), desired)
        if api.apps
        else _plan_folder(grafana, desired)
    )
    folder_exists = folder.action != Action.CREATE
    owner = desired.owner
    tree: dict[str, Any] = {}
    if desired.policy is not None or desired.contact_points:
        tree = grafana.call(
            "notification policy", lambda api: api.alertingprovisioning.get_notification_policy_tree()
        )
    changes = [
        folder,
        *_plan_contact_points(grafana, desired.contact_points, tree, owner),
        *_plan_policy(desired.policy, tree, owner),
    ]
    _mark_routing_drift(changes, tree, owner)
    # Every rule of the org, once: rule uids are unique per org, and what is stale in our folder.
    rules = grafana.call("alert rules", lambda api: api.alertingprovisioning.get_alertrules_all())
    by_uid = {str(r.get("uid")): r for r in rules}

    dashboards, stale = (
        apps_plan.plan_dashboards(grafana, api, desired, pool)
        if api.apps
        else _legacy_dashboards(grafana, desired, pool)
    )
    changes += dashboards
    for group_changes in pool.map(
        lambda g: _plan_rule_group(grafana, g, folder_exists, prune, owner, by_uid), desired.rule_groups
    ):
        changes += group_changes
    # Listed in every plan, deleted only with --prune (and only ours).
    changes += [_orphaned(change, prune) for change in stale]
    changes += _plan_stale_rules(rules, desired, prune)
    return Plan(changes, api=api.describe())


def _legacy_dashboards(
    grafana: Grafana, desired: Desired, pool: ThreadPoolExecutor
) -> tuple[list[Change], list[Change]]:
    """The dashboards of code, and those in our folder no longer in code, through the legacy /api."""
    hits = search_dashboards(grafana)

    def dashboard(uid: str) -> Change:
        if uid not in hits:
            return Change(Kind.DASHBOARD, uid, Action.CREATE, desired=desired.dashboards[uid])
        return plan_dashboard(grafana, uid, desired.dashboards[uid], desired.folder_uid, desired.owner)

    def stale_dashboard(uid: str) -> Change:
        return plan_dashboard(grafana, uid, None, desired.folder_uid, desired.owner)

    stale = [
        uid
        for uid, hit in hits.items()
        if hit.get("folderUid") == desired.folder_uid and uid not in desired.dashboards
    ]
    return _gather(pool, dashboard, desired.dashboards), _gather(pool, stale_dashboard, stale)


def _gather(pool: ThreadPoolExecutor, fn: Callable[[Any], Change], items: Iterable[Any]) -> list[Change]:
    return list(pool.map(fn, list(items)))
