"""What a publish is made from: the commit, for version messages and the dashboard marker."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from scripts.common.paths import REPO_ROOT

MAX_MESSAGE = 500  # Grafana rejects longer version messages


@dataclass(frozen=True)
class Revision:
    """The commit (short hash) and the version message that names it."""

    commit: str
    message: str


def current_revision(repo: Path = REPO_ROOT) -> Revision:
    """`git log -1` of the checkout; outside git (or without git) a plain message."""
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%h%x00%s"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    if "\0" not in out:
        return Revision("", "published by scripts.publish (no git commit available)")
    commit, subject = out.split("\0", 1)
    return Revision(commit, f"publish {commit}: {subject}"[:MAX_MESSAGE])
