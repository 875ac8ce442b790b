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


def _git(repo: Path, *args: str) -> str | None:
    """git's output, or None outside a checkout (or without git)."""
    try:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def current_revision(repo: Path = REPO_ROOT) -> Revision:
    """`git log -1` of the checkout, `+dirty` when tracked files differ from it (the published files may
    then be no commit's); outside git (or without git) a plain message."""
    out = _git(repo, "log", "-1", "--format=%h%x00%s") or ""
    if "\0" not in out:
        return Revision("", "published by scripts.publish (no git commit available)")
    commit, subject = out.split("\0", 1)
    if _git(repo, "status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return Revision(commit, f"publish {commit}: {subject}"[:MAX_MESSAGE])
