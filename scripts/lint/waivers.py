"""Lint waivers: a rule switched off for ONE panel (or alert rule), in code, with a written reason.

Like grafana/dashboard-linter's `.lint` exclusions, but narrow: a waiver names the dashboard uid (or
`alert:<rule uid>`, or the file a finding is about: `embeds.json`, `dashboards/alerts.cases.yaml`), the
panel title (or the alert title, the uid of stale cases, "" for embeds.json), the lint rule and why. A
waiver without a reason, or one that no longer matches any finding, is itself a lint failure, so waivers
cannot rot silently.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scripts.rendered.model import Finding


@dataclass(frozen=True)
class Waiver:
    dashboard_uid: str  # dashboard uid, "alert:<rule uid>", or the file the finding is about
    panel: str  # panel title, alert rule title, or "" (see the module docstring)
    rule: str  # lint rule name, e.g. "promql-job-instance"
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (self.dashboard_uid, self.panel, self.rule) == (
            finding.dashboard_uid,
            finding.panel,
            finding.rule,
        )


# The project's waivers. Keep each one specific; the reason is shown next to the waived finding.
WAIVERS: tuple[Waiver, ...] = ()


def apply_waivers(findings: list[Finding], waivers: tuple[Waiver, ...] = WAIVERS) -> list[Finding]:
    """Mark covered findings "waived"; add a failure for every waiver without reason or without a match."""
    result = []
    used: set[Waiver] = set()
    for finding in findings:
        waiver = next((w for w in waivers if w.covers(finding) and w.reason.strip()), None)
        if waiver is None:
            result.append(finding)
        else:
            used.add(waiver)
            result.append(replace(finding, status="waived", reason=waiver.reason))
    for waiver in waivers:
        where = f"waiver {waiver.dashboard_uid} / {waiver.panel}"
        if not waiver.reason.strip():
            result.append(Finding(where, "waiver", f"waiver of {waiver.rule} needs a written reason"))
        elif waiver not in used:
            result.append(Finding(where, "waiver", f"waiver of {waiver.rule} matches no finding: remove it"))
    return result
