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

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scripts.publish.client import Grafana
from scripts.publish.compare import (
    content_hash,
    dashboard_content,
    is_clean,
    marker_hash,
    normalise_contact_point,
    normalise_group,
    normalise_policy,
    normalise_rule,
)
from scripts.publish.desired import Desired
from scripts.publish.errors import PublishError, is_not_found
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


def last_published(grafana: Grafana, uid: str, live_version: int) -> tuple[dict[str, Any], int] | None:
    """The newest older version whose marker matches its own content: what we published last."""
    listing = grafana.call(
        f"dashboard {uid} history",
        lambda api: api.client.GET(f"/dashboards/uid/{uid}/versions", params={"limit": HISTORY_LOOKBACK + 1}),
    )
    versions = listing.get("versions", []) if isinstance(listing, dict) else listing
    for item in versions:
        number = int(item["version"])
        if number >= live_version:
            continue
        data = grafana.call(
            f"dashboard {uid} version {number}",
            lambda api, number=number: api.client.GET(f"/dashboards/uid/{uid}/versions/{number}"),
        ).get("data")
        if isinstance(data, dict) and is_clean(data):
            return data, number
    return None


def _live_hashes(live: dict[str, Any]) -> tuple[str, ...]:
    """The code a live dashboard stands for: its content, and what we sent if nobody saved it since."""
    return (content_hash(live), marker_hash(live)) if is_clean(live) else (content_hash(live),)


def _drift_reason(live: dict[str, Any], meta: dict[str, Any]) -> str:
    who = f"version {meta.get('version')} saved by {meta.get('updatedBy', '?')} at {meta.get('updated', '?')}"
    if not marker_hash(live):
        return f"not published by this tool or saved from the UI ({who})"
    return f"edited in Grafana after our last publish ({who})"


def plan_dashboard(grafana: Grafana, uid: str, desired: dict[str, Any] | None, folder_uid: str) -> Change:
    """Decide one dashboard (desired=None: it is no longer in code, i.e. a prune candidate)."""
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
    if desired is not None and in_folder and content_hash(desired) in _live_hashes(live):
        change.action = Action.UNCHANGED
    elif is_clean(live):
        change.action = Action.UPDATE if desired is not None else Action.DELETE
        change.reason = "" if in_folder else f"moves it into folder {folder_uid}"
    else:
        change.action, change.reason = Action.DRIFTED, _drift_reason(live, meta)
        previous = last_published(grafana, uid, change.version)
        if previous is not None:
            change.base = dashboard_content(previous[0])
            change.base_label = f"last published (version {previous[1]})"
    return change


def _plan_rule_group(
    grafana: Grafana, group: dict[str, Any], folder_exists: bool, prune: bool
) -> list[Change]:
    """The group, plus (with --prune) its live rules that are no longer in code. A group PUT replaces
    the group, so without --prune those rules are carried along: nothing is deleted unless asked."""
    key = f"{group['folderUid']}/{group['title']}"
    change = Change(Kind.RULE_GROUP, key, Action.CREATE, desired=group)
    if not folder_exists:
        return [change]
    live = _get_or_none(
        grafana,
        f"rule group {key}",
        lambda api: api.alertingprovisioning.get_rule_group(group["folderUid"], group["title"]),
    )
    if live is None:
        return [change]
    in_code = {rule.get("uid") for rule in group["rules"]}
    removed = [rule for rule in live.get("rules") or [] if rule.get("uid") not in in_code]
    if removed and not prune:
        change.desired = {**group, "rules": [*group["rules"], *removed]}
        change.reason = f"keeps {', '.join(r['uid'] for r in removed)}, no longer in code (--prune deletes)"
    change.live = normalise_group(live)
    change.action = Action.UNCHANGED if change.live == normalise_group(change.desired) else Action.UPDATE
    if not prune:
        return [change]
    reason = f"no longer in group {group['title']}"
    return [
        change,
        *(Change(Kind.ALERT_RULE, r["uid"], Action.DELETE, reason, live=normalise_rule(r)) for r in removed),
    ]


def _plan_contact_points(grafana: Grafana, points: list[dict[str, Any]]) -> list[Change]:
    if not points:
        return []
    live_points = {
        p.get("uid"): p
        for p in grafana.call("contact points", lambda api: api.alertingprovisioning.get_contactpoints())
    }
    changes = []
    for point in points:
        change = Change(
            Kind.CONTACT_POINT, str(point.get("uid") or point.get("name")), Action.CREATE, desired=point
        )
        live = live_points.get(point.get("uid"))
        if live is not None:
            change.live = normalise_contact_point(live)
            change.action = (
                Action.UNCHANGED if change.live == normalise_contact_point(point) else Action.UPDATE
            )
        changes.append(change)
    return changes


def _plan_policy(grafana: Grafana, policy: dict[str, Any] | None) -> list[Change]:
    if policy is None:
        return []
    live = normalise_policy(
        grafana.call(
            "notification policy", lambda api: api.alertingprovisioning.get_notification_policy_tree()
        )
    )
    action = Action.UNCHANGED if live == normalise_policy(policy) else Action.UPDATE
    return [Change(Kind.POLICY, "root", action, desired=policy, live=live)]


def _plan_stale_rules(grafana: Grafana, desired: Desired) -> list[Change]:
    groups = {g["title"] for g in desired.rule_groups}
    rules = grafana.call("alert rules", lambda api: api.alertingprovisioning.get_alertrules_all())
    return [
        Change(
            "alert-rule",
            r["uid"],
            Action.DELETE,
            reason=f"group {r.get('ruleGroup')} is no longer in code",
            live=normalise_rule(r),
        )
        for r in rules
        if r.get("folderUID") == desired.folder_uid and r.get("ruleGroup") not in groups
    ]


def build_plan(grafana: Grafana, desired: Desired, pool: ThreadPoolExecutor, prune: bool = False) -> Plan:
    """Read everything we manage from Grafana (reads run on `pool`) and decide each object's action."""
    folder = _plan_folder(grafana, desired)
    folder_exists = folder.action != Action.CREATE
    hits = search_dashboards(grafana)
    changes = [
        folder,
        *_plan_contact_points(grafana, desired.contact_points),
        *_plan_policy(grafana, desired.policy),
    ]

    def dashboard(uid: str) -> Change:
        if uid not in hits:
            return Change(Kind.DASHBOARD, uid, Action.CREATE, desired=desired.dashboards[uid])
        return plan_dashboard(grafana, uid, desired.dashboards[uid], desired.folder_uid)

    changes += _gather(pool, dashboard, desired.dashboards)
    for group_changes in pool.map(
        lambda g: _plan_rule_group(grafana, g, folder_exists, prune), desired.rule_groups
    ):
        changes += group_changes
    if prune:
        stale = [
            uid
            for uid, hit in hits.items()
            if hit.get("folderUid") == desired.folder_uid and uid not in desired.dashboards
        ]
        changes += _gather(pool, lambda uid: plan_dashboard(grafana, uid, None, desired.folder_uid), stale)
        if folder_exists:
            changes += _plan_stale_rules(grafana, desired)
    return Plan(changes)


def _gather(pool: ThreadPoolExecutor, fn: Callable[[Any], Change], items: Iterable[Any]) -> list[Change]:
    return list(pool.map(fn, list(items)))
