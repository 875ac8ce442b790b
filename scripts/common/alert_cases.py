"""The hand-written alert rule cases (dashboards/alerts.cases.yaml): lint requires them, verify runs them.

The file maps a rule uid to named cases; every PromQL rule needs at least the two in REQUIRED_CASES, so
each alert is proven both to fire when it must and to stay quiet otherwise. It sits beside alerts.py, the
module whose rules it proves, so an author edits the rule and its cases side by side; one file, not one per
module, because lint and verify read the rendered rules.json, which is keyed by uid and names no module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scripts.common.paths import DEFINITIONS_DIR

CASES_PATH = DEFINITIONS_DIR / "alerts.cases.yaml"
REQUIRED_CASES = ("fires", "quiet")

Cases = dict[str, Any]  # rule uid -> {case name: case}


def load_cases(path: Path = CASES_PATH) -> Cases:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def missing_cases(cases: Cases, uid: str) -> list[str]:
    """The required cases rule `uid` lacks, in REQUIRED_CASES order."""
    present = cases.get(uid) or {}
    return [name for name in REQUIRED_CASES if name not in present]
