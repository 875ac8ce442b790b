"""The desired state: what `make render` wrote under provisioning/grafana/, adapted to one target.

Adapting means:
- the managed folder of the target replaces the rendered folder uid; datasource uids are rewritten
  through the target's mapping (dashboards' datasource variables and `datasource` objects, alert queries'
  `datasourceUid`);
- the environment's `uid_suffix` lengthens every dashboard, rule and contact point uid (and the contact
  point's name, and every reference to them), its `title_suffix` every dashboard title, so that two
  environments in one Grafana never share an object; `webhook_url` replaces the contact point's URL;
- every alert rule carries the target's owner as its `managed_by` label, and the rendered notification
  policy becomes ONE route matching that label: the part of the org's tree publish manages;
- the `$ALERT_WEBHOOK_TOKEN` placeholder in contact points is replaced by that environment variable's
  value (which is never printed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboards.core.conventions import UID_PATTERN, WEBHOOK_TOKEN_PLACEHOLDER
from scripts.grafana.datasources import map_datasources
from scripts.grafana.errors import config_error
from scripts.grafana.target import Target
from scripts.publish.compare import OWNER_LABEL, owner_matcher, with_route_marker
from scripts.rendered.layout import DASHBOARDS_DIR, RULES_FILE, dashboard_source_key
from scripts.rendered.slug import slugify
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
    policy: dict[str, Any] | None  # our route of the org's policy tree (matching OWNER_LABEL = owner)
    owner: str
    embeds: list[dict[str, Any]]
    rule_sources: dict[str, str]  # rule uid -> definitions module, for rejection messages
    # dashboard uid (in this target) -> the module that defines it ("dashboards/chat_overview.py"): the
    # source path annotation, and where `python -m scripts.import` puts a UI edit
    dashboard_sources: dict[str, str] = field(default_factory=dict)


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


def _uid(uid: str, target: Target) -> str:
    """The uid in this target: the environment's suffix appended, still a uid Grafana accepts."""
    suffixed = uid + target.uid_suffix
    if not re.fullmatch(UID_PATTERN, suffixed):
        raise config_error(f"uid {suffixed!r} (with uid_suffix {target.uid_suffix!r}) is over 40 characters")
    return suffixed


def _dashboard(dashboard: dict[str, Any], target: Target) -> dict[str, Any]:
    adapted = map_datasources(dashboard, target.datasource_map)
    return {**adapted, "uid": _uid(adapted["uid"], target), "title": adapted["title"] + target.title_suffix}


def _rule(rule: dict[str, Any], group: str, dashboard_uids: set[str], target: Target) -> dict[str, Any]:
    annotations = dict(rule.get("annotations") or {})
    if annotations.get("__dashboardUid__") in dashboard_uids:  # a link to our dashboard follows its uid
        annotations["__dashboardUid__"] = _uid(annotations["__dashboardUid__"], target)
    return {
        **map_datasources(rule, target.datasource_map),
        "uid": _uid(str(rule.get("uid") or ""), target),
        "folderUID": target.folder_uid,
        "ruleGroup": group,
        "labels": {**(rule.get("labels") or {}), OWNER_LABEL: target.owner},
        "annotations": annotations,
    }


def _rule_group(group: Any, target: Target, path: Path, dashboard_uids: set[str]) -> dict[str, Any]:
    if not isinstance(group, dict) or not group.get("title") or not isinstance(group.get("rules"), list):
        raise config_error(f"{path}: every entry needs `title` and a `rules` list; run `make render`")
    return {
        "folderUid": target.folder_uid,
        "title": group["title"],
        "interval": group.get("interval"),
        "rules": [_rule(rule, group["title"], dashboard_uids, target) for rule in group["rules"]],
    }


def _contact_point(point: dict[str, Any], target: Target) -> dict[str, Any]:
    settings = dict(point.get("settings") or {})
    if target.webhook_url and point.get("type") == "webhook":
        settings["url"] = target.webhook_url
    return {
        **point,
        "uid": _uid(str(point.get("uid") or ""), target),
        "name": str(point.get("name") or "") + target.uid_suffix,
        "settings": settings,
    }


def _receivers_renamed(route: dict[str, Any], suffix: str) -> dict[str, Any]:
    renamed = {**route}
    if route.get("receiver"):
        renamed["receiver"] = route["receiver"] + suffix
    if route.get("routes"):
        renamed["routes"] = [_receivers_renamed(child, suffix) for child in route["routes"]]
    return renamed


def owned_route(
    policy: dict[str, Any], target: Target, contact_points: list[dict[str, Any]]
) -> dict[str, Any]:
    """The rendered policy tree as our route: its root's settings and children, for our alerts only,
    marked with the hash of itself and our contact points.

    The org's root (its default receiver and timings) belongs to the org, not to us: we only add a route
    that matches the label every rule we publish carries."""
    route = _receivers_renamed(policy, target.uid_suffix)
    route.pop("provenance", None)
    return with_route_marker({**route, "object_matchers": [owner_matcher(target.owner)]}, contact_points)


def _embed(embed: dict[str, Any], target: Target, titles: dict[str, str]) -> dict[str, Any]:
    uid = str(embed.get("dashboard_uid") or "")
    if uid not in titles or "path" not in embed:
        return embed
    ours, slug = _uid(uid, target), slugify(titles[uid])
    path = str(embed["path"]).replace(f"/d-solo/{uid}/{embed.get('slug', '')}", f"/d-solo/{ours}/{slug}", 1)
    return {**embed, "dashboard_uid": ours, "slug": slug, "path": path}


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
    for dashboard in tree.dashboards:
        if not dashboard.uid or not dashboard.data.get("title"):
            raise config_error(f"{dashboard.path}: a dashboard needs `uid` and `title`; run `make render`")
    dashboards = {_uid(d.uid, target): _dashboard(d.data, target) for d in tree.dashboards}
    rendered_uids = {d.uid for d in tree.dashboards}
    titles = {uid: dashboards[_uid(uid, target)]["title"] for uid in rendered_uids}
    rules_path = directory / RULES_FILE
    points = [
        _with_webhook_token(_contact_point(p, target), environ, require_secrets) for p in tree.contact_points
    ]
    return Desired(
        folder_uid=target.folder_uid,
        folder_title=target.folder_title,
        dashboards=dashboards,
        rule_groups=[_rule_group(g, target, rules_path, rendered_uids) for g in tree.rule_groups],
        contact_points=points,
        policy=owned_route(tree.policy, target, points) if tree.policy else None,
        owner=target.owner,
        embeds=[_embed(e, target, titles) for e in tree.embeds],
        rule_sources={_uid(uid, target): module for uid, module in tree.rule_sources.items()},
        dashboard_sources={
            _uid(d.uid, target): tree.sources[dashboard_source_key(d.uid)].rsplit(":", 1)[0]
            for d in tree.dashboards
            if dashboard_source_key(d.uid) in tree.sources
        },
    )
