"""Import Grafana dashboards into Python modules under dashboards/: `make import`.

    python -m scripts.import FILE.json|DIR ... [--out dashboards] [--force]
    python -m scripts.import --uid UID [--env NAME] [--into dashboards/<module>.py]

Each dashboard becomes one module (named after its title) of dashboards.core calls that renders back
to the same dashboard, as Grafana stores it after a save (scripts/import/normalise.py); the import
proves that before it writes anything. What our classes do not model is carried in a typed escape hatch
(`raw=Raw({...})`, PluginPanel, LibraryPanel) and listed on stderr; what cannot be carried at all is
refused with one line naming it. `--uid` reads the dashboard from Grafana (the same GRAFANA_* variables
or `--env` as publish), undoing the environment's uid/title suffix and datasource mapping; with `--into`
it rewrites that module, so `git diff` shows a UI edit as a Python change and the next publish is a no-op.

Exit codes: 0 written, 1 a dashboard refused (nothing written for it), 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dashboards.core.dashboard import ChatDashboard
from scripts.common.exits import ExitCode
from scripts.common.paths import DEFINITIONS_DIR, REPO_ROOT
from scripts.grafana.errors import PublishError

from .build import ImportRefused, Notes
from .codegen import FormatError
from .convert import content, convert, first_difference, load_module
from .live import read_live
from .naming import module_name
from .normalise import saved_form
from .patch import patched_module, rendered_dashboard


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.import", description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="*", type=Path, help="dashboard JSON files or directories of them")
    parser.add_argument("--uid", help="read this dashboard from Grafana instead")
    parser.add_argument("--env", help="the Grafana target from --env-file (default: GRAFANA_* variables)")
    parser.add_argument(
        "--env-file", type=Path, default=REPO_ROOT / "provisioning" / "environments.yaml", help="environments"
    )
    parser.add_argument("--into", type=Path, help="the module to rewrite (with --uid: a UI edit into code)")
    parser.add_argument(
        "--out", type=Path, default=DEFINITIONS_DIR, help="where new modules go (%(default)s)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing module of the same name")
    args = parser.parse_args(argv)
    if bool(args.inputs) == bool(args.uid):
        parser.error("give dashboard files/directories or --uid UID (one of them)")
    if args.into is not None and len(args.inputs) > 1:
        parser.error("--into takes one dashboard")
    return args


def input_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(path.glob("*.json"))
        else:
            yield path


def read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ImportRefused(f"cannot read it: {error}") from None
    except json.JSONDecodeError as error:
        raise ImportRefused(f"not JSON: {error.msg} at line {error.lineno}") from None
    # The envelope of GET /api/dashboards/uid/<uid> (a saved API answer) holds the dashboard itself.
    return data["dashboard"] if isinstance(data, dict) and isinstance(data.get("dashboard"), dict) else data


def embeddable_ids(path: Path, uid: str) -> frozenset[int]:
    """Panels the module being rewritten marks `embeddable=True` (not in the JSON: the code keeps them)."""
    if not path.is_file():
        return frozenset()
    try:
        module = load_module(path.read_text(encoding="utf-8"), str(path))
    except Exception as error:  # a module that no longer loads: say what is not carried over, go on
        print(
            f"import: {path}: cannot read its embeddable panels ({type(error).__name__}: {error})",
            file=sys.stderr,
        )
        return frozenset()
    return frozenset(
        panel.id
        for value in vars(module).values()
        if isinstance(value, ChatDashboard) and value.uid == uid
        for panel in value.embeddable_panels()
    )


def kept_docstring(path: Path) -> str | None:
    """The docstring of the module --into rewrites: the author's words stay, the diff shows the edit."""
    try:
        return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def target_path(args: argparse.Namespace, data: dict[str, Any]) -> Path:
    if args.into is not None:
        return args.into
    return args.out / f"{module_name(str(data.get('title', '')), str(data.get('uid', '')))}.py"


def edit_in_place(data: dict[str, Any], origin: str, path: Path, stored: bool) -> bool:
    """--into a module whose code already renders the dashboard, or where the edit only changed values
    written as literals there: keep the module, patch those literals (patch.py). False: write it anew."""
    try:
        expected = saved_form(data, Notes(), stored)
        source = path.read_text(encoding="utf-8")
        current = rendered_dashboard(source, str(path), str(expected.get("uid")))
    except (ImportRefused, OSError, UnicodeDecodeError):
        return False
    except Exception:  # the module does not load any more: it is written anew
        return False
    if current is not None and not first_difference(content(expected), content(current)):
        print(f"import: {origin} -> {path} (unchanged: the code already renders it)")
        return True
    patched = patched_module(source, str(path), expected)
    if patched is None:
        return False
    path.write_text(patched, encoding="utf-8")
    print(f"import: {origin} -> {path} (edited in place: the changed values, nothing else)")
    return True


def import_one(data: dict[str, Any], origin: str, args: argparse.Namespace) -> bool:
    """Convert and write one dashboard; False (after one line on stderr) when it is refused."""
    path = target_path(args, data) if isinstance(data, dict) else args.out / "invalid.py"
    stored = args.uid is not None  # read from Grafana: reproduced exactly as it is stored
    if args.into is not None and path.is_file():
        if edit_in_place(data, origin, path, stored):
            return True
        print(
            f"import: {origin}: {path}: the edit is more than values written as literals there: the module "
            "is written anew in the import's style (its docstring and embeddable panels kept)",
            file=sys.stderr,
        )
    try:
        kept = (
            (kept_docstring(path), embeddable_ids(path, str(data.get("uid"))))
            if args.into
            else (None, frozenset())
        )
        result = convert(data, origin, str(path), docstring=kept[0], embeddable=kept[1], stored=stored)
    except (ImportRefused, FormatError) as error:
        print(f"import: {origin}: refused: {error}", file=sys.stderr)
        return False
    if path.exists() and args.into is None and not args.force:
        print(
            f"import: {origin}: refused: {path} exists (rewrite it with --into {path}, or --force)",
            file=sys.stderr,
        )
        return False
    for line in result.notes:
        print(f"import: {origin}: {line}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = not path.exists() or path.read_text(encoding="utf-8") != result.source
    path.write_text(result.source, encoding="utf-8")
    state = "written" if changed else "unchanged"
    print(f"import: {origin} -> {path} ({state}, {result.layout} layout, {len(result.notes)} notes)")
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.uid:
        try:
            data = read_live(args.uid, args.env, args.env_file)
        except PublishError as error:
            print(f"import: error: {error}", file=sys.stderr)
            return error.exit_code
        return ExitCode.OK if import_one(data, f"Grafana dashboard {args.uid}", args) else ExitCode.FAILED
    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        print(f"import: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return ExitCode.CONFIG
    files = list(input_files(args.inputs))
    if not files:
        print(
            f"import: error: no dashboard JSON files in {', '.join(map(str, args.inputs))}", file=sys.stderr
        )
        return ExitCode.CONFIG
    results = []
    for path in files:
        try:
            data = read_file(path)
        except ImportRefused as error:
            print(f"import: {path}: refused: {error}", file=sys.stderr)
            results.append(False)
            continue
        results.append(import_one(data, str(path), args))
    return ExitCode.OK if all(results) else ExitCode.FAILED
