"""Dashboards of other services: the checks against our app's registry do not apply to them.

A dashboard imported from another team (`python -m scripts.import`, a ForeignDashboard) queries metrics
and Loki streams our app never exports, so the registry checks fail on every query. Lint names that once,
clearly; `--foreign` skips those checks for every dashboard without the `chat` tag (ChatDashboard always
adds it), while syntax, structure and best-practice checks still run on them.
"""

from __future__ import annotations

from dashboards.core.conventions import DASHBOARD_TAG
from scripts.rendered.model import Dashboard, Finding

# The checks that compare a query with our app: its metrics, labels, label values, metric types, Loki
# stream labels, and our standard job/instance variables.
APP_REGISTRY_RULES = frozenset(
    {
        "promql-metric",
        "promql-label",
        "promql-label-value",
        "promql-job-instance",
        "promql-cardinality",
        "promql-counter-rate",
        "promql-histogram-quantile",
        "logql-stream-labels",
        "logql-label-value",
        "template-variable-query",
        "template-job-instance",
    }
)


def foreign_uids(dashboards: list[Dashboard]) -> set[str]:
    """Dashboards that are not the chat app's: they do not carry its tag."""
    return {d.uid for d in dashboards if DASHBOARD_TAG not in (d.data.get("tags") or [])}


def is_app_finding_of(finding: Finding, uids: set[str]) -> bool:
    return finding.rule in APP_REGISTRY_RULES and finding.dashboard_uid in uids


def without_app_checks(findings: list[Finding], dashboards: list[Dashboard]) -> list[Finding]:
    """The findings without the app-registry ones of dashboards of other services."""
    uids = foreign_uids(dashboards)
    return [f for f in findings if not is_app_finding_of(f, uids)]


def foreign_summary(findings: list[Finding], dashboards: list[Dashboard]) -> str | None:
    """One line when app-registry checks failed on dashboards of other services, saying what to do."""
    uids = foreign_uids(dashboards)
    hit = sorted({f.dashboard_uid for f in findings if is_app_finding_of(f, uids) and f.status == "fail"})
    if not hit:
        return None
    count = sum(1 for f in findings if is_app_finding_of(f, uids) and f.status == "fail")
    return (
        f"lint: {count} findings are about metrics, labels or streams our app does not export, on "
        f"dashboards of other services (no `{DASHBOARD_TAG}` tag): {', '.join(hit)}; expected for an "
        "imported dashboard: `python -m scripts.lint --foreign` skips the app-registry checks for them"
    )
