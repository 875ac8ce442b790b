"""`make lint`: prove the rendered dashboards and alert rules are well-formed, follow best practice, parse,
and only use metrics, labels and Loki stream labels the app really has.

    python -m scripts.lint [--dir provisioning/grafana] [--json] [--readme README.md]
                           [--cases dashboards/alerts.cases.yaml] [--foreign]

Prints a table (source, where, rule, status, message) of every failed or waived check, the source being the
definitions module and line that built the object (sources.json), and exits 1 when anything
failed, 2 when the lint itself cannot run (no rendered files, promtool/node missing, --readme/--cases
unreadable). `--foreign` skips the checks against the app's registry for dashboards of other services
(those without the `chat` tag, e.g. imported ones: scripts/lint/foreign.py). The checks live in
scripts/lint/: dashboards.py, alerts.py, queries.py (+ promql.py, logql.py), contributing.py (runbook
sections and alert rule cases); waivers in waivers.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import yaml

from scripts.common.alert_cases import CASES_PATH
from scripts.common.exits import ExitCode
from scripts.common.paths import README_PATH
from scripts.common.tools import ToolMissingError
from scripts.lint.alerts import lint_alert_rules
from scripts.lint.contributing import Guides, lint_guides, load_guides
from scripts.lint.dashboards import check_embeddable, lint_dashboard
from scripts.lint.foreign import foreign_summary, without_app_checks
from scripts.lint.queries import check_variable_queries, lint_queries
from scripts.lint.registry import Registry, build_registry
from scripts.lint.waivers import WAIVERS, Waiver, apply_waivers
from scripts.rendered.layout import OUTPUT_DIR, dashboard_source_key, panel_source_key, rule_source_key
from scripts.rendered.model import (
    Finding,
    alert_queries,
    iter_panels,
    iter_rules,
    panel_queries,
    variable_selector_queries,
)
from scripts.rendered.tree import RenderedTree, load_tree


def lint_rendered(
    rendered: RenderedTree, guides: Guides, waivers: tuple[Waiver, ...] = WAIVERS
) -> list[Finding]:
    """Every finding for already-loaded render output, checked against `guides`, waivers applied."""
    registry = build_registry()
    findings = fast_checks(rendered, guides, registry) + query_checks(rendered, registry)
    return with_sources(apply_waivers(findings, waivers), rendered.sources)


def fast_lint(rendered: RenderedTree, guides: Guides, waivers: tuple[Waiver, ...] = WAIVERS) -> list[Finding]:
    """The checks that spawn no node or promtool (milliseconds): what `make watch` runs on every save."""
    findings = fast_checks(rendered, guides, build_registry())
    return with_sources(apply_waivers(findings, waivers), rendered.sources)


def query_lint(rendered: RenderedTree, waivers: tuple[Waiver, ...] = WAIVERS) -> list[Finding]:
    """The query checks: syntax through node and promtool, then metric names against the registry."""
    findings = query_checks(rendered, build_registry())
    return with_sources(apply_waivers(findings, waivers), rendered.sources)


def fast_checks(rendered: RenderedTree, guides: Guides, registry: Registry) -> list[Finding]:
    findings = list(rendered.problems)
    for dashboard in rendered.dashboards:
        findings += lint_dashboard(dashboard)
    findings += check_embeddable(rendered.embeds)
    findings += lint_alert_rules(rendered.rule_groups, {d.uid: d for d in rendered.dashboards})
    findings += lint_guides(rendered.rule_groups, guides)
    return findings + [f for d in rendered.dashboards for f in check_variable_queries(d, registry)]


def query_checks(rendered: RenderedTree, registry: Registry) -> list[Finding]:
    queries = [q for d in rendered.dashboards for ref in iter_panels(d) for q in panel_queries(ref)]
    queries += [q for rule in iter_rules(rendered.rule_groups) for q in alert_queries(rule)]
    queries += [q for d in rendered.dashboards for q in variable_selector_queries(d)]
    return lint_queries(queries, registry)


def source_of(finding: Finding, sources: dict[str, str]) -> str:
    """The author's file:line for a finding: its alert rule's or panel's, else its dashboard's."""
    keys = [rule_source_key(finding.rule_uid)] if finding.rule_uid else []
    if finding.panel_id is not None:
        keys.append(panel_source_key(finding.dashboard_uid, finding.panel_id))
    keys.append(dashboard_source_key(finding.dashboard_uid))
    return next((sources[key] for key in keys if key in sources), "")


def with_sources(findings: list[Finding], sources: dict[str, str]) -> list[Finding]:
    """Fill every finding's source here, once, so no check needs to know about sources.json."""
    return [replace(f, source=source_of(f, sources)) for f in findings]


def lint_directory(directory: Path, guides: Guides, waivers: tuple[Waiver, ...] = WAIVERS) -> list[Finding]:
    return lint_rendered(load_tree(directory), guides, waivers)


def format_table(findings: list[Finding]) -> str:
    """One row per finding, led by the Python that built the object; the query, when the finding is about
    one, on the line below its row."""
    rows = [("SOURCE", "WHERE", "RULE", "STATUS", "MESSAGE", "")]
    rows += [
        (
            f.source, f.where, f.rule, f.status, f.message + (f" (waived: {f.reason})" if f.reason else ""),
            f.query,
        )
        for f in findings
    ]  # fmt: skip
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(4)]
    lines = []
    for row in rows:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        lines.append(f"{cells}  {row[4]}")
        if row[5]:
            lines.append(" " * (sum(widths) + 8) + f"query: {row[5]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=OUTPUT_DIR, help="render output (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print findings as JSON")
    parser.add_argument(
        "--readme", type=Path, default=README_PATH, help="the runbooks' README (default: the repository's)"
    )
    parser.add_argument(
        "--cases", type=Path, default=CASES_PATH, help="the alert rule cases (default: the repository's)"
    )
    parser.add_argument(
        "--foreign",
        action="store_true",
        help="skip the app-registry checks for dashboards of other services (no `chat` tag)",
    )
    args = parser.parse_args(argv)
    if not (args.dir / "dashboards").is_dir():
        print(
            f"error: no dashboards in {args.dir}/dashboards: run `python -m scripts.render` first",
            file=sys.stderr,
        )
        return ExitCode.CONFIG
    try:
        guides = load_guides(args.readme, args.cases)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        print(f"error: cannot read --readme/--cases: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    rendered = load_tree(args.dir)
    try:
        findings = lint_rendered(rendered, guides)
    except ToolMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    if args.foreign:
        findings = without_app_checks(findings, rendered.dashboards)
    failed = [f for f in findings if f.status == "fail"]
    summary = {
        "dashboards": len(rendered.dashboards),
        "panels": sum(1 for d in rendered.dashboards for _ in iter_panels(d)),
        "alert_rules": sum(1 for _ in iter_rules(rendered.rule_groups)),
        "failed": len(failed),
        "waived": len(findings) - len(failed),
    }
    if args.json:
        print(
            json.dumps(
                {"summary": summary, "findings": [{"source": f.source, **asdict(f)} for f in findings]},
                indent=2,
            )
        )
    else:
        if findings:
            print(format_table(findings))
        print(
            f"lint: {summary['dashboards']} dashboards, {summary['panels']} panels, {summary['alert_rules']} "
            f"alert rules: {summary['failed']} failed, {summary['waived']} waived"
        )
        foreign = foreign_summary(findings, rendered.dashboards)
        if foreign:
            print(foreign)
    return ExitCode.FAILED if failed else ExitCode.OK
