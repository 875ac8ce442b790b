"""The drift loop end to end against the Grafana emulator: a dashboard imported into code is published, edited
in the UI, refused by publish (exit 3), turned into a code change by `import --uid --into`, and the next
publish is a no-op."""

from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.common.exits import ExitCode
from scripts.common.paths import DEFINITIONS_DIR
from tests.importer.fixtures import definitions_package, render, run_import, variant, write_json
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import run_publish

TOKEN = "glsa_importer_test_token"
UI_USER = ("admin", "admin")


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as emulator:
        yield emulator


def ui_edit(grafana: GrafanaEmulator, uid: str, edit: Any) -> None:
    """What a save in Grafana's UI does: the edited live JSON posted back, by a person."""
    live = call(grafana.url, "GET", f"/api/dashboards/uid/{uid}", token=TOKEN).json["dashboard"]
    edit(live)
    answer = call(
        grafana.url, "POST", "/api/dashboards/db", {"dashboard": live, "folderUid": "chat"}, basic=UI_USER
    )
    assert answer.status == 200, answer.text


def rename_and_raise_threshold(dashboard: dict[str, Any]) -> None:
    panel = next(p for p in dashboard["panels"] if p.get("title") == "Latency")
    panel["title"] = "Latency (p99)"
    panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] = 250


def test_a_ui_edit_becomes_a_python_change_and_the_next_publish_is_a_noop(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    package = definitions_package(tmp_path)
    rendered = tmp_path / "rendered"
    assert (
        run_import(str(write_json(tmp_path / "api.json", variant())), "--out", str(package)).returncode == 0
    )
    module = package / "api_service.py"
    before = module.read_text(encoding="utf-8")
    assert render(package, rendered).returncode == 0
    first = run_publish(grafana.url, rendered, token=TOKEN)
    assert first.returncode == ExitCode.OK, first.stdout + first.stderr

    ui_edit(grafana, "api-service", rename_and_raise_threshold)
    refused = run_publish(grafana.url, rendered, token=TOKEN)
    assert refused.returncode == ExitCode.DRIFT, refused.stdout

    env = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    pulled = run_import("--uid", "api-service", "--into", str(module), env=env)
    assert pulled.returncode == ExitCode.OK, pulled.stderr
    after = module.read_text(encoding="utf-8")
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[1:].strip() and not line.startswith(("+++", "---"))
    ]
    # The diff is the edit, as Python: the new title, the new threshold (the style it no longer shares
    # with the other panel is written out in place), nothing else; the module's docstring stays.
    assert '+                    title="Latency (p99)",' in changed
    assert any(line.startswith("+") and 'steps("green", (250, "red"))' in line for line in changed)
    assert all("Latency" in line or "THRESHOLDS" in line or "Thresholds(" in line for line in changed), (
        changed
    )
    assert after.split("\n\n")[0] == before.split("\n\n")[0]

    assert render(package, rendered).returncode == 0
    grafana.reset_log()
    again = run_publish(grafana.url, rendered, token=TOKEN)
    assert again.returncode == ExitCode.OK, again.stdout + again.stderr
    assert grafana.writes == 0, again.stdout
    assert "unchanged  dashboard api-service" in again.stdout


