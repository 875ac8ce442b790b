"""The semantic comparison of publish, pure (no I/O): normalisation, content hash, publish marker, diffs.

How "our last publish" is recognised (dashboards). Every dashboard we write carries a marker in its own
JSON: `"__publish": {"sha256": <hash of the content we sent>, "version": <the version our save creates>,
"commit": ..., "tool": ...}`. Grafana keeps unknown keys and sets `version` to the stored version on read,
so on the next run the live dashboard is "clean" (nobody saved it since our publish) when its version is
still the marker's version, or its content still hashes to the marker's sha256 (scripts/publish/plan.py
decides from that). The content hash ignores only `id`, `version` and the marker itself.

Semantic comparison ignores what Grafana adds or normalises: ids, `updated`, `provenance`, forced group
fields, query-model defaults, duration spelling ("60s" == "1m"), empty values, and secrets that Grafana
only shows as "[REDACTED]".
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboards.core.conventions import format_duration, parse_duration
from scripts.grafana.marker import MARKER_KEY

# The label every alert rule we publish carries, valued with the target's owner: it says whose the rule is
# and routes its alerts to our part of the notification policy tree.
OWNER_LABEL = "managed_by"
# Where the hash of what we wrote is kept, for the kinds without a marker of their own: a rule's
# annotation (over the rule and its group's interval), and our policy route's matcher `publish_sha256 !=
# <hash>` (over the route and our contact points: a contact point has no field to hold it). That matcher
# matches every alert, since none carries the label, so it changes no routing. Content that no longer
# hashes to its marker was edited in Grafana since our last publish.
RULE_MARKER = ROUTE_MARKER = "publish_sha256"
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


def written_by(marker: Any, owner: str, uid: str) -> bool:
    """Whether a publish marker is `owner`'s, on the dashboard we wrote it on: a "Save as" copy made in the
    UI may carry our marker, but not our uid. A marker without an owner (or uid) predates them: it was
    written by this tool, whose only owner then was the one target it published to."""
    return (
        isinstance(marker, dict) and marker.get("owner") in (None, owner) and marker.get("uid") in (None, uid)
    )


def dashboard_owner(dashboard: dict[str, Any]) -> str | None:
    """Who the marker says published this dashboard (None: no marker, or one from before owners)."""
    marker = dashboard.get(MARKER_KEY)
    return str(marker["owner"]) if isinstance(marker, dict) and marker.get("owner") else None


def rule_hash(rule: dict[str, Any], interval: Any) -> str:
    """The hash a rule's marker holds: its definition and its group's interval, as Grafana stores them."""
    return hashlib.sha256(
        canonical({"interval": interval, "rule": normalise_rule(rule)}).encode()
    ).hexdigest()


def rule_edited(rule: dict[str, Any], interval: Any) -> bool:
    """A rule we wrote whose content no longer matches its marker (a rule without one predates markers)."""
    marker = (rule.get("annotations") or {}).get(RULE_MARKER)
    return bool(marker) and marker != rule_hash(rule, interval)


def with_rule_marker(rule: dict[str, Any], interval: Any) -> dict[str, Any]:
    """The rule as we write it: its marker annotation set to the hash of what we send."""
    annotations = {**(rule.get("annotations") or {}), RULE_MARKER: rule_hash(rule, interval)}
    return {**rule, "annotations": annotations}


def duration_ms(text: str) -> int | str:
    """'60s' and '1m' both become 60000; anything unparsable stays as it is."""
    try:
        return parse_duration(text)
    except ValueError:
        return text


def _drop_empty(node: Any) -> Any:
    """Remove None/""/[]/{}/False/0 values from mappings (0 == False), like Go's omitempty: Grafana
    adds and drops zero values freely (isPaused: false, keep_firing_for: "0s", notification_settings)."""
    if isinstance(node, list):
        return [_drop_empty(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {k: _drop_empty(v) for k, v in node.items()}
    return {k: v for k, v in cleaned.items() if v not in (None, "", [], {}, False)}


def _in_ms(value: Any) -> Any:
    return duration_ms(value) if isinstance(value, str) else value


def _as_duration(value: Any) -> Any:
    return format_duration(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _durations(node: Any, convert: Callable[[Any], Any] = _in_ms) -> Any:
    """`node` with every duration field converted (by default to milliseconds, to compare spellings)."""
    if isinstance(node, list):
        return [_durations(item, convert) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: convert(v) if k in DURATION_KEYS else _durations(v, convert) for k, v in node.items()}


def readable(node: Any) -> Any:
    """Durations compared as milliseconds, shown as durations again (600000 -> "10m") for a reviewer."""
    return _durations(node, _as_duration)


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
    annotations = {k: v for k, v in (kept.get("annotations") or {}).items() if k != RULE_MARKER}
    kept["annotations"] = annotations
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


def owner_matcher(owner: str) -> list[str]:
    return [OWNER_LABEL, "=", owner]


def policy_route_index(tree: dict[str, Any], owner: str) -> int | None:
    """Where among the root's routes `owner`'s route is: the one matching its owner label."""
    routes = tree.get("routes") or []
    return next(
        (i for i, r in enumerate(routes) if owner_matcher(owner) in (r.get("object_matchers") or [])), None
    )


def route_marker(route: dict[str, Any]) -> str:
    """The hash our route's marker matcher holds ("" when it has none)."""
    matchers = route.get("object_matchers") or []
    return next((str(m[2]) for m in matchers if m[0] == ROUTE_MARKER and m[1] == "!="), "")


