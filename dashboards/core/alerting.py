"""Alert rules, contact points and the notification policy, in Grafana's provisioning shapes.

grafanalib's AlertRulev9/AlertGroup emit the ruler API shape and put the rule uid outside `grafana_alert`,
where Grafana does not read it (weaveworks/grafanalib: grafanalib/core.py, AlertRulev9.to_json_data), so
these small value objects emit:
- `to_json_data()`: the alerting provisioning API bodies (grafana/grafana: pkg/services/ngalert/api/tooling/
  definitions/provisioning_*.go);
- `to_file_provisioning()`: the same objects as Grafana's alerting file-provisioning YAML expects.
Every rule evaluates query A -> reduce B -> threshold C, links to a dashboard panel and names a runbook.
Alert queries use fixed windows (`[5m]`), not `$__rate_interval`: a rule has no dashboard time range.
"""

from __future__ import annotations

from typing import Any

import attr
from attr.validators import and_, deep_iterable, in_, instance_of, matches_re, max_len

from dashboards.core.conventions import (
    CHAT_FOLDER,
    EXEC_ERR_STATES,
    EXPRESSION_UID,
    MAX_NAME_CHARS,
    NO_DATA_STATES,
    ORG_ID,
    QUERY_DATASOURCES,
    RUNBOOK_BASE_URL,
    SEVERITIES,
    UID_PATTERN,
    WEBHOOK_TOKEN_PLACEHOLDER,
    Folder,
    parse_duration,
)
from dashboards.core.dashboard import ChatDashboard
from dashboards.core.sources import Location, source_field

THRESHOLD_OPS = ("gt", "lt")
REDUCERS = ("last", "mean", "max", "min", "sum", "count")
MATCHER_OPERATORS = ("=", "!=", "=~", "!~")


def _duration(_instance: Any, attribute: Any, value: str) -> None:
    """Grafana parses these fields as Prometheus durations: refuse what it would reject, naming the field."""
    try:
        parse_duration(value)
    except ValueError as error:
        raise ValueError(f"{attribute.name}: {error}") from None


def _matcher(_instance: Any, _attribute: Any, matcher: Any) -> None:
    """An object matcher is (label, operator, value), as Grafana's `object_matchers` expects."""
    if not (
        isinstance(matcher, tuple)
        and len(matcher) == 3
        and all(isinstance(part, str) for part in matcher)
        and matcher[1] in MATCHER_OPERATORS
    ):
        raise ValueError(f"object matcher {matcher!r} must be (label, one of {MATCHER_OPERATORS}, value)")


def _expression(ref_id: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "datasourceUid": EXPRESSION_UID,
        "model": {"datasource": {"type": EXPRESSION_UID, "uid": EXPRESSION_UID}, "refId": ref_id, **model},
        "refId": ref_id,
        "relativeTimeRange": {"from": 0, "to": 0},
    }


@attr.s
class AlertRule:
    """One rule: `expr` on the datasource `datasource_uid`, reduced per series, compared to `threshold`.

    `dashboard` and `panel_title` name the panel the alert links to; its id is looked up at render time.
    """

    uid: str = attr.ib(validator=matches_re(UID_PATTERN))
    title: str = attr.ib(validator=and_(instance_of(str), max_len(MAX_NAME_CHARS)))
    summary: str = attr.ib(validator=instance_of(str))
    description: str = attr.ib(validator=instance_of(str))
    runbook_anchor: str = attr.ib(validator=instance_of(str))
    severity: str = attr.ib(validator=in_(SEVERITIES))
    expr: str = attr.ib(validator=instance_of(str))
    datasource_uid: str = attr.ib(validator=in_(tuple(QUERY_DATASOURCES)))
    op: str = attr.ib(validator=in_(THRESHOLD_OPS))
    threshold: float = attr.ib(validator=instance_of(int | float))
    pending_for: str = attr.ib(validator=_duration)
    no_data_state: str = attr.ib(validator=in_(NO_DATA_STATES))
    exec_err_state: str = attr.ib(validator=in_(EXEC_ERR_STATES))
    dashboard: ChatDashboard = attr.ib(validator=instance_of(ChatDashboard))
    panel_title: str = attr.ib(validator=instance_of(str))
    reducer: str = attr.ib(default="last", validator=in_(REDUCERS))
    query_window_s: int = attr.ib(default=600, validator=instance_of(int))
    condition: str = attr.ib(default="C", validator=instance_of(str))
    source: Location = source_field()

    def query(self) -> dict[str, Any]:
        plugin = QUERY_DATASOURCES[self.datasource_uid]
        model: dict[str, Any] = {
            "datasource": {"type": plugin, "uid": self.datasource_uid},
            "expr": self.expr,
            "instant": True,
            "intervalMs": 1000,
            "maxDataPoints": 43200,
            "refId": "A",
        }
        if plugin == "loki":
            model["queryType"] = "instant"
        return {
            "datasourceUid": self.datasource_uid,
            "model": model,
            "refId": "A",
            "relativeTimeRange": {"from": self.query_window_s, "to": 0},
        }

    def data(self) -> list[dict[str, Any]]:
        return [
            self.query(),
            _expression(
                "B",
                {
                    "type": "reduce",
                    "expression": "A",
                    "reducer": self.reducer,
                    "settings": {"mode": "dropNN"},
                },
            ),
            _expression(
                "C",
                {
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": self.op, "params": [self.threshold]}}],
                },
            ),
        ]

    def panel_id(self) -> int:
        return self.dashboard.panel_id(self.panel_title)

    def annotations(self) -> dict[str, str]:
        return {
            "__dashboardUid__": self.dashboard.uid,
            "__panelId__": str(self.panel_id()),
            "description": self.description,
            "runbook_url": f"{RUNBOOK_BASE_URL}#{self.runbook_anchor}",
            "summary": self.summary,
        }

    def common_fields(self) -> dict[str, Any]:
        """The fields the API and file provisioning share."""
        return {
            "annotations": self.annotations(),
            "condition": self.condition,
            "data": self.data(),
            "execErrState": self.exec_err_state,
            "for": self.pending_for,
            "isPaused": False,
            "labels": {"severity": self.severity},
            "noDataState": self.no_data_state,
            "title": self.title,
            "uid": self.uid,
        }


