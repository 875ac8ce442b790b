"""Where things are in this repository, for tools started from any working directory."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS_DIR = REPO_ROOT / "dashboards"  # the package of dashboard and alert modules
README_PATH = REPO_ROOT / "README.md"  # the runbooks every alert rule's runbook_url points into
