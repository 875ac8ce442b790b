"""`python -m scripts.watch` end to end against the emulator over real HTTP, on a copy of the definitions:
a save shows up in the preview, a broken module is one line and no write, rapid saves are one publish,
Ctrl-C leaves nothing running, and `make publish`'s objects in the same Grafana are never touched."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.common.paths import DEFINITIONS_DIR, REPO_ROOT
from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import run_publish

TOKEN = "glsa_watch_token"
PREVIEW_UID = "chat-overview-pv-alice"
TITLE = 'title="Chat overview"'
TIMEOUT_S = 20.0


class Watcher:
    """The watcher as a child process in a session of its own; its stdout lines arrive on a queue."""

    def __init__(self, grafana: GrafanaEmulator, definitions: Path, out: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
        env.update(GRAFANA_URL=grafana.url, GRAFANA_TOKEN=TOKEN, USER="alice", PYTHONPATH=str(REPO_ROOT))
        argv = [sys.executable, "-m", "scripts.watch", "--definitions", str(definitions), "--out", str(out)]
        argv += args
        self.process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, *needles: str) -> str:
        """The next line holding every needle (lines before it are skipped), within TIMEOUT_S."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if all(needle in line for needle in needles):
                return line
        raise AssertionError(f"no line with {needles} within {TIMEOUT_S} s")

    def quiet_lines(self, seconds: float) -> list[str]:
        """The lines printed in the next `seconds`, apart from the background query-check reports."""
        time.sleep(seconds)
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get())
        return [line for line in lines if "queries" not in line]


def session_processes(session_id: int) -> list[int]:
    """Every process still alive in the watcher's session (its children would be there)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def admin(grafana: GrafanaEmulator, path: str) -> Any:
    answer = call(grafana.url, "GET", path, token=TOKEN)
    assert answer.status == 200, answer.text
    return answer.json


def make_publish(grafana: GrafanaEmulator, definitions: Path, rendered: Path) -> str:
    """Render `definitions` and publish them as `make publish` does; what was published (see below)."""
    subprocess.run(
        [sys.executable, "-m", "scripts.render", "--definitions", str(definitions), "--out", str(rendered)],
        cwd=REPO_ROOT, check=True, capture_output=True,
    )  # fmt: skip
    assert run_publish(grafana.url, rendered, token=TOKEN).returncode == 0
    return published_by_make_publish(grafana)


def published_by_make_publish(grafana: GrafanaEmulator) -> str:
    """`make publish`'s folder, dashboards and rules, as canonical JSON: what the watcher must not change."""
    hits = admin(grafana, "/api/search?type=dash-db")
    ours = sorted(h["uid"] for h in hits if h.get("folderUid") == "chat")
    rules = [r for r in admin(grafana, "/api/v1/provisioning/alert-rules") if r["folderUID"] == "chat"]
    state = {"dashboards": [admin(grafana, f"/api/dashboards/uid/{uid}") for uid in ours], "rules": rules}
    return json.dumps(state, sort_keys=True)


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as emulator:
        yield emulator


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    copy = tmp_path / "watched_definitions"
    shutil.copytree(DEFINITIONS_DIR, copy, ignore=shutil.ignore_patterns("core", "__pycache__"))
    return copy


def test_a_save_is_published_to_the_preview_and_mistakes_wait_for_the_next(
    grafana: GrafanaEmulator, definitions: Path, tmp_path: Path
) -> None:
    before = make_publish(grafana, definitions, tmp_path / "make-render")

    watcher = Watcher(grafana, definitions, tmp_path / "watch-render")
    try:
        watcher.next_line("watching")
        preview = admin(grafana, f"/api/dashboards/uid/{PREVIEW_UID}")
        assert preview["meta"]["folderUid"] == "preview-alice"
        assert preview["dashboard"]["__publish"]["owner"] == "grafana-chat-as-code/preview-alice"
        assert preview["dashboard"]["title"] == "Chat overview (preview alice)"
        rules = [
            r for r in admin(grafana, "/api/v1/provisioning/alert-rules") if r["folderUID"] == "preview-alice"
        ]
        assert rules and all(r["isPaused"] for r in rules)
        assert {r["labels"]["managed_by"] for r in rules} == {"grafana-chat-as-code/preview-alice"}

        module = definitions / "chat_overview.py"
        source = module.read_text()
        assert TITLE in source
        module.write_text(source.replace(TITLE, 'title="Chat overview, edited"'))
        line = watcher.next_line("chat_overview.py:", "updated")
        assert f"dashboard {PREVIEW_UID} updated" in line and "(lint: 0 findings)" in line
        assert admin(grafana, f"/api/dashboards/uid/{PREVIEW_UID}")["dashboard"]["title"] == (
            "Chat overview, edited (preview alice)"
        )

        writes = grafana.writes
        module.write_text(source.replace(TITLE, 'title="Chat overview" +'))
        line = watcher.next_line("SyntaxError")
        assert line.endswith("(waiting for the next save)") and "chat_overview.py:" in line
        assert not watcher.quiet_lines(1.0) and grafana.writes == writes

        module.write_text(source.replace(TITLE, 'title="Chat overview, fixed"'))
        watcher.next_line(f"dashboard {PREVIEW_UID} updated")
        assert admin(grafana, f"/api/dashboards/uid/{PREVIEW_UID}")["dashboard"]["title"].startswith(
            "Chat overview, fixed"
        )

        writes = grafana.writes
        for n in range(3):  # an editor's three writes of one save, within 50 ms
            module.write_text(source.replace(TITLE, f'title="Chat overview, save {n}"'))
            time.sleep(0.015)
        watcher.next_line(f"dashboard {PREVIEW_UID} updated")
        assert not watcher.quiet_lines(1.0), "three writes in 50 ms must be one publish"
        assert grafana.writes == writes + 1
        assert admin(grafana, f"/api/dashboards/uid/{PREVIEW_UID}")["dashboard"]["title"].startswith(
            "Chat overview, save 2"
        )
    finally:
        watcher.process.send_signal(signal.SIGINT)
        code = watcher.process.wait(timeout=TIMEOUT_S)
    assert code == 0
    watcher.next_line("watch stopped")
    assert session_processes(watcher.process.pid) == []
    assert published_by_make_publish(grafana) == before


def test_cleanup_removes_the_preview_and_only_the_preview(
    grafana: GrafanaEmulator, definitions: Path, tmp_path: Path
) -> None:
    before = make_publish(grafana, definitions, tmp_path / "make-render")
    watcher = Watcher(grafana, definitions, tmp_path / "watch-render", "--cleanup")
    try:
        watcher.next_line("watching")
        assert admin(grafana, f"/api/dashboards/uid/{PREVIEW_UID}")["meta"]["folderUid"] == "preview-alice"
    finally:
        watcher.process.send_signal(signal.SIGINT)
        code = watcher.process.wait(timeout=TIMEOUT_S)
    assert code == 0
    assert call(grafana.url, "GET", f"/api/dashboards/uid/{PREVIEW_UID}", token=TOKEN).status == 404
    assert call(grafana.url, "GET", "/api/folders/preview-alice", token=TOKEN).status == 404
    rules = admin(grafana, "/api/v1/provisioning/alert-rules")
    assert not [r for r in rules if r["folderUID"] == "preview-alice"]
    assert published_by_make_publish(grafana) == before
