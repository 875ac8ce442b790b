"""Lint on imported dashboards of other services: the app-registry findings are named as such in one line,
and `--foreign` skips exactly those for dashboards without the `chat` tag (the chat ones stay checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scripts.common.paths import REPO_ROOT
from tests.importer.fixtures import definitions_package, render, run_import, variant, write_json

APP_RULES = {"promql-metric", "promql-label", "promql-job-instance", "template-variable-query"}


def lint(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.lint", "--dir", str(directory), "--json", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rules_by_dashboard(done: subprocess.CompletedProcess[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in json.loads(done.stdout)["findings"]:
        found.setdefault(finding["dashboard_uid"], set()).add(finding["rule"])
    return found


def test_foreign_skips_the_app_registry_checks_of_other_services_only(tmp_path: Path) -> None:
    package = definitions_package(tmp_path)
    assert (
        run_import(str(write_json(tmp_path / "api.json", variant())), "--out", str(package)).returncode == 0
    )
    # A chat dashboard (it carries the `chat` tag) with the same unknown metric stays checked.
    chat = variant(uid="chat-api", title="Chat API", tags=["chat"])
    assert run_import(str(write_json(tmp_path / "chat.json", chat)), "--out", str(package)).returncode == 0
    out = tmp_path / "rendered"
    assert render(package, out).returncode == 0

    plain = lint(out)
    assert plain.returncode == 1
    before = rules_by_dashboard(plain)
    assert "promql-metric" in before["api-service"] and "promql-metric" in before["chat-api"]
    text = subprocess.run(
        [sys.executable, "-m", "scripts.lint", "--dir", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert "metric http_requests_total is not exported by the app" in text.stdout
    assert (
        "our app does not export, on dashboards of other services (no `chat` tag): api-service;"
        in text.stdout
    )
    assert "--foreign" in text.stdout

    skipped = rules_by_dashboard(lint(out, "--foreign"))
    assert not (skipped.get("api-service", set()) & APP_RULES)
    assert "promql-metric" in skipped["chat-api"]
    # What is the dashboard's own (here: panels without a description) is still reported.
    assert "panel-title-description" in skipped["api-service"]
