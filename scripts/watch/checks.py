"""Lint for the watcher: the fast checks on every save, the query checks (node + promtool) once saves pause.

The query checks spawn two processes and take about a second, so they run in the background after a quiet
period, on the newest render, and report in a line of their own; a save meanwhile postpones them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from scripts.common.tools import ToolMissingError
from scripts.lint.cli import query_lint
from scripts.lint.dashboards import structure_findings
from scripts.rendered.model import Finding
from scripts.rendered.tree import RenderedTree, load_tree

QUIET_S = 2.0  # after the last save: an author typing away does not pay for node and promtool each time


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == "fail"]


def summary(findings: list[Finding]) -> str:
    """ "0 findings", or the count and the first one, as the author would open it."""
    failed = failures(findings)
    if not failed:
        return "0 findings"
    first, plural = failed[0], "s" * (len(failed) > 1)
    return f"{len(failed)} finding{plural}, first {first.source or first.where} {first.rule}: {first.message}"


def unpublishable(tree: RenderedTree) -> dict[str, str]:
    """Rendered uid -> the first structure finding, for dashboards that must not be published."""
    broken = {}
    for dashboard in tree.dashboards:
        found = structure_findings(dashboard)
        if found:
            broken[dashboard.uid] = f"{found[0].rule}: {found[0].message}"
    return broken


class QueryChecks:
    """Runs query_lint on `rendered` once no save came for QUIET_S; `report` gets the line."""

    def __init__(self, rendered: Path, report: Callable[[str], None], quiet_s: float = QUIET_S) -> None:
        self.rendered = rendered
        self.report = report
        self.quiet_s = quiet_s
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def schedule(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.quiet_s, self._run)
            self._timer.daemon = True
            self._timer.start()

    def _run(self) -> None:
        try:
            self.report(f"queries (node, promtool): {summary(query_lint(load_tree(self.rendered)))}")
        except ToolMissingError as error:
            self.report(f"queries not checked: {error}")

    def stop(self) -> None:
        """Cancel a pending check and wait for a running one, so no node or promtool outlives the watcher."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            timer.join()
