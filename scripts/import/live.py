"""Read one dashboard from a Grafana target, as the code for that target would have rendered it.

The environment's adaptations (scripts/publish/desired.py: uid and title suffixes, datasource uid mapping)
are undone, and publish's marker is dropped, so the module written is the one `make publish` adapts
back to exactly what Grafana holds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scripts.grafana.client import Grafana
from scripts.grafana.datasources import map_datasources
from scripts.grafana.marker import MARKER_KEY
from scripts.grafana.target import Target, load_target, request_timeout


def as_code_renders_it(dashboard: dict[str, Any], target: Target) -> dict[str, Any]:
    """The live dashboard without the target's adaptations and publish's marker."""
    body = {k: v for k, v in dashboard.items() if k != MARKER_KEY}
    body = map_datasources(body, {live: ours for ours, live in target.datasource_map.items()})
    uid, title = str(body.get("uid", "")), str(body.get("title", ""))
    if target.uid_suffix and uid.endswith(target.uid_suffix):
        body["uid"] = uid.removesuffix(target.uid_suffix)
    if target.title_suffix and title.endswith(target.title_suffix):
        body["title"] = title.removesuffix(target.title_suffix)
    return body


def read_live(uid: str, env_name: str | None, env_file: Path) -> dict[str, Any]:
    """The dashboard `uid` from the target of `--env` (or GRAFANA_*), as its code renders it."""
    target = load_target(env_name, env_file)
    grafana = Grafana(target, timeout_s=request_timeout(os.environ))
    found = grafana.call(f"dashboard {uid}", lambda api: api.dashboard.get_dashboard(uid))
    return as_code_renders_it(found["dashboard"], target)
