"""Checks against the files a contributor edits next to a new alert rule: README.md and the rule cases.

- alert-runbook: a rule's runbook_url is `RUNBOOK_BASE_URL#<anchor>` (dashboards/core/alerting.py builds it
  from `runbook_anchor`), so README.md needs a heading under `## Runbooks` whose GitHub anchor is <anchor>.
  A runbook_url elsewhere is a page lint cannot read; alert-annotations only checks that it is a URL.
- alert-cases: every PromQL rule needs a `fires` and a `quiet` case in dashboards/alerts.cases.yaml, which
  `make alert-tests` runs with promtool; lint says what is missing without running anything. Cases for a uid
  that is no rule (a renamed rule) fail too, so they cannot silently stop proving anything.

Both files are read from the repository (scripts/common), unless `python -m scripts.lint` is told others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dashboards.core.conventions import RUNBOOK_BASE_URL
from scripts.common.alert_cases import CASES_PATH, Cases, load_cases, missing_cases
from scripts.common.paths import README_PATH, REPO_ROOT
from scripts.lint.alerts import alert_finding
from scripts.rendered.model import Finding, Json, alert_queries, iter_rules

RUNBOOKS_SECTION = "Runbooks"
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Guides:
    """What the rules are checked against: the README's runbook anchors and the alert rule cases."""

    readme: Path
    runbook_anchors: frozenset[str]
    cases_path: Path
    cases: Cases


def load_guides(readme: Path = README_PATH, cases: Path = CASES_PATH) -> Guides:
    anchors = frozenset(runbook_anchors(readme.read_text(encoding="utf-8")))
    return Guides(readme, anchors, cases, load_cases(cases))


def github_anchor(heading: str) -> str:
    """GitHub's id for a Markdown heading: lower-case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(markdown: str) -> Iterator[tuple[int, str]]:
    """(level, text) of every heading outside fenced code: a `# comment` in a code block is none."""
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            yield len(match.group(1)), match.group(2)


def runbook_anchors(markdown: str) -> set[str]:
    """The anchors of the headings inside `## Runbooks` (up to the next heading of level 1 or 2)."""
    anchors: set[str] = set()
    inside = False
    for level, text in headings(markdown):
        if level <= 2:
            inside = level == 2 and text == RUNBOOKS_SECTION
        elif inside:
            anchors.add(github_anchor(text))
    return anchors


def _shown(path: Path) -> str:
    """A path as the contributor opens it: relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def _runbook_heading(rule: Json, anchor: str) -> str:
    """The heading to write: the rule's title when its anchor is the one the rule points at."""
    title = str(rule.get("title") or "")
    return title if github_anchor(title) == anchor else anchor.replace("-", " ").capitalize()


def check_runbook(rule: Json, guides: Guides) -> Iterator[Finding]:
    page, _, anchor = str((rule.get("annotations") or {}).get("runbook_url") or "").partition("#")
    if page != RUNBOOK_BASE_URL or anchor in guides.runbook_anchors:
        return
    readme = _shown(guides.readme)
    yield alert_finding(
        rule,
        "alert-runbook",
        f"runbook_url points at {readme}#{anchor}, which has no section: add "
        f"`### {_runbook_heading(rule, anchor)}` under `## {RUNBOOKS_SECTION}` in {readme}",
    )


def check_cases(rule: Json, guides: Guides) -> Iterator[Finding]:
    """A PromQL rule can be run by promtool, so it must be shown both firing and staying quiet."""
    if not any(query.lang == "promql" for query in alert_queries(rule)):
        return
    uid = str(rule.get("uid") or "")
    for name in missing_cases(guides.cases, uid):
        yield alert_finding(
            rule,
            "alert-cases",
            f"no `{name}` case: add one under `{uid}:` in {_shown(guides.cases_path)} (see its header)",
        )


def check_stale_cases(uids: set[str], guides: Guides) -> Iterator[Finding]:
    cases = _shown(guides.cases_path)
    for uid in sorted(set(guides.cases) - uids):
        yield Finding(
            cases, "alert-cases", f"cases for `{uid}`, which is no alert rule: rename them to its new uid "
            "or remove them", dashboard_uid=cases, panel=uid,
        )  # fmt: skip


def lint_guides(groups: list[Json], guides: Guides) -> list[Finding]:
    rules = list(iter_rules(groups))
    findings = [f for rule in rules for check in (check_runbook, check_cases) for f in check(rule, guides)]
    return findings + list(check_stale_cases({str(rule.get("uid")) for rule in rules}, guides))
