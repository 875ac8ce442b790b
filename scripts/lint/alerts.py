"""Checks of the rendered alert rule groups (provisioning-API shape, alerting/rules.json).

Structure (what Grafana's provisioning API rejects or silently mis-handles): group folderUid/title, and the
dashboards layer's own check (dashboards/core/validate.py: interval a multiple of 10 s, the condition naming
an existing refId) reused on the file; rule uid/title/data, unique refIds, every query on a
provisioned datasource with a relative time range, server-side expressions (`__expr__`) of a known type
that reference existing refIds, valid noDataState/execErrState and `for`.

Best practice: a `summary` and a `runbook_url` annotation, a `severity` label, and a dashboard link
(`__dashboardUid__` + `__panelId__`) that resolves to a real dashboard and panel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dashboards.core.conventions import (
    EXEC_ERR_STATES,
    EXPRESSION_UID,
    NO_DATA_STATES,
    SEVERITIES,
    UID_PATTERN,
    parse_duration,
)
from dashboards.core.validate import DefinitionError, check_rule_group
from scripts.rendered.expressions import EXPRESSION_TYPES, THRESHOLD_TYPES
from scripts.rendered.model import PROVISIONED_DATASOURCES, Dashboard, Finding, Json, alert_where, iter_panels

_UID = re.compile(UID_PATTERN)  # the dashboards layer's uid rule, applied to the rendered file
_MATH_REF = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")


def alert_finding(rule: Json, check: str, message: str) -> Finding:
    uid = f"alert:{rule.get('uid', '')}"  # how a waiver names an alert rule (see scripts/lint/waivers.py)
    return Finding(
        alert_where(rule), check, message, dashboard_uid=uid, panel=str(rule.get("title", "")),
        rule_uid=str(rule.get("uid", "")),
    )  # fmt: skip


def check_group(group: Json) -> Iterator[Finding]:
    where = f"group {group.get('title', '?')}"
    try:  # the dashboards layer's own check: interval a multiple of 10 s, conditions name refIds
        check_rule_group("rules.json", where, group)
    except DefinitionError as exc:
        yield Finding(where, "alert-group", exc.message)
    except (KeyError, TypeError, AttributeError) as exc:
        yield Finding(where, "alert-group", f"malformed rule group ({type(exc).__name__}: {exc})")
    if not str(group.get("title") or "").strip():
        yield Finding(where, "alert-group", "the group has no title")
    if not str(group.get("folderUid") or "").strip():
        yield Finding(where, "alert-group", "the group has no folderUid")
    if not isinstance(group.get("rules"), list) or not group["rules"]:
        yield Finding(where, "alert-group", "the group has no rules")


def _check_expression(rule: Json, item: Json, ref_ids: set[str]) -> Iterator[Finding]:
    model = item.get("model") or {}
    kind = model.get("type")
    if kind not in EXPRESSION_TYPES:
        yield alert_finding(rule, "alert-data", f"{item.get('refId')}: unknown expression type {kind!r}")
        return
    if kind == "math":
        used = set(_MATH_REF.findall(str(model.get("expression") or "")))
    elif kind == "classic_conditions":
        used = {c.get("query", {}).get("params", [""])[0] for c in model.get("conditions") or []}
    else:
        used = {str(model.get("expression") or "")}
    for ref in sorted(used - ref_ids):
        yield alert_finding(
            rule, "alert-data", f"{item.get('refId')}: {kind} refers to missing refId {ref!r}"
        )
    if kind == "threshold":
        evaluator = ((model.get("conditions") or [{}])[0]).get("evaluator") or {}
        if evaluator.get("type") not in THRESHOLD_TYPES or not evaluator.get("params"):
            yield alert_finding(
                rule, "alert-data", f"{item.get('refId')}: threshold needs an evaluator type and params"
            )


def _check_query(rule: Json, item: Json) -> Iterator[Finding]:
    uid = item.get("datasourceUid")
    if uid not in PROVISIONED_DATASOURCES:
        yield alert_finding(
            rule, "alert-data", f"{item.get('refId')}: datasourceUid {uid!r} is not a provisioned datasource"
        )
    span = item.get("relativeTimeRange") or {}
    if (
        not isinstance(span.get("from"), int)
        or not isinstance(span.get("to"), int)
        or span["from"] <= span["to"]
    ):
        yield alert_finding(
            rule, "alert-data", f"{item.get('refId')}: relativeTimeRange needs from > to (seconds)"
        )
    if not str((item.get("model") or {}).get("expr") or "").strip():
        yield alert_finding(rule, "alert-data", f"{item.get('refId')}: the query has no expr")


def check_rule_structure(rule: Json) -> Iterator[Finding]:
    if not _UID.fullmatch(str(rule.get("uid") or "")):
        yield alert_finding(rule, "alert-uid", "uid must be 1-40 characters of A-Z a-z 0-9 - _")
    if not str(rule.get("title") or "").strip():
        yield alert_finding(rule, "alert-title", "the rule has no title")
    data = [d for d in rule.get("data") or [] if isinstance(d, dict)]
    if not data:
        yield alert_finding(rule, "alert-data", "the rule has no data (queries and expressions)")
    ref_ids = [str(d.get("refId") or "") for d in data]
    if "" in ref_ids or len(set(ref_ids)) != len(ref_ids):
        yield alert_finding(rule, "alert-data", f"refIds must be non-empty and unique, got {ref_ids}")
    for item in data:
        if item.get("datasourceUid") == EXPRESSION_UID:
            yield from _check_expression(rule, item, set(ref_ids))
        else:
            yield from _check_query(rule, item)
    if rule.get("noDataState") not in NO_DATA_STATES:
        yield alert_finding(rule, "alert-states", f"noDataState must be one of {sorted(NO_DATA_STATES)}")
    if rule.get("execErrState") not in EXEC_ERR_STATES:
        yield alert_finding(rule, "alert-states", f"execErrState must be one of {sorted(EXEC_ERR_STATES)}")
    try:
        parse_duration(str(rule.get("for") or ""))
    except ValueError:
        yield alert_finding(rule, "alert-for", f"`for` must be a duration like 5m, got {rule.get('for')!r}")


def check_rule_practice(rule: Json, dashboards: dict[str, Dashboard]) -> Iterator[Finding]:
    annotations = rule.get("annotations") or {}
    labels = rule.get("labels") or {}
    if not str(annotations.get("summary") or "").strip():
        yield alert_finding(rule, "alert-annotations", "add a `summary` annotation")
    if not str(annotations.get("runbook_url") or "").startswith(("http://", "https://", "/")):
        yield alert_finding(rule, "alert-annotations", "add a `runbook_url` annotation (a URL)")
    if labels.get("severity") not in SEVERITIES:
        yield alert_finding(rule, "alert-severity", f"label severity must be one of {sorted(SEVERITIES)}")
    uid = annotations.get("__dashboardUid__")
    panel_id = annotations.get("__panelId__")
    if not uid or not panel_id:
        yield alert_finding(
            rule,
            "alert-dashboard-link",
            "add __dashboardUid__ and __panelId__ annotations (the panel it is about)",
        )
        return
    dashboard = dashboards.get(str(uid))
    if dashboard is None:
        yield alert_finding(
            rule, "alert-dashboard-link", f"__dashboardUid__ {uid!r} is not a rendered dashboard"
        )
        return
    panel_ids = {str(ref.panel.get("id")) for ref in iter_panels(dashboard) if ref.panel.get("type") != "row"}
    if str(panel_id) not in panel_ids:
        yield alert_finding(rule, "alert-dashboard-link", f"__panelId__ {panel_id!r} is not a panel of {uid}")


def lint_alert_rules(groups: list[Json], dashboards: dict[str, Dashboard]) -> list[Finding]:
    findings: list[Finding] = []
    seen_uids: set[str] = set()
    for group in groups:
        if not isinstance(group, dict):
            findings.append(Finding("rules.json", "alert-group", "every rule group must be an object"))
            continue
        findings += check_group(group)
        for rule in (r for r in group.get("rules") or [] if isinstance(r, dict)):
            if rule.get("uid") in seen_uids:
                findings.append(alert_finding(rule, "alert-uid", "uid is used by another rule"))
            seen_uids.add(str(rule.get("uid")))
            findings += check_rule_structure(rule)
            findings += check_rule_practice(rule, dashboards)
    return findings
