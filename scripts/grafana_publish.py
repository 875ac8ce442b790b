"""Apply a plan: write what changed, in an order that never references something missing.

Stages run one after another; the writes inside a stage run concurrently on a bounded pool:
folder -> contact points -> notification policy (routes to them) -> dashboards -> rule groups (in the
folder, linking to dashboards) -> pruned alert rules -> pruned dashboards. When a stage has a failure
the later stages are skipped, so e.g. a policy is never written when its contact point failed.

Dashboards are saved with `overwrite: false` and the live version we planned against: if someone saves
the dashboard between plan and write, Grafana answers 412 and we report it instead of losing the edit.

Retries repeat requests whose answer was lost, so a write may already have been applied when it is
repeated. Whenever Grafana then refuses it (412 for a dashboard, "already exists" for a folder or contact
point, 404 for a delete) the object is read back, and if it is already exactly what we wanted the write
counts as done.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.grafana_conn import Grafana, PublishError, is_not_found
from scripts.grafana_plan import (
    CREATE,
    MARKER_KEY,
    Change,
    Plan,
    content_hash,
    normalise_contact_point,
)
from scripts.procs import REPO_ROOT

MAX_MESSAGE = 500  # Grafana rejects longer version messages
DEFINITIONS = REPO_ROOT / "dashboards"
# How a create of a used uid is refused: folders 409 (v11.3+) or 412 (v10), contact points 400 ("invalid
# object specification") or 409 in newer releases. The read-back decides, so a broad set is harmless.
TAKEN_STATUSES = (400, 409, 412)
STAGES = (
    ("folder", False),
    ("contact-point", False),
    ("policy", False),
    ("dashboard", False),
    ("rule-group", False),
    ("alert-rule", True),
    ("dashboard", True),
)
OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Outcome:
    change: Change
    status: str
    error: str = ""
    url: str = ""


@dataclass(frozen=True)
class Revision:
    """What the publish is made from: the commit, for version messages and the dashboard marker."""

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


# ---- alert validation messages ----------------------------------------------------------------------------
_RULE_HINTS: tuple[tuple[str, Callable[[dict[str, Any], str], bool]], ...] = (
    (r"unknown NoData state option (\S*)", lambda rule, value: str(rule.get("noDataState") or "") == value),
    (r"unknown Error state option (\S*)", lambda rule, value: str(rule.get("execErrState") or "") == value),
    (r"title is empty", lambda rule, _: not rule.get("title")),
    (r"no queries or expressions", lambda rule, _: not rule.get("data")),
    (
        r"Panel ID without a Dashboard UID",
        lambda rule, _: not (rule.get("annotations") or {}).get("__dashboardUid__"),
    ),
)


def failing_rules(message: str, rules: list[dict[str, Any]]) -> list[str]:
    """Which of our rules a group-level validation message is about (Grafana does not always name it)."""
    named = [
        str(r["uid"])
        for r in rules
        if r.get("uid") and (f"'{r['uid']}'" in message or (r.get("title") or "\0") in message)
    ]
    if named:
        return named
    for pattern, matches in _RULE_HINTS:
        found = re.search(pattern, message)
        if found:
            value = found.group(1) if found.groups() else ""
            return [str(r.get("uid")) for r in rules if matches(r, value)]
    return [str(r.get("uid")) for r in rules] if len(rules) == 1 else []


def rule_modules(definitions: Path = DEFINITIONS) -> dict[str, str]:
    """Rule uid -> the file of the definitions module that declares it (for error messages); {} when the
    definitions cannot be loaded."""
    # Imported here: loading the definitions costs startup time and is only needed on this error path.
    from dashboards.core.validate import DefinitionError
    from scripts.render_discover import discover

    try:
        found = discover(definitions).rule_groups
    except (DefinitionError, ImportError, OSError):
        return {}
    return {rule.uid: item.module.replace(".", "/") + ".py" for item in found for rule in item.obj.rules}


def _rule_names(uids: list[str]) -> str:
    modules = rule_modules()
    return ", ".join(f"{uid} ({modules[uid]})" if uid in modules else uid for uid in uids)


def _explain_rule_group(error: PublishError, group: dict[str, Any]) -> PublishError:
    if error.status != 400 or not isinstance(error.body, dict):
        return error  # not a validation answer (e.g. the folder is missing): already explained
    message = str(error.body.get("message", "")).replace("\n", ": ")
    suspects = failing_rules(message, group["rules"])
    which = f"rule uid {_rule_names(suspects)}" if suspects else "one of its rules"
    return PublishError(
        f"rule group {group['title']!r} ({which}): Grafana rejected it: {message}", status=400
    )


# ---- writers ---------------------------------------------------------------------------------------------
class Publisher:
    def __init__(self, grafana: Grafana, folder_uid: str, revision: Revision) -> None:
        self.grafana = grafana
        self.folder_uid = folder_uid
        self.revision = revision

    def write(self, change: Change) -> str:
        """Apply one change; return the object's URL path when it has one."""
        writer: Callable[[Change], str] = {
            "folder": self._folder,
            "contact-point": self._contact_point,
            "policy": self._policy,
            "dashboard": self._dashboard,
            "rule-group": self._rule_group,
            "alert-rule": self._alert_rule,
        }[change.kind]
        return writer(change)

    def _folder(self, change: Change) -> str:
        title, uid = change.desired["title"], change.desired["uid"]
        if change.action == CREATE:
            try:
                answer = self.grafana.call(change.label, lambda api: api.folder.create_folder(title, uid=uid))
            except PublishError as error:
                answer = self._read_back_if_taken(error, change.label, lambda api: api.folder.get_folder(uid))
                if answer.get("title") != title:
                    raise
        else:
            answer = self.grafana.call(
                change.label, lambda api: api.folder.update_folder(uid, title=title, version=change.version)
            )
        return str(answer.get("url", ""))

    def _contact_point(self, change: Change) -> str:
        point = change.desired
        if change.action == CREATE:
            try:
                self.grafana.call(
                    change.label, lambda api: api.alertingprovisioning.create_contactpoint(point)
                )
            except PublishError as error:
                points = self._read_back_if_taken(
                    error, change.label, lambda api: api.alertingprovisioning.get_contactpoints()
                )
                live = next((p for p in points if p.get("uid") == point.get("uid")), None)
                if live is None or normalise_contact_point(live) != normalise_contact_point(point):
                    raise
        else:
            self.grafana.call(
                change.label, lambda api: api.alertingprovisioning.update_contactpoint(point["uid"], point)
            )
        return ""

    def _policy(self, change: Change) -> str:
        self.grafana.call(
            change.label, lambda api: api.alertingprovisioning.set_notification_policy_tree(change.desired)
        )
        return ""

    def dashboard_body(self, change: Change) -> dict[str, Any]:
        """The save envelope: our content, the marker, the live version as optimistic lock, the message."""
        dashboard = {k: v for k, v in change.desired.items() if k not in ("id", "version")}
        dashboard[MARKER_KEY] = {
            "sha256": content_hash(dashboard),
            "version": 1 if change.action == CREATE else change.version + 1,  # what Grafana will assign
            "commit": self.revision.commit,
            "tool": "make publish",
        }
        if change.action != CREATE:
            dashboard["version"] = change.version
        return {
            "dashboard": dashboard,
            "folderUid": self.folder_uid,
            "overwrite": False,
            "message": self.revision.message,
        }

    def _read_back_if_taken(self, error: PublishError, what: str, read: Callable[[Any], Any]) -> Any:
        """After a refused create that may mean "the uid is taken": the live object, else the refusal."""
        if error.status not in TAKEN_STATUSES:
            raise error
        try:
            return self.grafana.call(what, read)
        except PublishError:
            raise error from None

    def _dashboard(self, change: Change) -> str:
        if change.desired is None:
            try:
                self.grafana.call(change.label, lambda api: api.dashboard.delete_dashboard(change.key))
            except PublishError as error:
                if not is_not_found(error):  # already gone: what we wanted
                    raise
            return ""
        body = self.dashboard_body(change)
        try:
            answer = self.grafana.call(change.label, lambda api: api.dashboard.update_dashboard(body))
        except PublishError as error:
            if error.status != 412 or not self._already_applied(change.key, body["dashboard"]):
                raise
            return change.url
        return str(answer.get("url", ""))

    def _already_applied(self, uid: str, dashboard: dict[str, Any]) -> bool:
        """After a 412: is the live dashboard the very save we sent (its answer was lost)?"""
        found = self.grafana.call(f"dashboard {uid}", lambda api: api.dashboard.get_dashboard(uid))
        live, marker = found["dashboard"], dashboard[MARKER_KEY]
        return (
            live.get(MARKER_KEY) == marker
            and live.get("version") == marker["version"]
            and found["meta"].get("folderUid") == self.folder_uid
        )

    def _rule_group(self, change: Change) -> str:
        group = change.desired
        body = {k: group[k] for k in ("title", "folderUid", "interval", "rules")}
        try:
            self.grafana.call(
                change.label,
                lambda api: api.alertingprovisioning.update_rule_group(
                    group["folderUid"], group["title"], body
                ),
            )
        except PublishError as error:
            raise _explain_rule_group(error, group) from None
        return ""

    def _alert_rule(self, change: Change) -> str:
        self.grafana.call(change.label, lambda api: api.alertingprovisioning.delete_alertrule(change.key))
        return ""


def _stage(change: Change) -> int:
    deleting = change.desired is None and change.kind in ("dashboard", "alert-rule")
    return STAGES.index((change.kind, deleting))


def apply_plan(
    publisher: Publisher,
    plan: Plan,
    pool: ThreadPoolExecutor,
    force: bool,
    progress: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    """Run the plan's writes stage by stage; stop after a stage with failures (later ones: skipped)."""
    writes = sorted(plan.writes(force), key=_stage)
    outcomes: list[Outcome] = []
    done = 0

    def run(change: Change) -> Outcome:
        try:
            return Outcome(change, OK, url=publisher.write(change))
        except PublishError as error:
            return Outcome(change, FAILED, error=str(error))

    for stage in range(len(STAGES)):
        batch = [c for c in writes if _stage(c) == stage]
        for outcome in pool.map(run, batch):
            outcomes.append(outcome)
            done += 1
            if progress is not None:
                progress(done, len(writes))
        if any(o.status == FAILED for o in outcomes):
            later = [c for c in writes if _stage(c) > stage]
            outcomes += [Outcome(c, SKIPPED, error="an earlier step failed") for c in later]
            break
    return outcomes
