"""The desired state: what `make render` wrote under provisioning/grafana/, adapted to one target.

Adapting means: the managed folder of the target replaces the rendered folder uid, datasource uids are
rewritten through the target's mapping (dashboards' datasource variables and `datasource` objects,
alert queries' `datasourceUid`), and the `$ALERT_WEBHOOK_TOKEN` placeholder in contact points is
replaced by that environment variable's value (which is never printed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboards.core.conventions import WEBHOOK_TOKEN_PLACEHOLDER
from scripts.publish.errors import config_error
from scripts.publish.target import Target
from scripts.rendered.layout import DASHBOARDS_DIR, RULES_FILE
from scripts.rendered.tree import load_tree

WEBHOOK_TOKEN_VAR = WEBHOOK_TOKEN_PLACEHOLDER.removeprefix("$")
# Grafana's file provisioning expands both spellings, so both are accepted here too.
WEBHOOK_TOKEN_PLACEHOLDERS = (f"${{{WEBHOOK_TOKEN_VAR}}}", WEBHOOK_TOKEN_PLACEHOLDER)


@dataclass(frozen=True)
class Desired:
    folder_uid: str
    folder_title: str
    dashboards: dict[str, dict[str, Any]]  # uid -> dashboard JSON
    rule_groups: list[dict[str, Any]]  # {"folderUid", "title", "interval", "rules"}
    contact_points: list[dict[str, Any]]
    policy: dict[str, Any] | None
    embeds: list[dict[str, Any]]
    rule_sources: dict[str, str]  # rule uid -> definitions module, for rejection messages


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


def _with_webhook_token(
    point: dict[str, Any], environ: Mapping[str, str], require_secrets: bool
) -> dict[str, Any]:
    settings = point.get("settings") or {}
    placeholders = [k for k, v in settings.items() if v in WEBHOOK_TOKEN_PLACEHOLDERS]
    if not placeholders:
        return point
    token = environ.get(WEBHOOK_TOKEN_VAR, "")
    if not token and not require_secrets:
        # A plan compares secrets as "<secret>" on both sides (Grafana only shows "[REDACTED]"), so the
        # placeholder does: `make diff` in a pull request needs no webhook token.
        return point
    if not token:
        raise config_error(
            f"contact point {point.get('name')!r} needs the webhook token: export {WEBHOOK_TOKEN_VAR} "
            "(the same value the app uses)"
        )
    return {**point, "settings": {**settings, **dict.fromkeys(placeholders, token)}}


def _rule_group(group: Any, target: Target, path: Path) -> dict[str, Any]:
    if not isinstance(group, dict) or not group.get("title") or not isinstance(group.get("rules"), list):
        raise config_error(f"{path}: every entry needs `title` and a `rules` list; run `make render`")
    rules = [
        {
            **map_datasources(rule, target.datasource_map),
            "folderUID": target.folder_uid,
            "ruleGroup": group["title"],
        }
        for rule in group["rules"]
    ]
    return {
        "folderUid": target.folder_uid,
        "title": group["title"],
        "interval": group.get("interval"),
        "rules": rules,
    }


def load_desired(
    directory: Path, target: Target, environ: Mapping[str, str] = os.environ, require_secrets: bool = True
) -> Desired:
    """Read the rendered files in `directory` and adapt them to `target`.

    `require_secrets=False` (plan only) leaves a secret placeholder in place when its variable is unset.
    """
    tree = load_tree(directory)
    if tree.problems:
        first = tree.problems[0]
        raise config_error(f"{first.where}: {first.message}")
    if not tree.dashboards:
        raise config_error(f"no rendered dashboards in {directory / DASHBOARDS_DIR}: run `make render` first")
    dashboards: dict[str, dict[str, Any]] = {}
    for dashboard in tree.dashboards:
        if not dashboard.uid or not dashboard.data.get("title"):
            raise config_error(f"{dashboard.path}: a dashboard needs `uid` and `title`; run `make render`")
        dashboards[dashboard.uid] = map_datasources(dashboard.data, target.datasource_map)
    rules_path = directory / RULES_FILE
    return Desired(
        folder_uid=target.folder_uid,
        folder_title=target.folder_title,
        dashboards=dashboards,
        rule_groups=[_rule_group(g, target, rules_path) for g in tree.rule_groups],
        contact_points=[_with_webhook_token(p, environ, require_secrets) for p in tree.contact_points],
        policy=tree.policy,
        embeds=tree.embeds,
        rule_sources=tree.rule_sources,
    )
