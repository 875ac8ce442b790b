"""Render dashboards and alerting definitions to Grafana provisioning files.

    python -m scripts.render [--out DIR] [--definitions PKG_DIR] [--check]

Writes the rendered tree into DIR (default provisioning/grafana; its layout: scripts/rendered/layout.py).
With --check nothing in DIR changes: the files are rendered to a temporary directory and compared with
DIR; stale files make it exit 1. A bad definition exits 1 with one line naming the module and the object.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from dashboards.core.validate import DefinitionError
from scripts.common.exits import ExitCode
from scripts.common.paths import DEFINITIONS_DIR, REPO_ROOT
from scripts.render.discover import discover
from scripts.render.files import render_files
from scripts.rendered.layout import (
    ALERTING_YAML_FILE,
    CONTACT_POINTS_FILE,
    DASHBOARDS_DIR,
    EMBEDS_FILE,
    OUTPUT_DIR,
    POLICIES_FILE,
    RULES_FILE,
    SOURCES_FILE,
)

FIXED_FILES = (
    RULES_FILE, CONTACT_POINTS_FILE, POLICIES_FILE, ALERTING_YAML_FILE, EMBEDS_FILE, SOURCES_FILE
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.render", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / OUTPUT_DIR, help="output directory")
    parser.add_argument(
        "--definitions",
        type=Path,
        default=DEFINITIONS_DIR,
        help="package of dashboard/alert modules",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the files in --out are stale")
    args = parser.parse_args(argv)
    if not (args.definitions / "__init__.py").is_file():
        parser.error(f"--definitions {args.definitions} is not a Python package (no __init__.py)")
    return args


def managed_files(out: Path) -> set[str]:
    """Files under `out` that the renderer owns (other tools may keep their own files next to them)."""
    dashboards = {f"{DASHBOARDS_DIR}/{p.name}" for p in (out / DASHBOARDS_DIR).glob("*.json")}
    return dashboards | {name for name in FIXED_FILES if (out / name).is_file()}


def write_files(files: dict[str, str], out: Path) -> list[str]:
    """Write changed files and delete managed files no definition produces any more; returns the changes."""
    changed = []
    for name, text in sorted(files.items()):
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(name)
    for name in sorted(managed_files(out) - files.keys()):
        (out / name).unlink()
        changed.append(name)
    return changed


def stale_files(files: dict[str, str], out: Path) -> list[str]:
    """Names of files in `out` that differ from, are missing from, or are absent in a fresh render."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        write_files(files, fresh)
        names = managed_files(fresh) | managed_files(out)
        return sorted(
            name
            for name in names
            if not (fresh / name).is_file()
            or not (out / name).is_file()
            or (fresh / name).read_bytes() != (out / name).read_bytes()
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        files = render_files(discover(args.definitions))
    except DefinitionError as error:
        print(f"render: {error}", file=sys.stderr)
        return ExitCode.FAILED
    if args.check:
        stale = stale_files(files, args.out)
        if stale:
            print(
                f"render: stale files in {args.out}: {', '.join(stale)}; run `make render`", file=sys.stderr
            )
            return ExitCode.FAILED
        print(f"render: {len(files)} files in {args.out} are up to date")
        return ExitCode.OK
    try:
        changed = write_files(files, args.out)
    except OSError as error:  # e.g. --out names a file or a read-only place
        print(f"render: cannot write to {args.out}: {error.strerror} ({error.filename})", file=sys.stderr)
        return ExitCode.FAILED
    print(f"render: {len(files)} files in {args.out}, {len(changed)} changed")
    return ExitCode.OK
