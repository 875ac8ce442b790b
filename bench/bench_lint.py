"""How long `python -m scripts.lint` takes on the project's dashboards and on 1,000 generated dashboards.

Both are timed end to end as a user runs it (a subprocess: interpreter start, registry, one node run, one
promtool run). The baseline, measured in the same run on the same files, is a subprocess that merely
imports nothing and json-loads every file: the floor any lint of these files must pay. The 1,000 are copies
of the rendered dashboards under new uids (same panels and queries), so every query is parsed again.

Targets: repo lint < 2 s, 1,000 dashboards < 20 s.

    python -m bench.bench_lint
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.common.paths import REPO_ROOT

GENERATED = 1000
TARGETS_S = {"repo": 2.0, f"{GENERATED} dashboards": 20.0}
JSON_LOAD = (
    "import json,pathlib,sys; [json.loads(p.read_text()) for p in pathlib.Path(sys.argv[1]).rglob('*.json')]"
)


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode not in (0, 1):  # 1 = findings, still a full lint
        raise SystemExit(f"bench: {argv[2]} failed: {completed.stderr.strip()}")
    return elapsed


def generate(rendered: Path, out: Path, count: int) -> Path:
    """`count` dashboards copied from the rendered ones under fresh uids, plus the real alert rules."""
    shutil.copytree(rendered, out)
    sources = [json.loads(p.read_text()) for p in sorted((rendered / "dashboards").glob("*.json"))]
    for n in range(count - len(sources)):
        dashboard = dict(sources[n % len(sources)])
        dashboard["uid"] = f"{dashboard['uid'][:30]}-{n:05d}"
        (out / "dashboards" / f"{dashboard['uid']}.json").write_text(json.dumps(dashboard))
    return out


def measure(label: str, directory: Path) -> None:
    baseline = min(timed([sys.executable, "-c", JSON_LOAD, str(directory)]) for _ in range(3))
    lint = timed([sys.executable, "-m", "scripts.lint", "--dir", str(directory)])
    files = len(list((directory / "dashboards").glob("*.json")))
    verdict = "ok" if lint < TARGETS_S[label] else "OVER TARGET"
    print(
        f"{label:>16}: lint {lint:6.2f} s = {lint / baseline:6.1f}x json-load baseline ({baseline:.3f} s), "
        f"{files} dashboards, target < {TARGETS_S[label]:g} s: {verdict}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        rendered = Path(tmp) / "rendered"
        subprocess.run(
            [sys.executable, "-m", "scripts.render", "--out", str(rendered)], cwd=REPO_ROOT, check=True,
            capture_output=True,
        )  # fmt: skip
        measure("repo", rendered)
        measure(f"{GENERATED} dashboards", generate(rendered, Path(tmp) / "generated", GENERATED))


if __name__ == "__main__":
    main()
