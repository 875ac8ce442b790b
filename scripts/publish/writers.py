"""Write one change to Grafana, idempotently: a repeated request whose answer was lost is not a failure.

Dashboards are saved with `overwrite: false` and the live version we planned against: if someone saves
the dashboard between plan and write, Grafana answers 412 (409 on 13.x) and we report it instead of
losing the edit. The app-platform writer (apps_writer.py) does the same with resourceVersion.

Retries repeat requests whose answer was lost, so a write may already have been applied when it is
repeated. Whenever Grafana then refuses it (412 for a dashboard, "already exists" for a folder or contact
point, 404 for a delete) the object is read back, and if it is already exactly what we wanted the write
counts as done.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, is_not_found
from scripts.publish.compare import (
    MARKER_KEY,
    content_hash,
    normalise_contact_point,
    with_policy_route,
    with_rule_marker,
)
from scripts.publish.model import Action, Change
from scripts.publish.revision import Revision

# How a create of a used uid is refused: folders 409 (v11.3+) or 412 (v10), contact points 400 ("invalid
# object specification") or 409 in newer releases. The read-back decides, so a broad set is harmless.
TAKEN_STATUSES = (400, 409, 412)
CONFLICT = 409
CONCURRENT = (409, 412)  # how Grafana refuses a write based on a stale version (client.is_concurrent_edit)
POLICY_ATTEMPTS = 3


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


def explain_rule_group(
    error: PublishError, group: dict[str, Any], sources: Mapping[str, str]
) -> PublishError:
    """Grafana's validation answer for a group, naming the rule (and its module) it is about."""
    if error.status != 400 or not isinstance(error.body, dict):
        return error  # not a validation answer (e.g. the folder is missing): already explained
    message = str(error.body.get("message", "")).replace("\n", ": ")
    suspects = failing_rules(message, group["rules"])
    names = ", ".join(f"{uid} ({sources[uid]})" if uid in sources else uid for uid in suspects)
    which = f"rule uid {names}" if suspects else "one of its rules"
    return PublishError(
        f"rule group {group['title']!r} ({which}): Grafana rejected it: {message}", status=400
    )


class Writer:
    """Writes one change of each kind (kinds.py says which method serves which kind)."""

    def __init__(
        self,
        grafana: Grafana,
        folder_uid: str,
        revision: Revision,
        rule_sources: Mapping[str, str],
        owner: str,
    ) -> None:
        self.grafana = grafana
        self.folder_uid = folder_uid
        self.revision = revision
        self.rule_sources = rule_sources  # rule uid -> definitions module, for rejection messages
        self.owner = owner  # written into every dashboard's marker

    def folder(self, change: Change) -> str:
        title, uid = change.desired["title"], change.desired["uid"]
        if change.action == Action.CREATE:
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

    def contact_point(self, change: Change) -> str:
        point = change.desired
        if change.action == Action.CREATE:
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

    def policy(self, change: Change) -> str:
        """Our route into the org's tree as it is right now: re-read just before the write, so that every
        other route and the root's settings are written back exactly as their owners left them. The tree
        stays editable in the UI (no provenance): it is the org's, not ours. The legacy API has no version
        to lock on, so the window between read and write is as short as one round trip; a conflict that
        Grafana itself detects (409) is retried with a fresh read."""
        for attempt in range(POLICY_ATTEMPTS):
            tree = self.grafana.call(
                change.label, lambda api: api.alertingprovisioning.get_notification_policy_tree()
            )
            merged = with_policy_route(tree, change.desired, self.owner)
            try:
                self.grafana.call(
                    change.label,
                    lambda api, merged=merged: api.alertingprovisioning.set_notification_policy_tree(
                        merged, disable_provenance=True
                    ),
                )
            except PublishError as error:
                if error.status == CONFLICT and attempt + 1 < POLICY_ATTEMPTS:
                    continue
                raise
            break
        return ""

    def dashboard_body(self, change: Change) -> dict[str, Any]:
        """The save envelope: our content, the marker, the live version as optimistic lock, the message."""
        dashboard = {k: v for k, v in change.desired.items() if k not in ("id", "version")}
        dashboard[MARKER_KEY] = {
            "sha256": content_hash(dashboard),
            "version": 1
            if change.action == Action.CREATE
            else change.version + 1,  # what Grafana will assign
            "commit": self.revision.commit,
            "owner": self.owner,
            "uid": change.key,
            "tool": "make publish",
        }
        if change.action != Action.CREATE:
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

    def dashboard(self, change: Change) -> str:
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
            # A conflict (412 up to 12.x, 409 on 13.x) after a lost answer may be our own save.
            if error.status not in CONCURRENT or not self._already_applied(change.key, body["dashboard"]):
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

    def rule_group(self, change: Change) -> str:
        group = change.desired
        body = {
            **{k: group[k] for k in ("title", "folderUid", "interval")},
            "rules": [with_rule_marker(rule, group["interval"]) for rule in group["rules"]],
        }
        try:
            self.grafana.call(
                change.label,
                lambda api: api.alertingprovisioning.update_rule_group(
                    group["folderUid"], group["title"], body
                ),
            )
        except PublishError as error:
            raise explain_rule_group(error, group, self.rule_sources) from None
        return ""

    def alert_rule(self, change: Change) -> str:
        self.grafana.call(change.label, lambda api: api.alertingprovisioning.delete_alertrule(change.key))
        return ""
