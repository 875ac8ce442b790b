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
from typing import Any

from dashboards.core.conventions import parse_duration

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
