"""Turn grafanalib object trees into plain, null-free JSON data.

grafanalib fills every optional field with `null` and leaves legacy keys behind. Grafana treats a missing
key and a `null` one the same way, so we drop the nulls: the rendered files stay small and diffs show
only what an author actually set.
"""

from __future__ import annotations

from typing import Any


def plain_json(value: Any) -> Any:
    """Recursively serialise `to_json_data()` objects and drop every `None` value from mappings.

    Objects that render exactly (dashboards/core/exact.py: `renders_exactly`) are the exception: their
    JSON is what an imported dashboard holds, nulls included, and is kept as it is."""
    if getattr(value, "renders_exactly", False):
        return value.to_json_data()
    to_json_data = getattr(value, "to_json_data", None)
    if to_json_data is not None:
        return plain_json(to_json_data())
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    return value


def keep_keys(data: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """Only the listed top-level keys of `data`: drops grafanalib's legacy keys Grafana no longer reads."""
    return {key: item for key, item in data.items() if key in keys}


def merged(data: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`data` with `extra` laid over it: mappings in both are merged key by key, any other value replaces."""
    result = dict(data)
    for key, item in extra.items():
        current = result.get(key)
        result[key] = merged(current, item) if isinstance(current, dict) and isinstance(item, dict) else item
    return result
