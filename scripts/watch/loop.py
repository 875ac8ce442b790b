"""One save, start to end: render what it changed, lint, publish to the preview, and say so in one line.

    12:01:02 chat_overview.py: dashboard chat-overview-pv-alice updated (lint: 0 findings)
             http://127.0.0.1:3000/d/chat-overview-pv-alice/... in 0.31 s          (on one line)
    12:01:05 dashboards/chat_overview.py:14: NameError: name 'x' is not defined (waiting for the next save)

The author's mistakes (a syntax error, an exception at import, a render error, a Grafana refusal) are
lines too: the watcher reports them and waits for the next save.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dashboards.core.validate import DefinitionError
from scripts.grafana.errors import PublishError
from scripts.lint.cli import fast_lint
from scripts.lint.contributing import Guides
from scripts.publish.apply import OK, Outcome
from scripts.publish.model import Action, Kind, Plan
from scripts.render.cli import write_files
from scripts.rendered.tree import load_tree
from scripts.watch.checks import QueryChecks, summary, unpublishable
from scripts.watch.publishing import Preview
from scripts.watch.rerender import Affected, Renderer

WAITING = "(waiting for the next save)"


def clock() -> str:
    return time.strftime("%H:%M:%S")


def described(plan: Plan, outcomes: list[Outcome], public_url: str) -> tuple[list[str], list[str]]:
    """ "dashboard x-pv-alice updated" per changed object in the plan (the folder aside), and the URLs of
    the dashboards written."""
    written = {(o.change.kind, o.change.key): o for o in outcomes}
    parts, urls = [], []
    for change in plan.changes:
        outcome = written.get((change.kind, change.key))
        if change.kind == Kind.FOLDER:
            continue
        if outcome is None:
            unchanged = change.action == Action.UNCHANGED
            verb = "unchanged" if unchanged else f"not written ({change.action}: {change.reason})"
        elif outcome.status != OK:
            verb = f"{outcome.status}: {outcome.error}"
        else:
            verb = "created" if change.action == Action.CREATE else "updated"
            urls += [public_url.rstrip("/") + outcome.url] if outcome.url else []
        parts.append(f"{change.label} {verb}")
    return parts, urls


@dataclass
class Session:
    renderer: Renderer
    rendered: Path  # where the watcher's render goes (never provisioning/grafana: that is `make render`'s)
    guides: Guides
    preview: Preview
    queries: QueryChecks
    say: Callable[[str], None]

    def handle(self, label: str, changed_modules: Iterable[str], saved_at: float) -> None:
        """Process one (debounced) save; never raises for the author's mistakes or Grafana's answers."""
        try:
            line = self._publish(changed_modules)
        except DefinitionError as error:
            self.say(f"{clock()} {error} {WAITING}")
            return
        except PublishError as error:
            self.say(f"{clock()} {label}: publish: {error} {WAITING}")
            return
        self.say(f"{clock()} {label}: {line} in {time.time() - saved_at:.2f} s")
        self.queries.schedule()

    def _publish(self, changed_modules: Iterable[str]) -> str:
        files, changes = self.renderer.render(changed_modules)
        write_files(files, self.rendered)
        tree = load_tree(self.rendered)
        lint = f"(lint: {summary(fast_lint(tree, self.guides))})"
        if not changes:
            return f"no rendered object changed {lint}"
        broken = unpublishable(tree)
        publishable = Affected([u for u in changes.dashboards if u not in broken], changes.rule_groups)
        refused = [
            f"dashboard {uid} not published ({why})"
            for uid, why in broken.items()
            if uid in changes.dashboards
        ]
        plan, outcomes = self.preview.publish(self.rendered, publishable)
        parts, urls = described(plan, outcomes, self.preview.target.public_url)
        return " ".join([", ".join([*refused, *parts]), lint, *urls])
