"""The hand-written alert rule cases (tests/alert_rule_cases.yaml): lint requires them, verify runs them.

The file maps a rule uid to named cases; every PromQL rule needs at least the two in REQUIRED_CASES, so
each alert is proven both to fire when it must and to stay quiet otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scripts.common.paths import REPO_ROOT

CASES_PATH = REPO_ROOT / "tests" / "alert_rule_cases.yaml"
REQUIRED_CASES = ("fires", "quiet")

Cases = dict[str, Any]  # rule uid -> {case name: case}


def load_cases(path: Path = CASES_PATH) -> Cases:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def missing_cases(cases: Cases, uid: str) -> list[str]:
    """The required cases rule `uid` lacks, in REQUIRED_CASES order."""
    present = cases.get(uid) or {}
    return [name for name in REQUIRED_CASES if name not in present]
