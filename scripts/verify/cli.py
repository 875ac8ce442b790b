"""`make verify`: prove every dashboard panel and alert query returns data from a REAL app and Prometheus,
and that every PromQL alert fires when it must and stays quiet otherwise.

    python -m scripts.verify [--dir provisioning/grafana] [--seconds 8] [--work-dir DIR] [--alerts-only]

1. Starts a real Redis and two app replicas fanned out through it (CHAT_REDIS_URL), each on a free port
   (scripts/common/procs.running_app), and a real Prometheus on another, scraping both replicas every second
   as job "chat" and itself as job "prometheus".
2. Drives traffic with the load generator (scripts/common/load.run_load) into both replicas at once, bad
   frames included, so every series moves on each of them.
3. Runs every Prometheus panel query (query_range over the traffic window, or an instant query) and every
   PromQL alert query through Prometheus's HTTP API, with Grafana's variables substituted as Grafana
   would: $__interval/$__rate_interval from the window and the 1 s scrape interval, $job/$instance from
   label_values() on this Prometheus. Every query must return at least one series with a real number, and
   a panel whose legend names {{instance}} one series per replica.
   Loki panels and LogQL alerts are listed as not verifiable (no Loki here), never counted as passing.
4. Induces "replica cut off from the broker" and "app down" for real: each translated rule is quiet while
   Redis (then the app) runs and fires once verify kills Redis (then stops the replicas).
5. Runs the promtool alert tests (scripts/verify/alert_tests.py) for every PromQL alert.

`--alerts-only` (`make alert-tests`) runs step 5 alone: promtool over the rendered rules and the cases in
dashboards/alerts.cases.yaml, no app and no Prometheus server, in seconds, for an author writing a case.

Every process is stopped on exit, failure and SIGTERM/SIGHUP included (not on SIGKILL, which nothing can
catch). Every wait polls a condition under a deadline (no fixed sleeps). Exit 1 if anything fails, 2 if
verify cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import yaml

from dashboards.core.conventions import APP_JOB
from scripts.common.alert_cases import load_cases
from scripts.common.exits import ExitCode
from scripts.common.load import LoadError, LoadSpec, run_load
from scripts.rendered.layout import OUTPUT_DIR
from scripts.rendered.tree import RenderedTree, load_tree
from scripts.verify.alert_tests import run_alert_tests
from scripts.verify.queries import (
    QueryResult,
    check_alert_queries,
    check_app_down_live,
    check_cut_off_live,
    check_panels,
)
from scripts.verify.stack import exit_cleanly_on_termination, live_stack, wait_for_scrapes


def drive_traffic(app_urls: tuple[str, ...], seconds: float) -> str:
    """Real websocket clients on every replica at once, 20 % bad frames so every rejection reason has a
    series that moves on each."""
    spec = LoadSpec(url="", clients=4, seconds=seconds, rate=40 / len(app_urls), bad_ratio=0.2)
    with ThreadPoolExecutor(max_workers=len(app_urls)) as pool:
        results = list(pool.map(lambda url: run_load(replace(spec, url=url)), app_urls))
    return "; ".join(f"{url}: {result.summary()}" for url, result in zip(app_urls, results, strict=True))


def verify_live(tree: RenderedTree, work_dir: Path, seconds: float) -> list[QueryResult]:
    with live_stack(work_dir) as stack:
        wait_for_scrapes(stack.prometheus_url, APP_JOB, 1)
        start = time.time()
        print(
            f"verify: app replicas {', '.join(stack.app_urls)}, prometheus {stack.prometheus_url}; "
            f"traffic {seconds:g}s",
            flush=True,
        )
        print(f"verify: load: {drive_traffic(stack.app_urls, seconds)}", flush=True)
        wait_for_scrapes(stack.prometheus_url, APP_JOB, 2)  # the last traffic is scraped
        window = (start, time.time())
        results = check_panels(stack.prometheus_url, tree, window, instances=len(stack.app_urls))
        results += check_alert_queries(stack.prometheus_url, tree, window)
        results += check_cut_off_live(stack, tree)
        return results + check_app_down_live(stack, tree)


def print_results(title: str, rows: list[QueryResult], with_series: bool) -> None:
    print(f"\n{title}")
    width = min(max((len(r.where) for r in rows), default=10), 80)
    for row in rows:
        series = f"series={row.series:<3} " if with_series else ""
        source = f"[{row.source}] " if row.source and row.status == "fail" else ""
        print(f"  {row.where.ljust(width)}  {row.status:<14}  {series}{source}{row.detail}")


def alert_results(tree: RenderedTree) -> list[QueryResult]:
    """The promtool alert tests, one row per case (or per rule, for a missing case or an untestable rule)."""
    return [
        QueryResult(f"alert {r.uid} {r.case}".rstrip(), r.status, 0, r.detail.replace("\n", " "))
        for r in run_alert_tests(tree.rule_groups, load_cases())
    ]


def report(live: list[QueryResult] | None, alerts: list[QueryResult]) -> int:
    """Print the tables (the live one unless it did not run: None) and the totals; the exit code they make."""
    if live is None:
        live = []
    else:
        print_results("Panel and alert queries (series with data):", live, with_series=True)
    print_results("Alert rule tests (promtool test rules):", alerts, with_series=False)
    failed = [r for r in live + alerts if r.status == "fail"]
    unverifiable = [r for r in live + alerts if r.status == "not verifiable"]
    passed = len(live) + len(alerts) - len(failed) - len(unverifiable)
    print(
        f"\nverify: {passed} passed, {len(failed)} failed, {len(unverifiable)} skipped (not verifiable here)"
    )
    return ExitCode.FAILED if failed else ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=OUTPUT_DIR, help="render output")
    parser.add_argument("--seconds", type=float, default=8.0, help="traffic duration (default: %(default)s)")
    parser.add_argument(
        "--work-dir", type=Path, help="keep Prometheus data and logs here (default: a temp dir)"
    )
    parser.add_argument(
        "--alerts-only",
        action="store_true",
        help="only the promtool alert tests: no app, no Prometheus server (make alert-tests)",
    )
    args = parser.parse_args(argv)
    if not args.seconds > 0:
        parser.error("--seconds must be a positive number of seconds of traffic")
    exit_cleanly_on_termination()
    tree = load_tree(args.dir)
    if not tree.dashboards:
        print(
            f"error: no dashboards in {args.dir}/dashboards: run `python -m scripts.render` first",
            file=sys.stderr,
        )
        return ExitCode.CONFIG
    if tree.problems:  # an unreadable file would otherwise be skipped, i.e. silently "verified"
        for finding in tree.problems:
            print(f"error: {finding.where}: {finding.message}", file=sys.stderr)
        return ExitCode.CONFIG
    live: list[QueryResult] | None = None
    try:
        if not args.alerts_only:
            with contextlib.ExitStack() as stack:
                work_dir = args.work_dir or Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="verify-"))
                )
                work_dir.mkdir(parents=True, exist_ok=True)
                live = verify_live(tree, work_dir, args.seconds)
        alerts = alert_results(tree)
    # RuntimeError: a process exited before it answered (scripts/common/procs), a program missing.
    # YAMLError: the cases file is not YAML, so there is nothing to run.
    except (LoadError, TimeoutError, RuntimeError, OSError, yaml.YAMLError) as exc:
        print(f"error: verify could not run: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    return report(live, alerts)
