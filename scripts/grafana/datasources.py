"""A target's datasource mapping applied to a dashboard or rule: our uids to the target's, or back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def map_datasources(node: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of `node` with datasource uids rewritten through `mapping` (no-op for an empty mapping)."""
    if not mapping:
        return node
    if isinstance(node, list):
        return [map_datasources(item, mapping) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: map_datasources(value, mapping) for key, value in node.items()}
    datasource = out.get("datasource")
    if isinstance(datasource, dict) and datasource.get("uid") in mapping:
        out["datasource"] = {**datasource, "uid": mapping[datasource["uid"]]}
    if out.get("datasourceUid") in mapping:
        out["datasourceUid"] = mapping[out["datasourceUid"]]
    current = out.get("current")
    if out.get("type") == "datasource" and isinstance(current, dict) and current.get("value") in mapping:
        out["current"] = {"text": mapping[current["value"]], "value": mapping[current["value"]]}
    return out
