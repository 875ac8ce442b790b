"""Go's encoding/json rules for request bodies (golang/go: src/encoding/json/decode.go).

Grafana binds bodies into typed Go structs with `web.Bind`: a JSON value of the wrong type for a known
field (a number for a string, "true" for a bool, 60.5 for an int64, a number inside a map[string]string)
fails the whole decode, and the handler answers 400 "bad request data". Unknown fields are ignored and
missing or null ones get the zero value, exactly as here. Each schema below lists the fields of one Go
struct with a check for its JSON type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]


def is_str(value: Any) -> bool:
    return isinstance(value, str)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_int(value: Any) -> bool:
    """int64: a JSON number without fraction or exponent (Python's json gives int exactly then)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


def is_list(value: Any) -> bool:
    return isinstance(value, list)


def is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def decodes(value: Any, schema: Mapping[str, Check]) -> bool:
    """True when `value` is a JSON object whose known fields all have the Go type (null = zero value)."""
    if not isinstance(value, dict):
        return False
    return all(value[name] is None or check(value[name]) for name, check in schema.items() if name in value)


def string_field(value: Mapping[str, Any], name: str) -> str:
    """simplejson's MustString: the string at `name`, or "" for anything else (dashboard JSON is untyped)."""
    field = value.get(name)
    return field if isinstance(field, str) else ""


# POST /api/dashboards/db (dashboards.SaveDashboardCommand); `dashboard` itself is untyped simplejson.
SAVE_DASHBOARD = {
    "dashboard": is_object,
    "folderUid": is_str,
    "folderId": is_int,
    "overwrite": is_bool,
    "message": is_str,
    "isFolder": is_bool,
}
RESTORE_VERSION = {"version": is_int}
CREATE_FOLDER = {"uid": is_str, "title": is_str, "description": is_str, "parentUid": is_str}
UPDATE_FOLDER = {
    "uid": is_str,
    "title": is_str,
    "description": is_str,
    "version": is_int,
    "overwrite": is_bool,
}

# definitions.ProvisionedAlertRule and AlertQuery; `for`/`keep_firing_for` are model.Duration strings,
# relativeTimeRange from/to are seconds as JSON numbers.
RELATIVE_TIME_RANGE = {"from": is_number, "to": is_number}
ALERT_QUERY = {
    "refId": is_str,
    "queryType": is_str,
    "relativeTimeRange": lambda v: decodes(v, RELATIVE_TIME_RANGE),
    "datasourceUid": is_str,
}
PROVISIONED_ALERT_RULE = {
    "id": is_int,
    "uid": is_str,
    "orgID": is_int,
    "folderUID": is_str,
    "ruleGroup": is_str,
    "title": is_str,
    "condition": is_str,
    "data": lambda v: is_list(v) and all(decodes(q, ALERT_QUERY) for q in v),
    "updated": is_str,
    "noDataState": is_str,
    "execErrState": is_str,
    "for": is_str,
    "keep_firing_for": is_str,
    "annotations": is_str_map,
    "labels": is_str_map,
    "provenance": is_str,
    "isPaused": is_bool,
    "notification_settings": is_object,
    "record": is_object,
    "missingSeriesEvalsToResolve": is_int,
}
ALERT_RULE_GROUP = {"title": is_str, "folderUid": is_str, "interval": is_int, "rules": is_list}
EMBEDDED_CONTACT_POINT = {
    "uid": is_str,
    "name": is_str,
    "type": is_str,
    "settings": is_object,
    "disableResolveMessage": is_bool,
    "provenance": is_str,
}
MATCH_OPERATORS = ("=", "!=", "=~", "!~")


def _object_matchers(value: Any) -> bool:
    """ObjectMatchers.UnmarshalJSON: a list of [name, operator, value] string triples."""
    return isinstance(value, list) and all(
        is_str_list(m) and len(m) == 3 and m[1] in MATCH_OPERATORS for m in value
    )


ROUTE = {
    "receiver": is_str,
    "group_by": is_str_list,
    "continue": is_bool,
    "object_matchers": _object_matchers,
    "matchers": is_str_list,
    "mute_time_intervals": is_str_list,
    "active_time_intervals": is_str_list,
    "group_wait": is_str,
    "group_interval": is_str,
    "repeat_interval": is_str,
    "provenance": is_str,
    "routes": lambda v: is_list(v) and all(decodes(child, ROUTE) for child in v),
}
