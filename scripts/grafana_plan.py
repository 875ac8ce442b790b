"""Compare the desired state with what Grafana has, object by object, without writing anything.

Each object gets one action: create, update, unchanged, drifted (changed in Grafana since our last
publish: we refuse to overwrite it without --force) or delete (only with --prune).

How "our last publish" is recognised (dashboards). Every dashboard we write carries a marker in its own
JSON: `"__publish": {"sha256": <hash of the content we sent>, "version": <the version our save creates>,
"commit": ..., "tool": ...}`. Grafana keeps unknown keys and sets `version` to the stored version on read,
so on the next run the live dashboard is "clean" (nobody saved it since our publish) when its version is
still the marker's version, or its content still hashes to the marker's sha256. Then:
  * hash(live content) == hash(desired content), or clean and
    marker sha256 == hash(desired content)             -> unchanged (no write, no new version)
  * clean                                              -> update
  * otherwise (marker stale or missing)                -> drifted: a UI save changed it
A UI save bumps the version and either keeps the marker (stale) or, in Grafana 11+ Scenes, rebuilds the
JSON without it - both read as "drifted", so no edit is ever lost. The version check makes this robust
against Grafana normalising what we sent (e.g. raising `refresh` to min_refresh_interval): that is not
mistaken for a UI edit, and re-publishing the same code is still a no-op.
The content hash ignores only `id`, `version` and the marker itself. The marker costs no extra request
(the version message would need the versions API per dashboard, and Grafana rewrites the message of
version 1 to "Initial save" on read). To *show* the UI edit we fetch the history only for drifted
dashboards: the newest older version whose marker matches its own content is what we last published.

Alerting objects are written with provenance "api", which the Grafana UI refuses to edit, so for them
any difference is a plain update. Semantic comparison ignores what Grafana adds or normalises: ids,
`updated`, `provenance`, forced group fields, query-model defaults, duration spelling ("60s" == "1m"),
empty values, and secrets that Grafana only shows as "[REDACTED]".
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from scripts.grafana_conn import Grafana, PublishError, is_not_found
from scripts.grafana_desired import Desired

MARKER_KEY = "__publish"
VOLATILE_DASHBOARD_KEYS = ("id", "version", MARKER_KEY)
# The ProvisionedAlertRule fields a rule's definition consists of. Everything else in Grafana's answer is
# set by the server (id, uid-scoped orgID/folderUID/ruleGroup forced from the group, updated, provenance)
# or added by newer releases; comparing only these keeps a no-op publish a no-op on every version.
RULE_FIELDS = (
    "uid",
    "title",
    "condition",
    "data",
    "noDataState",
    "execErrState",
    "for",
    "keep_firing_for",
    "annotations",
    "labels",
    "isPaused",
    "notification_settings",
    "record",
    "missingSeriesEvalsToResolve",
)
QUERY_FIELDS = ("refId", "queryType", "relativeTimeRange", "datasourceUid", "model")
MODEL_DEFAULTS = {"intervalMs": 1000, "maxDataPoints": 43200}
DURATION_KEYS = frozenset({"for", "keep_firing_for", "group_wait", "group_interval", "repeat_interval"})
SECRET_SETTING_KEYS = frozenset({"password", "authorization_credentials", "token", "secret", "apiKey"})
SEARCH_PAGE = 5000
HISTORY_LOOKBACK = 10
_DURATION = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_DURATION_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
CREATE, UPDATE, UNCHANGED, DRIFTED, DELETE = "create", "update", "unchanged", "drifted", "delete"


@dataclass
class Change:
    kind: str  # folder | dashboard | contact-point | policy | rule-group | alert-rule
    key: str
    action: str
    reason: str = ""
    desired: Any = None  # the object to write (for dashboards: the plain dashboard JSON)
    live: Any = None  # the live object, normalised for display
    base: Any = None  # drifted dashboards: what we last published (normalised), when found
    base_label: str = ""
    version: int = 0  # live version of a folder/dashboard, for optimistic locking
    url: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"

    @property
    def desired_view(self) -> Any:
        """The desired object normalised like the live one, for diffs."""
        normalisers: dict[str, Callable[[Any], Any]] = {
            "dashboard": dashboard_content,
            "rule-group": normalise_group,
            "contact-point": normalise_contact_point,
            "policy": normalise_policy,
        }
        return normalisers.get(self.kind, lambda d: d)(self.desired)


@dataclass
class Plan:
    changes: list[Change]
    grafana_version: str = ""

    def writes(self, force: bool) -> list[Change]:
        """The changes that a publish applies (drifted ones only with --force)."""
        return [
            c for c in self.changes if c.action in (CREATE, UPDATE, DELETE) or (force and c.action == DRIFTED)
        ]

    def drifted(self) -> list[Change]:
        return [c for c in self.changes if c.action == DRIFTED]


# ---- normalisation ---------------------------------------------------------------------------------------
def canonical(node: Any) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dashboard_content(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The part of a dashboard we own: everything but id, version and our marker."""
    return {k: v for k, v in dashboard.items() if k not in VOLATILE_DASHBOARD_KEYS}


