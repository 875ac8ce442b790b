"""The desired state: what `make render` wrote under provisioning/grafana/, adapted to one target.

Adapting means: the managed folder of the target replaces the rendered folder uid, datasource uids are
rewritten through the target's mapping (dashboards' datasource variables and `datasource` objects,
alert queries' `datasourceUid`), and the `$ALERT_WEBHOOK_TOKEN` placeholder in contact points is
replaced by that environment variable's value (which is never printed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.grafana_conn import EXIT_CONFIG, PublishError, Target

WEBHOOK_TOKEN_VAR = "ALERT_WEBHOOK_TOKEN"
WEBHOOK_TOKEN_PLACEHOLDERS = (f"${{{WEBHOOK_TOKEN_VAR}}}", f"${WEBHOOK_TOKEN_VAR}")


@dataclass(frozen=True)
class Desired:
    folder_uid: str
    folder_title: str
    dashboards: dict[str, dict[str, Any]]  # uid -> dashboard JSON
    rule_groups: list[dict[str, Any]]  # {"folderUid", "title", "interval", "rules"}
    contact_points: list[dict[str, Any]]
    policy: dict[str, Any] | None
    embeds: list[dict[str, Any]]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PublishError(f"cannot read {path}: {exc.strerror}", EXIT_CONFIG) from exc
    except ValueError as exc:
        raise PublishError(f"{path} is not valid JSON ({exc}); run `make render` again", EXIT_CONFIG) from exc


def _optional_json(path: Path, default: Any) -> Any:
    return _read_json(path) if path.exists() else default


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
        raise PublishError(
            f"contact point {point.get('name')!r} needs the webhook token: export {WEBHOOK_TOKEN_VAR} "
            "(the same value the app uses)",
            EXIT_CONFIG,
        )
    return {**point, "settings": {**settings, **dict.fromkeys(placeholders, token)}}


def _rule_group(group: Any, target: Target, path: Path) -> dict[str, Any]:
    if not isinstance(group, dict) or not group.get("title") or not isinstance(group.get("rules"), list):
        raise PublishError(
            f"{path}: every entry needs `title` and a `rules` list; run `make render`", EXIT_CONFIG
        )
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
    dashboard_dir = directory / "dashboards"
    if not dashboard_dir.is_dir():
        raise PublishError(f"no rendered dashboards in {dashboard_dir}: run `make render` first", EXIT_CONFIG)
    dashboards: dict[str, dict[str, Any]] = {}
    for path in sorted(dashboard_dir.glob("*.json")):
        dashboard = _read_json(path)
        if not isinstance(dashboard, dict) or not dashboard.get("uid") or not dashboard.get("title"):
            raise PublishError(f"{path}: a dashboard needs `uid` and `title`; run `make render`", EXIT_CONFIG)
        dashboards[dashboard["uid"]] = map_datasources(dashboard, target.datasource_map)
    alerting = directory / "alerting"
    rules_path = alerting / "rules.json"
    groups = [_rule_group(g, target, rules_path) for g in _optional_json(rules_path, [])]
    points = [
        _with_webhook_token(p, environ, require_secrets)
        for p in _optional_json(alerting / "contact-points.json", [])
    ]
    return Desired(
        folder_uid=target.folder_uid,
        folder_title=target.folder_title,
        dashboards=dashboards,
        rule_groups=groups,
        contact_points=points,
        policy=_optional_json(alerting / "policies.json", None),
        embeds=_optional_json(directory / "embeds.json", []),
    )
