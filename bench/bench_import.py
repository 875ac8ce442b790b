"""How long `python -m scripts.import` takes on the real corpus, as a ratio to rendering the same dashboards.

Both are timed end to end as a user runs them (a subprocess each): importing every corpus dashboard into
modules (normalise, build, lay out, write, ruff format, render back and compare), and `python -m
scripts.render` of those modules. The runs alternate (import, render, import, ...) and the best of each is
kept, so a busy machine slows both alike. The corpus: real dashboards from dotdc/grafana-dashboards-kubernetes
(Apache-2.0; never copied into this repository), in the directory IMPORT_CORPUS_DIR names.

Target: the whole corpus imports in < 5 s ("a few seconds").

    python -m bench.bench_import
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.common.paths import REPO_ROOT

CORPUS_DIR = Path(os.environ.get("IMPORT_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus" / "dashboards"))
RUNS = 3
TARGET_S = 5.0


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[2:4])} failed: {completed.stderr.strip()[-500:]}")
    return elapsed


def main() -> None:
    corpus = sorted(CORPUS_DIR.glob("*.json"))
    if not corpus:
        raise SystemExit(f"bench: no dashboards in {CORPUS_DIR} (set IMPORT_CORPUS_DIR)")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        package = Path(tmp) / "imported_defs"
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        imports, renders = [], []
        for _ in range(RUNS):
            imports.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "scripts.import",
                        str(CORPUS_DIR),
                        "--out",
                        str(package),
                        "--force",
                    ]
                )
            )
            renders.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "scripts.render",
                        "--definitions",
                        str(package),
                        "--out",
                        f"{tmp}/out",
                    ]
                )
            )
    best_import, best_render = min(imports), min(renders)
    verdict = "ok" if best_import < TARGET_S else "OVER TARGET"
    print(
        f"import: {len(corpus)} corpus dashboards in {best_import:.2f} s = {best_import / best_render:.1f}x "
        f"rendering them ({best_render:.2f} s); best of {RUNS} alternating runs; target < {TARGET_S:g} s: "
        f"{verdict}"
    )


if __name__ == "__main__":
    main()
