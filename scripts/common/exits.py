"""The exit codes of every CLI in scripts/ (and so of every Makefile target that runs one)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # checks failed, files stale, a write rejected, Grafana unreachable
    CONFIG = 2  # the tool cannot run: bad arguments or settings, missing files or programs, 401/403
    DRIFT = 3  # publish refused to overwrite an object edited in Grafana (--force) or someone else's
    # `publish --plan --detailed-exitcode` only (as Terraform's plan): the plan would write something.
    # Every error then exits FAILED, so 2 means "changes pending" and nothing else.
    CHANGES_PENDING = 2