def content_hash(dashboard: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(dashboard_content(dashboard)).encode()).hexdigest()


def marker_hash(dashboard: dict[str, Any]) -> str:
    marker = dashboard.get(MARKER_KEY)
    return str(marker.get("sha256", "")) if isinstance(marker, dict) else ""


def is_clean(dashboard: dict[str, Any]) -> bool:
    """True when nobody saved the dashboard since we published it: its version is the one our save
    created, or its content is exactly what we sent."""
    marker = dashboard.get(MARKER_KEY)
    if not isinstance(marker, dict):
        return False
    same_version = marker.get("version") is not None and marker.get("version") == dashboard.get("version")
    return same_version or marker_hash(dashboard) == content_hash(dashboard)


def duration_ms(text: str) -> int | str:
    """'60s' and '1m' both become 60000; anything unparsable stays as it is."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return text
    return sum(int(n) * _DURATION_MS[u] for n, u in parts)


def _drop_empty(node: Any) -> Any:
    """Remove None/""/[]/{}/False/0 values from mappings (0 == False), like Go's omitempty: Grafana
    adds and drops zero values freely (isPaused: false, keep_firing_for: "0s", notification_settings)."""
    if isinstance(node, list):
        return [_drop_empty(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {k: _drop_empty(v) for k, v in node.items()}
    return {k: v for k, v in cleaned.items() if v not in (None, "", [], {}, False)}


def _durations(node: Any) -> Any:
    if isinstance(node, list):
        return [_durations(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        k: duration_ms(v) if k in DURATION_KEYS and isinstance(v, str) else _durations(v)
        for k, v in node.items()
    }


def normalise_query(query: dict[str, Any]) -> dict[str, Any]:
    """A query as Grafana stores it (AlertQuery.PreSave): without the model defaults it adds, and with the
    model's own `queryType` (Loki's "instant") copied onto the query."""
    kept = {k: query[k] for k in QUERY_FIELDS if k in query}
    model = {k: v for k, v in (query.get("model") or {}).items() if MODEL_DEFAULTS.get(k) != v}
    query_type = model.get("queryType")
    if isinstance(query_type, str) and query_type:
        return {**kept, "queryType": query_type, "model": model}
    return {**kept, "model": model}


def normalise_rule(rule: dict[str, Any]) -> dict[str, Any]:
    kept = {k: rule[k] for k in RULE_FIELDS if k in rule}
    data = [normalise_query(query) for query in kept.get("data") or []]
    return _drop_empty(_durations({**kept, "data": data}))


def normalise_group(group: dict[str, Any]) -> dict[str, Any]:
    return {"interval": group.get("interval"), "rules": [normalise_rule(r) for r in group.get("rules") or []]}


def normalise_contact_point(point: dict[str, Any]) -> dict[str, Any]:
    """Secrets become "<secret>" on both sides: Grafana only ever shows "[REDACTED]"."""
    settings = {
        k: "<secret>" if k in SECRET_SETTING_KEYS and v else v
        for k, v in (point.get("settings") or {}).items()
    }
    kept = {k: point.get(k) for k in ("uid", "name", "type", "disableResolveMessage")}
    return _drop_empty({**kept, "settings": settings})


def normalise_policy(route: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in route.items() if k != "provenance"}
    if kept.get("routes"):
        kept["routes"] = [normalise_policy(child) for child in kept["routes"]]
    return _drop_empty(_durations(kept))


def unified_diff(before: Any, after: Any, before_label: str, after_label: str) -> str:
    lines = difflib.unified_diff(
        json.dumps(before, indent=2, sort_keys=True).splitlines(),
        json.dumps(after, indent=2, sort_keys=True).splitlines(),
        before_label,
        after_label,
        lineterm="",
    )
    return "\n".join(lines)


def change_diff(change: Change) -> str:
    """The readable diff for a change: what the UI edit changed for drift, else live -> code."""
    if change.action == DRIFTED and change.base is not None:
        return unified_diff(
            change.base, change.live, change.base_label, f"live in Grafana (version {change.version})"
        )
    if change.action in (UPDATE, DRIFTED) and change.desired is not None:
        return unified_diff(change.live, change.desired_view, "live in Grafana", "code")
    return ""


# ---- reading live state ----------------------------------------------------------------------------------
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
    change = Change("folder", uid, CREATE, desired={"uid": uid, "title": desired.folder_title})
    if live is None:
        return change
    change.version, change.url, change.live = (
        int(live.get("version") or 0),
        live.get("url", ""),
        {"title": live["title"]},
    )
    change.action = UNCHANGED if live.get("title") == desired.folder_title else UPDATE
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
    change = Change("dashboard", uid, CREATE, desired=desired)
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
        change.action = UNCHANGED
    elif is_clean(live):
        change.action = UPDATE if desired is not None else DELETE
        change.reason = "" if in_folder else f"moves it into folder {folder_uid}"
    else:
        change.action, change.reason = DRIFTED, _drift_reason(live, meta)
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
    change = Change("rule-group", key, CREATE, desired=group)
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
    change.action = UNCHANGED if change.live == normalise_group(change.desired) else UPDATE
    if not prune:
        return [change]
    reason = f"no longer in group {group['title']}"
    return [
        change,
        *(Change("alert-rule", r["uid"], DELETE, reason, live=normalise_rule(r)) for r in removed),
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
        change = Change("contact-point", str(point.get("uid") or point.get("name")), CREATE, desired=point)
        live = live_points.get(point.get("uid"))
        if live is not None:
            change.live = normalise_contact_point(live)
            change.action = UNCHANGED if change.live == normalise_contact_point(point) else UPDATE
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
    action = UNCHANGED if live == normalise_policy(policy) else UPDATE
    return [Change("policy", "root", action, desired=policy, live=live)]


def _plan_stale_rules(grafana: Grafana, desired: Desired) -> list[Change]:
    groups = {g["title"] for g in desired.rule_groups}
    rules = grafana.call("alert rules", lambda api: api.alertingprovisioning.get_alertrules_all())
    return [
        Change(
            "alert-rule",
            r["uid"],
            DELETE,
            reason=f"group {r.get('ruleGroup')} is no longer in code",
            live=normalise_rule(r),
        )
        for r in rules
        if r.get("folderUID") == desired.folder_uid and r.get("ruleGroup") not in groups
    ]


def build_plan(grafana: Grafana, desired: Desired, pool: ThreadPoolExecutor, prune: bool = False) -> Plan:
    """Read everything we manage from Grafana (reads run on `pool`) and decide each object's action."""
    folder = _plan_folder(grafana, desired)
    folder_exists = folder.action != CREATE
    hits = search_dashboards(grafana)
    changes = [
        folder,
        *_plan_contact_points(grafana, desired.contact_points),
        *_plan_policy(grafana, desired.policy),
    ]

    def dashboard(uid: str) -> Change:
        if uid not in hits:
            return Change("dashboard", uid, CREATE, desired=desired.dashboards[uid])
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