def without_route_marker(route: dict[str, Any]) -> dict[str, Any]:
    """The route without its marker matcher (anything without matchers, as it is)."""
    if "object_matchers" not in route:
        return route
    return {**route, "object_matchers": [m for m in route["object_matchers"] if m[0] != ROUTE_MARKER]}


def routing_hash(route: dict[str, Any], contact_points: list[dict[str, Any]]) -> str:
    """The hash of our route (without its marker) and of our contact points, as Grafana stores them."""
    points = sorted((normalise_contact_point(p) for p in contact_points), key=lambda p: str(p.get("uid")))
    view = {"contact_points": points, "route": normalise_policy(without_route_marker(route))}
    return hashlib.sha256(canonical(view).encode()).hexdigest()


def with_route_marker(route: dict[str, Any], contact_points: list[dict[str, Any]]) -> dict[str, Any]:
    """The route as we write it: its marker matcher set to the hash of what we send."""
    bare = without_route_marker(route)
    marker = [ROUTE_MARKER, "!=", routing_hash(bare, contact_points)]
    return {**bare, "object_matchers": [*bare["object_matchers"], marker]}


def routing_edited(route: dict[str, Any], contact_points: list[dict[str, Any]]) -> bool:
    """Our live route or one of our live contact points no longer matches the route's marker."""
    marker = route_marker(route)
    return bool(marker) and marker != routing_hash(route, contact_points)


def with_policy_route(tree: dict[str, Any], route: dict[str, Any], owner: str) -> dict[str, Any]:
    """The org's tree with our route in it: in its place, or first (it only matches our label, so no other
    team's alert is routed differently) when it is new. Everything else stays as it is."""
    routes = list(tree.get("routes") or [])
    index = policy_route_index(tree, owner)
    if index is None:
        routes.insert(0, route)
    else:
        routes[index] = route
    return {**{k: v for k, v in tree.items() if k != "provenance"}, "routes": routes}


JsonPath = tuple[str | int, ...]
CLOSERS = frozenset({"}", "},", "]", "],"})
HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
# The lists whose elements a reviewer knows by name: a dashboard's (and a row's) panels, a group's rules.
NAMED_ITEMS = {"panels": "panel", "rules": "rule"}


@dataclass
class _Container:
    path: JsonPath
    next_index: int | None  # None for an object, whose lines name their key


def _line_paths(lines: list[str]) -> list[JsonPath]:
    """The JSON path of every line of `json.dumps(indent=2)` output: one token per line (strings hold no
    raw newline), so a stack of the open containers knows where each line is; a closer is its container's."""
    paths: list[JsonPath] = []
    open_containers: list[_Container] = []
    for line in lines:
        token = line.strip()
        if token in CLOSERS:
            paths.append(open_containers.pop().path)
            continue
        parent = open_containers[-1] if open_containers else None
        if parent is None:
            path: JsonPath = ()
        elif parent.next_index is None:
            path = (*parent.path, json.JSONDecoder().raw_decode(token)[0])
        else:
            path = (*parent.path, parent.next_index)
            parent.next_index += 1
        paths.append(path)
        if token.endswith(("{", "[")):
            open_containers.append(_Container(path, 0 if token.endswith("[") else None))
    return paths


def _named_items(node: Any, path: JsonPath) -> str:
    """The panels (or rules) `path` lies in, innermost first: `panel "p99" (id 7) in row "Latency" (id 6)`."""
    names = []
    for parent_key, key in zip((None, *path), path, strict=False):
        node = node[key]
        if isinstance(key, int) and parent_key in NAMED_ITEMS and isinstance(node, dict):
            kind = "row" if node.get("type") == "row" else NAMED_ITEMS[str(parent_key)]
            ident = f"(id {node['id']})" if "id" in node else f"(uid {node.get('uid')})"
            names.append(f'{kind} "{node.get("title", "")}" {ident}')
    return " in ".join(reversed(names))


@dataclass(frozen=True)
class _Side:
    node: Any  # as shown: readable()
    lines: list[str]
    paths: list[JsonPath]

    @classmethod
    def of(cls, node: Any) -> _Side:
        shown = readable(node)
        lines = json.dumps(shown, indent=2, sort_keys=True).splitlines()
        return cls(shown, lines, _line_paths(lines))


def _labelled_hunks(diff: list[str], before: _Side, after: _Side) -> list[str]:
    """`diff` with each hunk header naming the panel (or rule) its first changed line is in."""
    labelled = list(diff)
    for at, header in enumerate(diff):
        found = HUNK_HEADER.match(header)
        if not found:
            continue
        index = {"-": int(found[1]) - 1, "+": int(found[2]) - 1}  # 0-based first line of each side
        for line in diff[at + 1 :]:
            if line[:1] in index:
                side = after if line[:1] == "+" else before
                name = _named_items(side.node, side.paths[index[line[:1]]])
                labelled[at] = f"{header} {name}" if name else header
                break
            index = {sign: i + 1 for sign, i in index.items()}  # a context line: on both sides
    return labelled


def _titled(label: str, node: Any, kind: str) -> str:
    title = node.get("title") if isinstance(node, dict) else None
    return f'{label}: {kind} "{title}"' if kind and title else label


def unified_diff(before: Any, after: Any, before_label: str, after_label: str, kind: str = "") -> str:
    """A unified diff of two objects' readable JSON. Line numbers alone do not tell a reviewer what changed:
    the file headers name the `kind` object's title, each hunk header the panel (or rule) it changes."""
    old, new = _Side.of(before), _Side.of(after)
    lines = difflib.unified_diff(
        old.lines,
        new.lines,
        _titled(before_label, before, kind),
        _titled(after_label, after, kind),
        lineterm="",
    )
    return "\n".join(_labelled_hunks(list(lines), old, new))
