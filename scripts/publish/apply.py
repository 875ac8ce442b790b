"""Apply a plan: write what changed, in an order that never references something missing.

Stages (kinds.py) run one after another; the writes inside a stage run concurrently on a bounded pool:
folder -> contact points -> notification policy (routes to them) -> dashboards -> rule groups (in the
folder, linking to dashboards) -> pruned alert rules -> pruned dashboards. When a stage has a failure
the later stages are skipped, so e.g. a policy is never written when its contact point failed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from scripts.common.exits import ExitCode
from scripts.grafana.errors import PublishError
from scripts.publish.kinds import STAGE_COUNT, stage_of, write
from scripts.publish.model import Change, Plan
from scripts.publish.writers import Writer

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Outcome:
    change: Change
    status: str
    error: str = ""
    url: str = ""
    exit_code: int = ExitCode.OK  # a failed write's own code (a 403 is configuration, as in the plan)


def apply_plan(
    writer: Writer,
    plan: Plan,
    pool: ThreadPoolExecutor,
    force: bool,
    progress: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    """Run the plan's writes stage by stage; stop after a stage with failures (later ones: skipped)."""
    writes = sorted(plan.writes(force), key=stage_of)
    outcomes: list[Outcome] = []
    done = 0

    def run(change: Change) -> Outcome:
        try:
            return Outcome(change, OK, url=write(writer, change))
        except PublishError as error:
            return Outcome(change, FAILED, error=str(error), exit_code=error.exit_code)

    for stage in range(STAGE_COUNT):
        batch = [c for c in writes if stage_of(c) == stage]
        for outcome in pool.map(run, batch):
            outcomes.append(outcome)
            done += 1
            if progress is not None:
                progress(done, len(writes))
        if any(o.status == FAILED for o in outcomes):
            later = [c for c in writes if stage_of(c) > stage]
            outcomes += [Outcome(c, SKIPPED, error="an earlier step failed") for c in later]
            break
    return outcomes