def test_import_uid_needs_a_grafana(tmp_path: Path) -> None:
    done = run_import("--uid", "api-service", "--into", str(tmp_path / "x.py"))
    assert done.returncode == ExitCode.CONFIG
    assert "GRAFANA_URL is not set" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_ui_edit_of_a_hand_written_module_changes_only_its_literals(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    """A copy of the hand-written chat overview (our helpers, f-strings, grid): the edited title and unit
    are patched where the author wrote them, and the rest of the module stays as it is."""
    package = definitions_package(tmp_path)
    module = package / "chat_overview.py"
    shutil.copyfile(DEFINITIONS_DIR / "chat_overview.py", module)
    before = module.read_text(encoding="utf-8")
    rendered = tmp_path / "rendered"
    assert render(package, rendered).returncode == 0
    assert run_publish(grafana.url, rendered, token=TOKEN).returncode == ExitCode.OK

    def edit(dashboard: dict[str, Any]) -> None:
        panel = next(p for p in dashboard["panels"] if p.get("title") == "Slow-consumer evictions")
        panel["title"] = "Evicted slow consumers"
        panel["fieldConfig"]["defaults"]["unit"] = "ops"

    ui_edit(grafana, "chat-overview", edit)
    assert run_publish(grafana.url, rendered, token=TOKEN).returncode == ExitCode.DRIFT
    env = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    pulled = run_import("--uid", "chat-overview", "--into", str(module), env=env)
    assert pulled.returncode == ExitCode.OK, pulled.stderr
    assert "edited in place" in pulled.stdout
    diff = [
        line
        for line in difflib.unified_diff(
            before.splitlines(), module.read_text().splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == [
        '-                    title="Slow-consumer evictions",',
        '+                    title="Evicted slow consumers",',
        "-                    unit=UNIT_PER_SECOND,",
        '+                    unit="ops",',
    ]
    assert render(package, rendered).returncode == 0
    grafana.reset_log()
    again = run_publish(grafana.url, rendered, token=TOKEN)
    assert again.returncode == ExitCode.OK and grafana.writes == 0, again.stdout


def test_a_structural_ui_edit_rewrites_the_module_keeping_its_embeddable_panels(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    """A panel added in the UI is more than changed values: the module is written anew (and says so), its
    docstring and `embeddable=True` marks kept, and the next publish is a no-op."""
    package = definitions_package(tmp_path)
    module = package / "chat_overview.py"
    shutil.copyfile(DEFINITIONS_DIR / "chat_overview.py", module)
    rendered = tmp_path / "rendered"
    assert render(package, rendered).returncode == 0
    embeds_before = json.loads((rendered / "embeds.json").read_text())
    assert run_publish(grafana.url, rendered, token=TOKEN).returncode == ExitCode.OK

    def add_panel(dashboard: dict[str, Any]) -> None:
        bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
        dashboard["panels"].append(
            {
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 24, "x": 0, "y": bottom},
                "id": 99,
                "targets": [
                    {"expr": "up", "refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                ],
                "title": "Up",
                "type": "timeseries",
            }
        )

    ui_edit(grafana, "chat-overview", add_panel)
    env = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    pulled = run_import("--uid", "chat-overview", "--into", str(module), env=env)
    assert pulled.returncode == ExitCode.OK, pulled.stderr
    assert "written anew in the import's style" in pulled.stderr
    text = module.read_text(encoding="utf-8")
    assert text.startswith('"""Chat overview: clients, message flow')
    assert 'title="Up"' in text
    assert render(package, rendered).returncode == 0
    assert json.loads((rendered / "embeds.json").read_text()) == embeds_before
    grafana.reset_log()
    again = run_publish(grafana.url, rendered, token=TOKEN)
    assert again.returncode == ExitCode.OK and grafana.writes == 0, again.stdout


def test_what_grafana_stores_is_reproduced_exactly_even_default_valued_keys(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    """A save by another tool may keep keys a UI save would drop (`transformations: []`) or leave out ones
    it adds (`weekStart`): read with --uid, the dashboard is taken as Grafana stores it; publish: a no-op."""
    package = definitions_package(tmp_path)
    rendered = tmp_path / "rendered"
    assert (
        run_import(str(write_json(tmp_path / "api.json", variant())), "--out", str(package)).returncode == 0
    )
    module = package / "api_service.py"
    assert render(package, rendered).returncode == 0
    assert run_publish(grafana.url, rendered, token=TOKEN).returncode == ExitCode.OK

    def api_save(dashboard: dict[str, Any]) -> None:
        dashboard["panels"][1]["transformations"] = []
        dashboard["panels"][1]["links"] = []
        dashboard.pop("weekStart")

    ui_edit(grafana, "api-service", api_save)
    env = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    pulled = run_import("--uid", "api-service", "--into", str(module), env=env)
    assert pulled.returncode == ExitCode.OK, pulled.stderr
    text = module.read_text(encoding="utf-8")
    assert "transformations=[]" in text and "weekStart=None" in text
    assert render(package, rendered).returncode == 0
    grafana.reset_log()
    again = run_publish(grafana.url, rendered, token=TOKEN)
    assert again.returncode == ExitCode.OK and grafana.writes == 0, again.stdout
