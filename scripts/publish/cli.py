"""Publish the rendered dashboards and alerting to Grafana through its HTTP API: `make publish`.

    python -m scripts.publish [--env NAME] [--dir DIR] [--plan [--detailed-exitcode]] [--diff] [--json]
                              [--force] [--prune] [--only KIND/KEY ...] [--wait SECONDS]
                              [--api legacy|apps|auto]

Steps: health check (GET /api/health; `--wait` retries for a freshly started Grafana), plan (read what
Grafana has and compare it semantically with provisioning/grafana/), then write only what changed:
folder, contact points, notification policy, dashboards, rule groups, and with `--prune` delete the
dashboards and alert rules of the managed folder that are no longer in code (without it, a rule removed
from a group in code is kept in Grafana: the group is written with it). `--plan` (`--dry-run`,
`make diff`) stops after the plan and writes nothing. A publish with nothing changed writes nothing and
creates no dashboard versions.

Publish touches only what it owns: every dashboard it writes carries the owner (this repository and the
environment) in its marker, every alert rule the owner as its `managed_by` label, and of the org's
notification policy only the route matching that label is ours. Anything else — another team's
dashboard in our folder, another environment's objects, every other route — is listed as "not-ours" and
never changed or deleted, not even with --force or --prune; an object of ours whose uid is taken by
someone else's is refused (exit 3). A dashboard or alert rule changed in Grafana since our last publish
(a UI edit) is never overwritten silently: it is reported as drifted with a diff of what the edit
changed, the rest is published, and the exit code is 3. `--force` overwrites (or, with --prune, deletes)
drifted objects of ours. Objects of ours no longer in code are listed as orphans in every plan and
deleted only with --prune. See scripts/publish/plan.py for how ownership and our last publish are
recognised (and scripts/publish/compare.py for the markers).

Which API: `--api auto` (default) asks a Grafana 13 (GET /apis) whether it serves dashboard.grafana.app and
folder.grafana.app; then folder and dashboards are published
as resources there (scripts/publish/apps_plan.py, apps_writer.py), with Grafana's manager annotations
instead of the marker, and the plan asks Grafana to validate every write without storing it (dryRun=All)
and shows what it would reject. Otherwise (Grafana 11 and 12, see scripts/grafana/apps.py choose_api)
the legacy /api. `--api legacy` / `--api apps` force one. Alerting always goes through the alerting
provisioning API.
A dashboard managed by another tool (Terraform, kubectl, file provisioning) is refused (exit 3) unless
--force; one managed by a Git Sync repository is never written.

Configuration (environment): GRAFANA_URL, GRAFANA_TOKEN (service-account token, role Admin because of
the alerting provisioning API) or GRAFANA_USER + GRAFANA_PASSWORD, GRAFANA_ORG_ID, GRAFANA_PUBLIC_URL
(base of the printed dashboard/embed URLs; default GRAFANA_URL), GRAFANA_TIMEOUT (seconds, default 10),
ALERT_WEBHOOK_TOKEN (put into the webhook contact point). `--env NAME` reads the target from
`--env-file` (default provisioning/environments.yaml; see environments.example.yaml). Tokens are read
from the environment only and are never printed.

Exit codes:
    0  success (or: plan computed, no drift)
    1  failed: Grafana unreachable, or a write was rejected (see the one-line error)
    2  configuration error: missing/invalid settings or rendered files, bad credentials (401),
       insufficient role (403)
    3  refused: an object of ours was edited in Grafana or is managed by another tool (use --force), or
       one of our uids is someone else's object (never overwritten)
A plan whose dry run Grafana rejected exits 1 (the publish would fail).
With --plan --detailed-exitcode: 0 no changes, 2 changes pending, 3 drift or not ours, 1 any error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from scripts.common.exits import ExitCode
from scripts.common.paths import REPO_ROOT
from scripts.grafana.apps import ApiChoice, choose_api, current_org
from scripts.grafana.client import Grafana
from scripts.grafana.errors import PublishError, config_error
from scripts.grafana.target import Target, load_target, request_timeout, safe_url
from scripts.publish.apply import FAILED, OK, Outcome, apply_plan
from scripts.publish.apps_writer import AppsWriter
from scripts.publish.desired import Desired, load_desired
from scripts.publish.kinds import change_diff
from scripts.publish.model import Action, Change, Kind, Plan
from scripts.publish.plan import build_plan
from scripts.publish.revision import current_revision
from scripts.publish.writers import Writer
from scripts.rendered.layout import OUTPUT_DIR

WORKERS = 8  # concurrent requests: hides latency without hammering Grafana's database
PROGRESS_FROM = 20  # show progress on stderr when at least this many objects are written


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", help="target named in the environments file (default: GRAFANA_* variables)")
    parser.add_argument("--env-file", type=Path, default=Path("provisioning/environments.yaml"))
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / OUTPUT_DIR, help="rendered files")
    parser.add_argument(
        "--plan", "--dry-run", dest="plan_only", action="store_true", help="plan only, write nothing"
    )
    parser.add_argument("--diff", action="store_true", help="show a unified diff for every change")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--force", action="store_true", help="overwrite dashboards edited in Grafana")
    parser.add_argument(
        "--prune", action="store_true", help="delete managed objects that are no longer in code"
    )
    parser.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait for Grafana to be healthy"
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="with --plan: exit 0 no changes, 2 changes pending, 3 drift or not ours, 1 any error",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="KIND/KEY",
        help="plan and publish only these objects, e.g. dashboard/chat-overview (repeatable)",
    )
    parser.add_argument(
        "--api",
        choices=("auto", "apps", "legacy"),
        default="auto",
        help="publish folder and dashboards through the app platform (/apis) or the legacy /api "
        "(auto: /apis when Grafana serves it)",
    )
    args = parser.parse_args(argv)
    if args.detailed_exitcode and not args.plan_only:
        parser.error("--detailed-exitcode goes with --plan: a publish exits 0, 1, 2 or 3 as documented")
    for only in args.only:
        if only.partition("/")[0] not in set(Kind) or not only.partition("/")[2]:
            parser.error(f"--only {only!r}: expected KIND/KEY with KIND one of {', '.join(Kind)}")
    return args


def ensure_rendered(directory: Path) -> None:
    """Refuse to publish the repository's rendered tree when it is stale: an edit of dashboards/ that was
    not rendered would otherwise plan as "unchanged". (A tree elsewhere was not rendered from this
    repository's definitions: nothing to compare it with.)"""
    if directory.resolve() != (REPO_ROOT / OUTPUT_DIR).resolve():
        return
    check = [sys.executable, "-m", "scripts.render", "--check", "--out", str(directory)]
    completed = subprocess.run(check, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != ExitCode.OK:
        reason = (completed.stderr.strip().splitlines() or ["render --check failed"])[-1]
        raise config_error(f"the rendered files are not what the code renders ({reason})")


def selected(plan: Plan, only: list[str], suffix: str) -> Plan:
    """The plan narrowed to the objects `--only` names (by their key in code, or in this target)."""
    if not only:
        return plan
    wanted = {tuple(item.split("/", 1)) for item in only}
    keys = {(kind, key + suffix) for kind, key in wanted} | wanted
    return Plan([c for c in plan.changes if (c.kind, c.key) in keys], plan.grafana_version, plan.api)


# ---- output ----------------------------------------------------------------------------------------------
def _summary(plan: Plan) -> str:
    counts = {action: sum(1 for c in plan.changes if c.action == action) for action in Action}
    return "plan: " + ", ".join(f"{n} {action}" for action, n in counts.items())


def _api_of(change: Change) -> str:
    return change.api or "/api"


def print_plan(plan: Plan, target: Target, show_diff: bool, force: bool, out: TextIO) -> None:
    where = f"Grafana {safe_url(target.url)} ({plan.grafana_version})"
    print(f"{where}, env {target.name}, folder {target.folder_uid}", file=out)
    if plan.api:
        print(f"folder and dashboards through {plan.api}; alerting through /api", file=out)
    for change in plan.changes:
        note = f" - {change.reason}" if change.reason else ""
        if change.action == Action.DRIFTED:
            verb = "overwrites" if change.desired is not None else "deletes"
            note += f" (--force {verb} it)" if not force else f" (--force given: publishing {verb} it)"
        elif change.action == Action.MANAGED:
            note += " (--force takes it over)" if not force else " (--force given: taking it over)"
        elif change.action == Action.NOT_OURS and change.desired is not None:
            note += " (refused: our code has an object of this uid; rename ours)"
        via = f" [{_api_of(change)}]" if change.kind in (Kind.FOLDER, Kind.DASHBOARD) else ""
        print(f"  {change.action:<10} {change.label}{note}{via}", file=out)
        if change.rejection:
            print(f"      rejected by Grafana (dry run): {change.rejection}", file=out)
        if change.action == Action.DRIFTED or (show_diff and change.action != Action.UNCHANGED):
            diff = change_diff(change)
            if diff:
                print("\n".join("      " + line for line in diff.splitlines()), file=out)
    print(_summary(plan), file=out)


def dry_run(writer: Writer, plan: Plan, force: bool, pool: ThreadPoolExecutor) -> None:
    """Ask Grafana to validate each folder/dashboard write without storing it (app platform only); its
    answer goes onto the change as `rejection`."""
    if not isinstance(writer, AppsWriter):
        return
    checked = [
        c for c in plan.writes(force) if c.kind in (Kind.FOLDER, Kind.DASHBOARD) and c.desired is not None
    ]
    for change, rejection in zip(checked, pool.map(writer.dry_run, checked), strict=True):
        change.rejection = rejection


def _urls(plan: Plan, outcomes: list[Outcome], desired: Desired, target: Target) -> dict[str, Any]:
    base = target.public_url.rstrip("/")
    paths = {
        c.key: c.url
        for c in plan.changes
        if c.kind == Kind.DASHBOARD and c.url and c.action != Action.NOT_OURS
    }
    paths.update(
        {
            o.change.key: o.url
            for o in outcomes
            if o.change.kind == Kind.DASHBOARD and o.status == OK and o.url
        }
    )
    dashboards = {uid: base + paths[uid] for uid in desired.dashboards if paths.get(uid)}
    embeds = [
        {"title": e.get("title", ""), "url": base + str(e["path"])} for e in desired.embeds if e.get("path")
    ]
    return {"dashboards": dashboards, "embeds": embeds}


def _progress(done: int, total: int) -> None:
    if total >= PROGRESS_FROM and (done == total or done % max(1, total // 10) == 0):
        print(f"publishing: {done}/{total}", file=sys.stderr, flush=True)


def _exit_code(plan: Plan, outcomes: list[Outcome], force: bool, detailed: bool) -> int:
    failed = [o for o in outcomes if o.status == FAILED]
    if failed:  # a refused write of configuration (401/403) says so, like the same refusal in the plan
        return ExitCode.CONFIG if all(o.exit_code == ExitCode.CONFIG for o in failed) else ExitCode.FAILED
    if plan.rejected():
        return ExitCode.FAILED  # the publish would fail: Grafana said so
    if plan.refused() or ((plan.drifted() or plan.managed()) and not force):
        return ExitCode.DRIFT
    return ExitCode.CHANGES_PENDING if detailed and plan.pending() else ExitCode.OK


def _change_json(change: Change, with_diff: bool) -> dict[str, Any]:
    item = {
        "kind": change.kind,
        "key": change.key,
        "action": change.action,
        "reason": change.reason,
        "api": _api_of(change),
        "rejection": change.rejection,
    }
    if with_diff:
        item["diff"] = change_diff(change)
    return item


# ---- main ------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace, out: TextIO) -> int:
    target = load_target(args.env, args.env_file)
    ensure_rendered(args.dir)
    desired = load_desired(args.dir, target, require_secrets=not args.plan_only)
    grafana = Grafana(target, timeout_s=request_timeout(os.environ))
    version = grafana.wait_healthy(args.wait)
    choice = choose_api(grafana, args.api, version, lambda: target.org_id or current_org(grafana))
    writer = _writer(grafana, desired, choice)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        plan = build_plan(grafana, desired, pool, prune=args.prune, api=choice)
        plan = selected(plan, args.only, target.uid_suffix)
        plan.grafana_version = version
        if args.plan_only:
            dry_run(writer, plan, args.force, pool)
        if not args.json:
            print_plan(plan, target, args.diff, args.force, out)
            if args.plan_only and not choice.apps and plan.writes(args.force):
                print(
                    "no server-side dry run on the legacy /api: Grafana checks the writes at publish",
                    file=out,
                )
        outcomes: list[Outcome] = []
        if not args.plan_only:
            outcomes = apply_plan(writer, plan, pool, args.force, None if args.json else _progress)
    code = _exit_code(plan, outcomes, args.force, args.detailed_exitcode)
    urls = _urls(plan, outcomes, desired, target)
    if args.json:
        report = {
            "grafana": safe_url(target.url),
            "version": version,
            "api": choice.name,
            "env": target.name,
            "applied": not args.plan_only,
            "plan": [_change_json(c, args.diff) for c in plan.changes],
            "results": [
                {
                    "kind": o.change.kind,
                    "key": o.change.key,
                    "action": o.change.action,
                    "status": o.status,
                    "error": o.error,
                }
                for o in outcomes
            ],
            "retries": grafana.retried,
            "exit_code": code,
            **urls,
        }
        json.dump(report, out, indent=2)
        print(file=out)
        return code
    _print_results(outcomes, plan, args, urls, out)
    _print_import_hints(plan, desired, target, args, out)
    return code


def _writer(grafana: Grafana, desired: Desired, choice: ApiChoice) -> Writer:
    revision = current_revision()
    if choice.apps:
        return AppsWriter(
            grafana,
            desired.folder_uid,
            revision,
            desired.rule_sources,
            desired.owner,
            choice,
            desired.dashboard_sources,
        )
    return Writer(grafana, desired.folder_uid, revision, desired.rule_sources, desired.owner)


def _print_import_hints(
    plan: Plan, desired: Desired, target: Target, args: argparse.Namespace, out: TextIO
) -> None:
    """For each refused UI edit: the command that turns it into code (scripts/import)."""
    if args.force:
        return
    env = f" --env {target.name}" if args.env else ""
    for change in plan.drifted():
        module = desired.dashboard_sources.get(change.key)
        if change.kind == Kind.DASHBOARD and change.desired is not None and module:
            print(
                f"  keep the edit of {change.label} in code: "
                f"python -m scripts.import --uid {change.key} --into {module}{env}",
                file=out,
            )


def _print_results(
    outcomes: list[Outcome], plan: Plan, args: argparse.Namespace, urls: dict[str, Any], out: TextIO
) -> None:
    for outcome in outcomes:
        if outcome.status != OK:
            print(f"{outcome.status}: {outcome.error}", file=out)
    if not args.plan_only:
        written = sum(1 for o in outcomes if o.status == OK)
        print(
            f"applied: {written} written, {sum(1 for o in outcomes if o.status != OK)} not written", file=out
        )
    if plan.drifted() and not args.force:
        names = ", ".join(c.label for c in plan.drifted())
        print(
            f"refused: {names} changed in Grafana since our last publish; review the diff, port the edit "
            "into code, or re-run with --force to overwrite it",
            file=out,
        )
    if plan.managed() and not args.force:
        names = ", ".join(c.label for c in plan.managed())
        print(
            f"refused: {names} managed in Grafana by another tool (see the plan); left as it is, "
            "re-run with --force to take it over",
            file=out,
        )
    if plan.rejected():
        names = ", ".join(c.label for c in plan.rejected())
        print(f"rejected: Grafana's dry run refused {names}; `make publish` would fail there", file=out)
    if plan.refused():
        names = ", ".join(c.label for c in plan.refused())
        print(
            f"refused: {names} in Grafana belong to someone else and were left as they are; give ours "
            "another uid (or the environment a uid_suffix), or ask the owner",
            file=out,
        )
    if urls["dashboards"]:
        print("Dashboards:", file=out)
        for uid, url in urls["dashboards"].items():
            print(f"  {uid:<24} {url}", file=out)
    if urls["embeds"]:
        print("Embeds:", file=out)
        for embed in urls["embeds"]:
            print(f"  {embed['title']:<24} {embed['url']}", file=out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args, sys.stdout)
    except PublishError as error:
        print(f"publish: error: {error}", file=sys.stderr)
        code = ExitCode.FAILED if args.detailed_exitcode else error.exit_code
        if args.json:
            json.dump({"error": str(error), "exit_code": code}, sys.stdout)
            print()
        return code
    except KeyboardInterrupt:
        print("publish: interrupted", file=sys.stderr)
        return ExitCode.FAILED