@attr.s
class RuleGroup:
    """Rules evaluated together every `interval_s` seconds (Grafana: a positive multiple of 10 s)."""

    title: str = attr.ib(validator=and_(instance_of(str), max_len(MAX_NAME_CHARS)))
    interval_s: int = attr.ib(validator=instance_of(int))
    rules: list[AlertRule] = attr.ib(validator=deep_iterable(instance_of(AlertRule), instance_of(list)))
    folder: Folder = attr.ib(default=CHAT_FOLDER, validator=instance_of(Folder))

    def to_json_data(self) -> dict[str, Any]:
        """Body of PUT /api/v1/provisioning/folder/{folderUid}/rule-groups/{group}."""
        rules = [
            {**rule.common_fields(), "folderUID": self.folder.uid, "orgID": ORG_ID, "ruleGroup": self.title}
            for rule in self.rules
        ]
        return {
            "folderUid": self.folder.uid,
            "interval": self.interval_s,
            "rules": rules,
            "title": self.title,
        }

    def to_file_provisioning(self) -> dict[str, Any]:
        """An entry of `groups:` in alerting file provisioning (folder by title, interval as a duration)."""
        rules = [
            {**rule.common_fields(), "dashboardUid": rule.dashboard.uid, "panelId": rule.panel_id()}
            for rule in self.rules
        ]
        return {
            "folder": self.folder.title,
            "interval": f"{self.interval_s}s",
            "name": self.title,
            "orgId": ORG_ID,
            "rules": rules,
        }


@attr.s
class ContactPoint:
    """A webhook receiver that authenticates with `Authorization: Bearer <token>`."""

    uid: str = attr.ib(validator=matches_re(UID_PATTERN))
    name: str = attr.ib(validator=instance_of(str))
    url: str = attr.ib(validator=instance_of(str))
    token: str = attr.ib(default=WEBHOOK_TOKEN_PLACEHOLDER, validator=instance_of(str))

    def receiver(self) -> dict[str, Any]:
        return {
            "disableResolveMessage": False,
            "settings": {
                "authorization_credentials": self.token,
                "authorization_scheme": "Bearer",
                "httpMethod": "POST",
                "url": self.url,
            },
            "type": "webhook",
            "uid": self.uid,
        }

    def to_json_data(self) -> dict[str, Any]:
        """An EmbeddedContactPoint (POST /api/v1/provisioning/contact-points)."""
        return {**self.receiver(), "name": self.name}

    def to_file_provisioning(self) -> dict[str, Any]:
        return {"name": self.name, "orgId": ORG_ID, "receivers": [self.receiver()]}


@attr.s
class Route:
    """A child route: alerts whose labels match go to `receiver` with these timings."""

    receiver: ContactPoint = attr.ib(validator=instance_of(ContactPoint))
    object_matchers: list[tuple[str, str, str]] = attr.ib(
        validator=deep_iterable(_matcher, instance_of(list))
    )
    group_wait: str = attr.ib(validator=_duration)
    group_interval: str = attr.ib(validator=_duration)
    repeat_interval: str = attr.ib(validator=_duration)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "group_interval": self.group_interval,
            "group_wait": self.group_wait,
            "object_matchers": [list(m) for m in self.object_matchers],
            "receiver": self.receiver.name,
            "repeat_interval": self.repeat_interval,
        }


@attr.s
class NotificationPolicy:
    """The root of the notification policy tree (one per organisation)."""

    receiver: ContactPoint = attr.ib(validator=instance_of(ContactPoint))
    group_by: list[str] = attr.ib(validator=deep_iterable(instance_of(str), instance_of(list)))
    routes: list[Route] = attr.ib(validator=deep_iterable(instance_of(Route), instance_of(list)))
    group_wait: str = attr.ib(default="30s", validator=_duration)
    group_interval: str = attr.ib(default="5m", validator=_duration)
    repeat_interval: str = attr.ib(default="4h", validator=_duration)

    def to_json_data(self) -> dict[str, Any]:
        """Body of PUT /api/v1/provisioning/policies."""
        return {
            "group_by": self.group_by,
            "group_interval": self.group_interval,
            "group_wait": self.group_wait,
            "receiver": self.receiver.name,
            "repeat_interval": self.repeat_interval,
            "routes": [route.to_json_data() for route in self.routes],
        }

    def to_file_provisioning(self) -> dict[str, Any]:
        return {**self.to_json_data(), "orgId": ORG_ID}
