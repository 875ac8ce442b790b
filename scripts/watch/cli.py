"""Watch the definitions and publish every save to a personal preview in Grafana: `make watch`.

    python -m scripts.watch [--env NAME] [--definitions DIR] [--out DIR] [--cleanup] [--once]

On each save of a module of dashboards/ it imports that module (and the modules using it) again, renders,
runs the fast lint checks, and publishes the dashboards and rule groups the save changed to the preview
target: the configured Grafana (GRAFANA_* or --env, as for `make publish`) with the folder
`preview-<user>`, uids ending `-pv-<user>`, titles ending ` (preview <user>)` and the owner
`grafana-chat-as-code/preview-<user>`, so it never writes an object `make publish` owns. Preview alert
rules are paused and route nowhere. A save of dashboards/core restarts the watcher (every module uses it).
The query checks (node, promtool) run once saves pause for a moment and report in a line of their own.
Ctrl-C or SIGTERM stops it (exit 0); --cleanup then deletes the preview's objects and folder.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import watchfiles

import dashboards.core
from scripts.common.alert_cases import CASES_PATH
from scripts.common.exits import ExitCode
from scripts.common.paths import DEFINITIONS_DIR, README_PATH, REPO_ROOT
from scripts.grafana.errors import PublishError
from scripts.grafana.target import load_target, safe_url
from scripts.lint.contributing import load_guides
from scripts.publish.revision import Revision
from scripts.rendered.layout import OUTPUT_DIR
from scripts.watch.checks import QueryChecks
from scripts.watch.loop import WAITING, Session, clock
from scripts.watch.preview import preview_target
from scripts.watch.publishing import Preview
from scripts.watch.rerender import Renderer

# watchfiles yields once no further change came for STEP_MS (an editor's several writes of one save are
# one change), and at the latest after DEBOUNCE_MS of continuous changes.
STEP_MS = 100
DEBOUNCE_MS = 1000
CORE_DIR = Path(dashboards.core.__file__).parent
REVISION = Revision("preview", "make watch preview")  # a preview is no commit: its versions say so


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", help="target named in the environments file (default: GRAFANA_* variables)")
    parser.add_argument("--env-file", type=Path, default=Path("provisioning/environments.yaml"))
    parser.add_argument(
        "--definitions", type=Path, default=DEFINITIONS_DIR, help="package of dashboard modules"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / ".run" / "watch",
        help="the watcher's render (not provisioning/grafana)",
    )
    parser.add_argument("--cleanup", action="store_true", help="delete the preview folder on exit")
    parser.add_argument("--once", action="store_true", help="publish the current state once and exit")
    args = parser.parse_args(argv)
    if not (args.definitions / "__init__.py").is_file():
        parser.error(f"--definitions {args.definitions} is not a Python package (no __init__.py)")
    if args.out.resolve() == (REPO_ROOT / OUTPUT_DIR).resolve():
        parser.error("--out must not be provisioning/grafana: that is what `make render` commits")
    return args


def say(line: str) -> None:
    print(line, flush=True)


def library_change(renderer: Renderer, paths: set[Path]) -> bool:
    """A save outside the top-level definitions modules (dashboards/core): every module may use it."""
    return any(renderer.module_name(path) is None for path in paths)


def core_importable() -> bool:
    """Whether dashboards.core imports in a new interpreter: a restart must not die of the author's error."""
    probe = subprocess.run(
        [sys.executable, "-c", "import dashboards.core"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        error = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        say(f"{clock()} dashboards/core: {error} {WAITING}")
    return probe.returncode == 0


def restart(session: Session) -> None:
    """Start over in this process: the classes of dashboards.core are the ones render and lint hold."""
    say(f"{clock()} dashboards/core changed: restarting the watcher")
    session.queries.stop()
    session.preview.close()
    os.execv(sys.executable, [sys.executable, "-m", "scripts.watch", *sys.argv[1:]])


def watch(session: Session, args: argparse.Namespace, stop: threading.Event) -> None:
    watched = [
        args.definitions,
        *([CORE_DIR] if not CORE_DIR.is_relative_to(args.definitions.resolve()) else []),
    ]
    say(f"{clock()} watching {', '.join(str(p) for p in watched)} (Ctrl-C stops)")
    for changes in watchfiles.watch(
        *watched,
        watch_filter=watchfiles.PythonFilter(),
        step=STEP_MS,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        raise_interrupt=False,
    ):
        paths = {Path(path) for _, path in changes}
        if library_change(session.renderer, paths):
            if core_importable():
                restart(session)
            continue
        names = sorted(p.name for p in paths)
        saved_at = max((p.stat().st_mtime for p in paths if p.exists()), default=time.time())
        modules = {session.renderer.module_name(p) for p in paths} - {None}
        session.handle(", ".join(names), modules, saved_at)


def run(args: argparse.Namespace) -> int:
    target = preview_target(load_target(args.env, args.env_file), getpass.getuser())
    cases = args.definitions / CASES_PATH.name
    guides = load_guides(README_PATH, cases if cases.is_file() else CASES_PATH)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    preview = Preview.open(target, REVISION)
    session = Session(Renderer(args.definitions), args.out, guides, preview, QueryChecks(args.out, say), say)
    say(f"{clock()} preview: folder {target.folder_uid} on {safe_url(target.url)}, owner {target.owner}")
    try:
        session.handle("start", [], time.time())
        if not args.once:
            watch(session, args, stop)
    finally:
        session.queries.stop()
        if args.cleanup:
            say(f"{clock()} cleanup: {preview.cleanup()}")
        preview.close()
    say(f"{clock()} watch stopped")
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except PublishError as error:
        print(f"watch: error: {error}", file=sys.stderr)
        return error.exit_code
