"""Every real dashboard of the corpus imports, renders and round-trips: publish's own comparison finds
nothing to write, and `make render` accepts the generated modules."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from dashboards.core.cleanup import plain_json
from scripts.publish.compare import content_hash
from tests.importer.fixtures import CORPUS_DIR, definitions_package, render, run_import

convert = importlib.import_module("scripts.import.convert")
normalise = importlib.import_module("scripts.import.normalise")
build = importlib.import_module("scripts.import.build")

CORPUS = sorted(CORPUS_DIR.glob("*.json")) if CORPUS_DIR.is_dir() else []


def test_the_corpus_is_there() -> None:
    assert CORPUS, f"no dashboards in {CORPUS_DIR} (set IMPORT_CORPUS_DIR)"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_a_real_dashboard_round_trips(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    result = convert.convert(data, str(path))
    dashboard = convert.load_module(result.source, "dashboards/imported.py").dashboard
    rendered = plain_json(dashboard)
    expected = normalise.saved_form(data, build.Notes())
    assert content_hash(rendered) == content_hash(expected)
    # Nothing of the export is lost but its bookkeeping and import metadata.
    assert {k for k in data if k not in rendered} <= {"id", "version", "__inputs", "__requires", "__elements"}
    assert result.layout == "grid"
    assert "Raw(" not in result.source or result.notes, "every escape hatch in the code is listed"


def test_the_corpus_imports_renders_and_the_code_is_formatted(tmp_path: Path) -> None:
    package = definitions_package(tmp_path)
    done = run_import(str(CORPUS_DIR), "--out", str(package))
    assert done.returncode == 0, done.stderr
    modules = sorted(package.glob("[!_]*.py"))
    assert len(modules) == len(CORPUS)
    rendered = render(package, tmp_path / "rendered")
    assert rendered.returncode == 0, rendered.stderr
    for path in CORPUS:
        uid = json.loads(path.read_text(encoding="utf-8"))["uid"]
        assert (tmp_path / "rendered" / "dashboards" / f"{uid}.json").is_file()
    again = run_import(str(CORPUS_DIR), "--out", str(package))
    assert again.returncode == 1 and "exists (rewrite it with --into" in again.stderr
