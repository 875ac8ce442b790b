"""The dashboard as Grafana stores it after a save from its UI: what the import reproduces in code.

- `id` and `version` are Grafana's bookkeeping (publish ignores them too), and an export's `__inputs`,
  `__requires` and `__elements` are consumed by Grafana's import: none of them is part of the dashboard.
  An export whose panels still use an `${DS_...}` input is refused: only Grafana's import resolves it.
- Old schema versions are migrated as Grafana's DashboardMigrator does (migrate.py).
- The save model's defaults: `fiscalYearStartMonth: 0` and `weekStart: ""` when missing, and panel keys
  at their defaults dropped (grafana/grafana: PanelModel.getSaveModel; dashboards/core/panels.py
  PANEL_DEFAULTS).
A dashboard read from Grafana (`--uid`) is already stored: it is taken as it is (`stored=True`), so the
code renders exactly what Grafana holds and the next publish finds nothing to write, whoever saved it how.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dashboards.core.dashboard import SAVE_MODEL_DEFAULTS
from dashboards.core.panels import PANEL_DEFAULTS

from .build import ImportRefused, Notes
from .migrate import migrate

BOOKKEEPING_KEYS = ("id", "version")
EXPORT_KEYS = ("__inputs", "__requires", "__elements")
INPUT_PLACEHOLDER = re.compile(r"\$\{(DS_[A-Z0-9_]+)\}")


def _without_default_keys(panel: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in panel.items() if PANEL_DEFAULTS.get(k, object()) != v}
    if isinstance(kept.get("panels"), list):
        kept["panels"] = [_without_default_keys(p) if isinstance(p, dict) else p for p in kept["panels"]]
    return kept


def saved_form(dashboard: dict[str, Any], notes: Notes, stored: bool = False) -> dict[str, Any]:
    """The normalised dashboard (a new object; the input is not changed); `stored`: read from Grafana."""
    if not isinstance(dashboard, dict) or not isinstance(dashboard.get("title"), str):
        raise ImportRefused("not a dashboard: a JSON object with a title is expected")
    body = {k: v for k, v in dashboard.items() if k not in BOOKKEEPING_KEYS + EXPORT_KEYS}
    placeholder = INPUT_PLACEHOLDER.search(json.dumps(body))
    if placeholder:
        raise ImportRefused(
            f"uses the export input ${{{placeholder[1]}}}: import it into Grafana first (it resolves "
            "inputs), then run the import with --uid"
        )
    elements = dashboard.get("__elements")
    if elements:
        names = (
            ", ".join(sorted(str(e.get("name", k)) for k, e in elements.items()))
            if isinstance(elements, dict)
            else "?"
        )
        notes.add(
            "dashboard", f"library panel models in __elements are not carried (Grafana keeps them): {names}"
        )
    body = migrate(body, notes)
    if stored:
        return body
    for key, value in SAVE_MODEL_DEFAULTS.items():
        body.setdefault(key, value)
    if isinstance(body.get("panels"), list):
        body["panels"] = [_without_default_keys(p) if isinstance(p, dict) else p for p in body["panels"]]
    return body
