"""`make verify`: prove every dashboard panel and alert query returns data from a REAL app and Prometheus,
and that every PromQL alert fires when it must and stays quiet otherwise.

    python -m scripts.verify [--dir provisioning/grafana] [--seconds 8] [--work-dir DIR]

1. Starts the app on a free port (scripts/procs.running_app) and a real Prometheus on another, scraping
   the app every second as job "chat" and itself as job "prometheus".
2. Drives traffic with the load generator (scripts/loadgen.run_load), bad frames included, so every
   series moves.
3. Runs every Prometheus panel query (query_range over the traffic window, or an instant query) and every
   PromQL alert query through Prometheus's HTTP API, with Grafana's variables substituted as Grafana
   would: $__interval/$__rate_interval from the window and the 1 s scrape interval, $job/$instance from
   label_values() on this Prometheus. Every query must return at least one series with a real number.
   Loki panels and LogQL alerts are listed as not verifiable (no Loki here), never counted as passing.
4. Induces "app down" for real: the translated chat-app-down rule is quiet while the app runs and fires
   once verify stops the app.
5. Runs the promtool alert tests (scripts/alert_tests.py) for every PromQL alert.

Every process is stopped on exit, failure and SIGTERM/SIGHUP included (not on SIGKILL, which nothing can
catch). Every wait polls a condition under a deadline (no fixed sleeps). Exit 1 if anything fails, 2 if
verify cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dashboards.core.conventions import APP_JOB
from scripts.alert_tests import load_cases, run_alert_tests
from scripts.alert_translate import translate_rule
from scripts.lint_model import (
    Dashboard,
    Json,
    PanelQuery,
    Rendered,
    alert_queries,
    iter_panels,
    iter_rules,
    label_values_query,
    load_rendered,
    panel_queries,
    resolve_datasource_type,
    variable_query,
)
from scripts.lint_parse import Query, parse_queries
from scripts.loadgen import LoadError, LoadSpec, run_load
from scripts.procs import free_port, managed_process, poll_until, running_app
from scripts.promql_vars import UnknownVariableError, substitute, time_variables
from scripts.render_output import OUTPUT_DIR

SCRAPE_INTERVAL_S = 1
APP_DOWN_RULE = "chat-app-down"  # the one alert verify induces live, by stopping the app
APP_DOWN_TIMEOUT_S = 30.0  # generous: CI has 2 loaded cores
RUN_MARKER_ENV = "CHAT_VERIFY_RUN"  # set on every child process, so a test can prove none is left behind
_SPECIAL = re.compile(r"[$^*{}\[\]+?.()|]")


class VerifyError(RuntimeError):
    """verify cannot run (no rendered files, Prometheus did not start, ...)."""


@dataclass(frozen=True)
class QueryResult:
    where: str
    status: str  # "pass", "fail" or "not verifiable"
    series: int
    detail: str = ""


def prometheus_config(app_url: str, prometheus_port: int) -> Json:
    app_target = urllib.parse.urlparse(app_url).netloc
    return {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL_S}s",
        },
        "scrape_configs": [
            {"job_name": APP_JOB, "static_configs": [{"targets": [app_target]}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prometheus_port}"]}]},
        ],
    }


@contextlib.contextmanager
def running_prometheus(app_url: str, work_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """A real Prometheus scraping the app every second; yields its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise VerifyError("prometheus is not installed: apt-get install prometheus")
    port = free_port()
    config = work_dir / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(app_url, port)), encoding="utf-8")
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={work_dir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    log_path = work_dir / "prometheus.log"
    # A bounded, condition-based wait (polls /-/ready); 60 s leaves room for a loaded 2-core CI runner.
    with managed_process(argv, ready_url=f"{url}/-/ready", env=env, log_path=log_path, ready_timeout_s=60):
        yield url


@dataclass(frozen=True)
class LiveStack:
    app_url: str
    prometheus_url: str
    stop_app: Callable[[], None]  # stop the app early (to induce "app down"); idempotent


@contextlib.contextmanager
def live_stack(work_dir: Path) -> Iterator[LiveStack]:
    """The app and a Prometheus scraping it; both stopped on exit, whatever happens."""
    env = {RUN_MARKER_ENV: str(work_dir)}
    with contextlib.ExitStack() as app:  # its own stack, so that closing it early stops only the app
        app_url = app.enter_context(running_app(env=env, log_path=work_dir / "app.log"))
        with running_prometheus(app_url, work_dir, env) as prometheus_url:
            yield LiveStack(app_url, prometheus_url, app.close)


def prometheus_api(base_url: str, path: str, params: dict[str, Any]) -> Any:
    """GET a Prometheus API endpoint; return `data`, raise VerifyError with Prometheus's error otherwise."""
    url = f"{base_url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        body = json.load(exc)
    if body.get("status") != "success":
        raise VerifyError(f"{body.get('errorType', 'error')}: {body.get('error', body)}")
    return body["data"]


def wait_for_scrapes(prometheus_url: str, job: str, count: int, timeout_s: float = 30.0) -> None:
    """Block until Prometheus has scraped `job` successfully `count` more times."""
    query = f'count_over_time(up{{job="{job}"}}[10m])'

    def scrapes() -> float:
        result = prometheus_api(prometheus_url, "/api/v1/query", {"query": query})["result"]
        return float(result[0]["value"][1]) if result else 0.0

    target = scrapes() + count
    if not poll_until(lambda: scrapes() >= target, timeout_s, interval_s=SCRAPE_INTERVAL_S / 4):
        raise VerifyError(f"Prometheus did not scrape job {job} {count} times within {timeout_s:.0f}s")


def grafana_value(values: list[str], variable: Json) -> str:
    """How Grafana writes a Prometheus variable's selected `values` into a query (interpolateQueryExpr).

    A multi-value or include-All variable is a regex: each value escaped as prometheusSpecialRegexEscape
    does (a regex metacharacter gets two backslashes, a backslash four, because the value lands inside a
    PromQL string literal), several joined as `(a|b)`, one alone bare. A single-value variable only has its
    backslashes doubled (prometheusRegularEscape).
    """
    if not (variable.get("multi") or variable.get("includeAll")):
        return values[0].replace("\\", "\\\\") if values else ""
    escaped = [_SPECIAL.sub(r"\\\\\g<0>", v.replace("\\", "\\\\\\\\")) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def template_values(prometheus_url: str, dashboard: Dashboard) -> dict[str, str]:
    """Each template variable's value as Grafana would substitute it, "All" selected where offered.

    Variables on the Loki datasource only feed Loki queries, which are syntax-checked, never run, here:
    they get a match-anything placeholder instead of a Prometheus lookup.
    """
    values: dict[str, str] = {}
    for name, variable in dashboard.variables.items():
        kind = variable.get("type")
        if kind == "datasource":
            values[name] = variable_query(variable)
        elif kind == "custom":
            options = [o.strip() for o in variable_query(variable).split(",") if o.strip()]
            values[name] = _selected(variable, options)
        elif resolve_datasource_type(variable.get("datasource"), dashboard.variables) == "loki":
            values[name] = ".+"
        elif parsed := label_values_query(variable):
            selector, label = parsed
            params: dict[str, Any] = {}
            try:
                if selector:
                    params["match[]"] = substitute(selector, values).text
            except UnknownVariableError as exc:
                raise VerifyError(f"template variable {name}: {exc} (define it before {name})") from exc
            found = prometheus_api(prometheus_url, f"/api/v1/label/{label}/values", params)
            values[name] = _selected(variable, sorted(found))
    return values


def _selected(variable: Json, options: list[str]) -> str:
    """With "All" offered, its custom value or every option; otherwise the first option, as Grafana picks."""
    if variable.get("includeAll") and variable.get("allValue"):
        return str(variable["allValue"])
    return grafana_value(options if variable.get("includeAll") else options[:1], variable)


def _with_data(result: list[Json]) -> int:
    """Series that hold at least one real number (NaN-only series show nothing in a panel)."""

    def numbers(series: Json) -> list[float]:
        points = series.get("values") or ([series["value"]] if "value" in series else [])
        return [float(value) for _, value in points if not math.isnan(float(value))]

    return sum(1 for series in result if numbers(series))


def run_query(prometheus_url: str, expr: str, start: float, end: float, step_s: float, instant: bool) -> int:
    if instant:
        data = prometheus_api(prometheus_url, "/api/v1/query", {"query": expr, "time": end})
    else:
        params = {"query": expr, "start": start, "end": end, "step": step_s}
        data = prometheus_api(prometheus_url, "/api/v1/query_range", params)
    return _with_data(data["result"])


def _logql_syntax_only(where: str, expr: str) -> QueryResult:
    """No Loki here: a LogQL query is not verifiable, but its syntax is checked with Loki's grammar."""
    [facts] = parse_queries([Query("logql", expr)])
    if facts["errors"]:
        error = facts["errors"][0]
        return QueryResult(where, "fail", 0, f"LogQL syntax error at column {error['from'] + 1}: {expr}")
    return QueryResult(where, "not verifiable", 0, "LogQL: no Loki here; syntax OK (Loki's grammar)")


def _check_query(
    prometheus_url: str, query: PanelQuery, values: dict[str, str], window: tuple[float, float], instant: bool
) -> QueryResult:
    where = f"{query.where} [{query.ref_id}]"
    try:
        expr = substitute(query.expr, values).text
        if query.lang == "logql":
            return _logql_syntax_only(where, expr)
        step_s = int(values["__interval_ms"]) / 1000  # Grafana's query step is $__interval
        series = run_query(prometheus_url, expr, window[0], window[1], step_s, instant)
    except (UnknownVariableError, VerifyError) as exc:
        return QueryResult(where, "fail", 0, str(exc))
    if series == 0:
        return QueryResult(where, "fail", 0, f"no data for: {expr}")
    return QueryResult(where, "pass", series)


def check_panels(prometheus_url: str, rendered: Rendered, window: tuple[float, float]) -> list[QueryResult]:
    start, end = window
    times = time_variables(end - start, SCRAPE_INTERVAL_S)
    results = []
    for dashboard in rendered.dashboards:
        values = {**times, **template_values(prometheus_url, dashboard)}
        for ref in iter_panels(dashboard):
            targets = {str(t.get("refId")): t for t in ref.panel.get("targets") or [] if isinstance(t, dict)}
            for query in panel_queries(ref):
                target = targets.get(query.ref_id, {})
                instant = bool(target.get("instant")) and not target.get("range")
                results.append(_check_query(prometheus_url, query, values, window, instant))
    return results


def check_alert_queries(
    prometheus_url: str, rendered: Rendered, window: tuple[float, float]
) -> list[QueryResult]:
    # Alert rules have no dashboard: only Grafana's time variables exist for them.
    values = time_variables(window[1] - window[0], SCRAPE_INTERVAL_S)
    return [
        _check_query(prometheus_url, query, values, window, instant=True)
        for rule in iter_rules(rendered.rule_groups)
        for query in alert_queries(rule)
    ]


def check_app_down_live(stack: LiveStack, rendered: Rendered) -> list[QueryResult]:
    """Induce "app down" for real: the translated rule must be quiet while the app runs, fire once stopped."""
    where = f"alert {APP_DOWN_RULE} live"
    rule = next((r for r in iter_rules(rendered.rule_groups) if r.get("uid") == APP_DOWN_RULE), None)
    if rule is None:
        return [QueryResult(where, "fail", 0, f"rules.json has no rule {APP_DOWN_RULE}")]
    condition = translate_rule(rule)["expr"]

    def firing() -> int:
        now = time.time()
        return run_query(stack.prometheus_url, condition, now, now, SCRAPE_INTERVAL_S, instant=True)

    quiet = firing()
    stack.stop_app()
    # Condition-based: the next failed scrape makes it fire; the deadline only bounds a stuck Prometheus.
    poll_until(lambda: firing() > 0, APP_DOWN_TIMEOUT_S, interval_s=SCRAPE_INTERVAL_S / 4)
    fired = firing()
    return [
        QueryResult(
            f"{where}, app up",
            "fail" if quiet else "pass",
            quiet,
            f"fires while the app is up: {condition}" if quiet else "",
        ),
        QueryResult(
            f"{where}, app stopped",
            "pass" if fired else "fail",
            fired,
            "" if fired else f"stays quiet: {condition}",
        ),
    ]


def drive_traffic(app_url: str, seconds: float) -> str:
    """Real websocket clients, 20 % bad frames so every rejection reason has a series that moves."""
    result = run_load(LoadSpec(url=app_url, clients=4, seconds=seconds, rate=40, bad_ratio=0.2))
    return result.summary()


def verify_live(rendered: Rendered, work_dir: Path, seconds: float) -> list[QueryResult]:
    with live_stack(work_dir) as stack:
        wait_for_scrapes(stack.prometheus_url, APP_JOB, 1)
        start = time.time()
        print(
            f"verify: app {stack.app_url}, prometheus {stack.prometheus_url}; traffic {seconds:g}s",
            flush=True,
        )
        print(f"verify: load: {drive_traffic(stack.app_url, seconds)}", flush=True)
        wait_for_scrapes(stack.prometheus_url, APP_JOB, 2)  # the last traffic is scraped
        window = (start, time.time())
        results = check_panels(stack.prometheus_url, rendered, window)
        results += check_alert_queries(stack.prometheus_url, rendered, window)
        return results + check_app_down_live(stack, rendered)


def print_results(title: str, rows: list[QueryResult], with_series: bool) -> None:
    print(f"\n{title}")
    width = min(max((len(r.where) for r in rows), default=10), 80)
    for row in rows:
        series = f"series={row.series:<3} " if with_series else ""
        print(f"  {row.where.ljust(width)}  {row.status:<14}  {series}{row.detail}")


def exit_cleanly_on_termination() -> None:
    """Turn SIGTERM/SIGHUP (a CI timeout, a closed terminal) into SystemExit, so that every `finally` runs.

    The app and Prometheus run in their own process groups (scripts/procs), so a signal that kills verify
    outright would leave them running; as SystemExit it unwinds the context managers that stop them.
    """

    signals = (signal.SIGTERM, signal.SIGHUP)

    def handler(signum: int, _frame: object) -> None:
        for other in signals:  # a second signal must not interrupt the cleanup itself
            signal.signal(other, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    for signum in signals:
        signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=OUTPUT_DIR, help="render output")
    parser.add_argument("--seconds", type=float, default=8.0, help="traffic duration (default: %(default)s)")
    parser.add_argument(
        "--work-dir", type=Path, help="keep Prometheus data and logs here (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    if not args.seconds > 0:
        parser.error("--seconds must be a positive number of seconds of traffic")
    exit_cleanly_on_termination()
    rendered = load_rendered(args.dir)
    if not rendered.dashboards:
        print(
            f"error: no dashboards in {args.dir}/dashboards: run `python -m scripts.render` first",
            file=sys.stderr,
        )
        return 2
    if rendered.load_findings:  # an unreadable file would otherwise be skipped, i.e. silently "verified"
        for finding in rendered.load_findings:
            print(f"error: {finding.where}: {finding.message}", file=sys.stderr)
        return 2
    try:
        with contextlib.ExitStack() as stack:
            work_dir = args.work_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="verify-"))
            )
            work_dir.mkdir(parents=True, exist_ok=True)
            live = verify_live(rendered, work_dir, args.seconds)
        alerts = [
            QueryResult(f"alert {r.uid} {r.case}".rstrip(), r.status, 0, r.detail.replace("\n", " "))
            for r in run_alert_tests(rendered.rule_groups, load_cases())
        ]
    # RuntimeError: a process exited before it answered (scripts/procs), promtool/node missing.
    except (LoadError, TimeoutError, RuntimeError, OSError) as exc:
        print(f"error: verify could not run: {exc}", file=sys.stderr)
        return 2
    print_results("Panel and alert queries (series with data):", live, with_series=True)
    print_results("Alert rule tests (promtool test rules):", alerts, with_series=False)
    failed = [r for r in live + alerts if r.status == "fail"]
    unverifiable = [r for r in live + alerts if r.status == "not verifiable"]
    passed = len(live) + len(alerts) - len(failed) - len(unverifiable)
    print(
        f"\nverify: {passed} passed, {len(failed)} failed, {len(unverifiable)} skipped (not verifiable here)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
