"""The architecture of scripts/, as a test: stages over shared rooms, one way, one exit-code table.

A stage (render, lint, verify, publish) imports `scripts.rendered` and `scripts.common`, never a sibling
stage and never a tool built on the stages (demo, loadgen, watch); the shared rooms import no stage at all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.common.paths import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"
STAGES = ("render", "lint", "verify", "publish", "import")
SHARED = ("common", "rendered", "grafana")
TOOLS = ("demo", "loadgen", "watch")  # built on the stages: no stage or shared room may import them


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SCRIPTS.rglob("*.py")):
        if "node_modules" not in path.parts:
            yield ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts), path


def imported(path: Path) -> set[str]:
    """Every `scripts.*` module the file imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("scripts.")}


def room(module: str) -> str:
    """scripts.lint.cli -> lint; scripts.demo -> demo."""
    return module.split(".")[1]


def test_the_stages_and_rooms_exist() -> None:
    for name in (*STAGES, *SHARED):
        assert (SCRIPTS / name / "__init__.py").is_file(), f"scripts/{name}/ is not a package"
    for stage in STAGES:
        assert (SCRIPTS / stage / "__main__.py").is_file(), f"python -m scripts.{stage} has no __main__.py"


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=lambda v: str(v))
def test_no_stage_imports_a_sibling_and_shared_rooms_import_no_stage(module: str, path: Path) -> None:
    own = room(module)
    if own in TOOLS:
        return
    allowed = set(SHARED) | ({own} if own in STAGES else set())
    if own in SHARED:
        allowed = set(SHARED)
    wrong = sorted(name for name in imported(path) if room(name) not in allowed)
    assert not wrong, f"{path.relative_to(REPO_ROOT)} ({own}) imports {', '.join(wrong)}"


def test_the_shared_rooms_do_not_import_each_other_both_ways() -> None:
    """common is below rendered: rendered may use common, common never uses rendered."""
    for module, path in modules():
        if room(module) == "common":
            assert not any(room(name) == "rendered" for name in imported(path)), module


def test_no_import_cycles() -> None:
    graph = {module: {m for m in imported(path) if m in dict(modules())} for module, path in modules()}
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            assert state.get(target) != "open", "import cycle: " + " -> ".join([*trail, module, target])
            if target not in state:
                visit(target, [*trail, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def _literal_exit_codes(path: Path) -> list[int]:
    """Lines where a CLI's main() or run() returns a bare integer instead of an ExitCode."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name in ("main", "run"):
            for inner in ast.walk(node):
                value = inner.value if isinstance(inner, ast.Return) else None
                candidates = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                lines += [
                    inner.lineno for c in candidates if isinstance(c, ast.Constant) and type(c.value) is int
                ]
    return lines


def test_every_cli_exits_with_codes_from_the_one_table() -> None:
    clis = [SCRIPTS / stage / "cli.py" for stage in STAGES] + [
        SCRIPTS / f"{tool}.py" for tool in TOOLS if (SCRIPTS / f"{tool}.py").is_file()
    ]
    clis += [SCRIPTS / tool / "cli.py" for tool in TOOLS if (SCRIPTS / tool / "cli.py").is_file()]
    offenders = {str(p.relative_to(REPO_ROOT)): _literal_exit_codes(p) for p in clis}
    assert not {p: lines for p, lines in offenders.items() if lines}, "use scripts.common.exits.ExitCode"


def _a_test_module(module: str) -> bool:
    return module.startswith("tests.") and (
        module.rsplit(".", 1)[-1].startswith("test_") or module == "tests.conftest"
    )


def test_no_test_module_imports_another_test_module() -> None:
    """Shared test code lives in tests/support (or is a fixture in conftest.py), never in a test module."""
    tests = REPO_ROOT / "tests"
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        offenders += [
            f"{path.relative_to(REPO_ROOT)} imports {name}" for name in sorted(names) if _a_test_module(name)
        ]
    assert not offenders, offenders
