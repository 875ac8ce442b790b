"""What a plan is made of: one Change per object, each of a Kind and with an Action."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    FOLDER = "folder"
    CONTACT_POINT = "contact-point"
    POLICY = "policy"
    DASHBOARD = "dashboard"
    RULE_GROUP = "rule-group"
    ALERT_RULE = "alert-rule"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DRIFTED = "drifted"  # changed in Grafana since our last publish: overwritten only with --force
    DELETE = "delete"  # only with --prune
    ORPHAN = "orphan"  # ours, in Grafana, no longer in code: deleted with --prune
    NOT_OURS = "not-ours"  # someone else's object: never written, changed or deleted
    MANAGED = "managed"  # managed by another tool (Terraform, kubectl, file provisioning): --force takes it


WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.DELETE})


@dataclass
class Change:
    kind: Kind
    key: str
    action: Action
    reason: str = ""
    desired: Any = None  # the object to write (for dashboards: the plain dashboard JSON)
    live: Any = None  # the live object, normalised for display
    base: Any = None  # drifted dashboards: what we last published (normalised), when found
    base_label: str = ""
    version: int = 0  # live version (generation) of a folder/dashboard, for optimistic locking
    url: str = ""
    api: str = ""  # the API this object goes through: "/apis" (app platform) or "/api"
    resource_version: str = ""  # app platform: the live object's resourceVersion, the optimistic lock
    stored_version: str = ""  # app platform: the schema the live dashboard is stored in when not ours (v2)
    live_annotations: dict[str, str] | None = None  # app platform: the live object's annotations
    rejection: str = ""  # what Grafana answered the server-side dry run of this write ("" = accepted)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"


@dataclass
class Plan:
    changes: list[Change]
    grafana_version: str = ""
    api: str = ""  # which API dashboards and folders go through, and why (ApiChoice.describe())

    def writes(self, force: bool) -> list[Change]:
        """The changes that a publish applies (drifted ones only with --force)."""
        forced = (Action.DRIFTED, Action.MANAGED)
        return [c for c in self.changes if c.action in WRITES or (force and c.action in forced)]

    def drifted(self) -> list[Change]:
        return [c for c in self.changes if c.action == Action.DRIFTED]

    def managed(self) -> list[Change]:
        """Ours in code, managed in Grafana by another tool: written only with --force."""
        return [c for c in self.changes if c.action == Action.MANAGED]

    def rejected(self) -> list[Change]:
        """Writes Grafana's server-side dry run refused."""
        return [c for c in self.changes if c.rejection]

    def refused(self) -> list[Change]:
        """Objects in code that collide with someone else's: publishing them would overwrite it."""
        return [c for c in self.changes if c.action == Action.NOT_OURS and c.desired is not None]

    def pending(self) -> list[Change]:
        """Everything a publish (with --force) would write: the plan is not a no-op when this is not empty."""
        return self.writes(force=True)
