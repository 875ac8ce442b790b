"""Definitions packages written on the fly, and `python -m scripts.render` run over them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.common.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "provisioning" / "grafana"  # the repository's own rendered tree


def rule(condition: str = "C") -> str:
    return (
        "AlertRule(uid='r1', title='R', summary='s', description='d', runbook_anchor='a', severity='warning',"
        " expr='up', datasource_uid='prometheus', op='lt', threshold=1, pending_for='1m', no_data_state='OK',"
        f" exec_err_state='Error', dashboard=dashboard, panel_title='Up', condition={condition!r})"
    )


def run_render(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(
        [sys.executable, "-m", "scripts.render", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_package(root: Path, modules: dict[str, str]) -> Path:
    package = root / "baddefs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source)
    return package
