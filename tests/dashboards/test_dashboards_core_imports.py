"""`dashboards.core` resolves its names lazily, so the shared constants import without grafanalib."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

import dashboards.core as core
from scripts.common.paths import REPO_ROOT

REPO = REPO_ROOT


def type_checking_imports() -> dict[str, str]:
    """name -> submodule of the `if TYPE_CHECKING:` imports in dashboards/core/__init__.py."""
    tree = ast.parse(Path(core.__file__).read_text())
    block = next(
        node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.name: node.module.rsplit(".", 1)[-1]
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_type_checking_imports_all_and_the_lazy_table_agree() -> None:
    assert type_checking_imports() == core._SUBMODULE_OF
    assert sorted(core.__all__) == sorted(core._SUBMODULE_OF)


@pytest.mark.parametrize("name", core.__all__)
def test_every_exported_name_is_its_submodules_object(name: str) -> None:
    submodule = import_module(f"dashboards.core.{core._SUBMODULE_OF[name]}")
    assert getattr(core, name) is getattr(submodule, name)


def test_star_import_gives_every_exported_name() -> None:
    namespace: dict[str, Any] = {}
    exec("from dashboards.core import *", namespace)
    assert set(core.__all__) <= namespace.keys()


def test_an_unknown_name_is_an_import_error() -> None:
    with pytest.raises(AttributeError, match=r"module 'dashboards\.core' has no attribute 'Graph'"):
        _ = core.Graph
    with pytest.raises(ImportError, match="Graph"):
        exec("from dashboards.core import Graph", {})


@pytest.mark.parametrize(
    "module", ["dashboards.core", "dashboards.core.conventions", "dashboards.core.validate"]
)
def test_shared_modules_import_without_grafanalib(module: str) -> None:
    """scripts/ (lint, verify, publish) import these; grafanalib alone costs ~0.1 s per command."""
    code = f"import sys, {module}; sys.exit('grafanalib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0
