"""The README's "add a dashboard" and "add an alert" examples work as written, in a copy of the repository.

The test reads the code blocks of README's "Dashboards and alerts as code" section and applies each where
its first line says (`# <path>`; `# <path>: one more rule in <group> = RuleGroup(...)`), the Markdown block
at the end of `## Runbooks`, to a copy of the repository (its git files, the installed .venv and grammars
linked, not reinstalled). There it runs render, lint and every suite that reads the real definitions: a
README example that breaks any of them, or a test that only passes for today's definitions, fails here.
The example module is the README's reference for the pieces of a dashboard, so each of them (a Logs panel,
a LogQL metric panel, row widths, tags, a link, an embeddable panel) must reach the rendered files.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from scripts.common.alert_cases import CASES_PATH
from scripts.common.paths import README_PATH, REPO_ROOT
from scripts.rendered.layout import EMBEDS_FILE, OUTPUT_DIR, RULES_FILE, dashboard_file

SECTION = "Dashboards and alerts as code"
RUNBOOKS = "Runbooks"
# The suites that read the repository's own definitions, README and rendered files (not this one: it
# would copy the copy).
SUITES = (
    "tests/dashboards",
    "tests/stack",
    "tests/lint/test_lint_cli.py",
    "tests/verify",
    "tests/app/test_embed_page.py",
)
INSTALLED = (".venv", "scripts/rendered/grammars/node_modules")  # linked into the copy, never copied
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_DESTINATION = re.compile(r"^# (?P<path>[\w./-]+)(?:: one more rule in (?P<group>\w+) = RuleGroup\b.*)?$")
_UID = re.compile(r'\buid="([^"]+)"')


def section(markdown: str, title: str) -> re.Match[str]:
    """The `## <title>` section, up to the next level-2 heading or the end."""
    found = re.search(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert found, f"README.md has no `## {title}` section"
    return found


def copy_repository(destination: Path) -> None:
    """The files git tracks or would track (untracked, not ignored), as they are in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not part of it
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    for name in INSTALLED:
        (destination / name).symlink_to(REPO_ROOT / name, target_is_directory=True)


def add_rule(module: Path, group: str, rule: str) -> None:
    """Append the source of one AlertRule(...) to `<group> = RuleGroup(..., rules=[...])` in `module`."""
    source = module.read_text(encoding="utf-8")
    call = next(
        node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [group]
    )
    assert isinstance(call, ast.Call), f"{module}: {group} is not a RuleGroup(...) call"
    rules = next(keyword.value for keyword in call.keywords if keyword.arg == "rules")
    assert isinstance(rules, ast.List) and rules.elts, f"{module}: {group} has no rules=[...] to add to"
    lines = source.splitlines(keepends=True)
    closing = (rules.end_lineno or 0) - 1
    assert lines[closing].strip().startswith("]"), f"{module}: put {group}'s closing `]` on its own line"
    indent = " " * rules.elts[0].col_offset
    lines.insert(closing, "".join(f"{indent}{line}\n" for line in f"{rule.rstrip()},".splitlines()))
    module.write_text("".join(lines), encoding="utf-8")


def add_runbook(readme: Path, runbook: str) -> None:
    text = readme.read_text(encoding="utf-8")
    end = section(text, RUNBOOKS).end()
    readme.write_text(f"{text[:end].rstrip()}\n\n{runbook.rstrip()}\n\n{text[end:]}", encoding="utf-8")


def apply_examples(root: Path) -> dict[str, str]:
    """Apply every example block of the README's authoring section to the copy at `root`.

    A block the repository already holds (a user who followed the README, then runs `make test`) is not
    applied twice. Returns the uid each kind of example declares ("dashboard", "rule"), to find its
    rendered output.
    """
    uids: dict[str, str] = {}
    seen: list[str] = []
    for lang, block in _BLOCK.findall(section(README_PATH.read_text(encoding="utf-8"), SECTION).group()):
        if lang == "markdown":
            heading = block.strip().splitlines()[0]
            runbooks = section((root / "README.md").read_text(encoding="utf-8"), RUNBOOKS).group()
            if heading not in runbooks.splitlines():
                add_runbook(root / "README.md", block)
            seen.append("runbook")
            continue
        first, _, body = block.partition("\n")
        destination = _DESTINATION.match(first)
        assert destination, f"a README example must start with `# <path it goes into>`, not {first!r}"
        target = root / destination["path"]
        present = target.read_text(encoding="utf-8") if target.exists() else ""
        declared = _UID.findall(body)
        if destination["group"]:
            uids["rule"] = declared[0]
            if f'uid="{declared[0]}"' not in present:
                add_rule(target, destination["group"], body)
            seen.append("rule")
        elif declared:
            uids["dashboard"] = declared[0]
            if f'uid="{declared[0]}"' not in present:
                target.write_text(body, encoding="utf-8")
            seen.append("module")
        else:
            key = body.strip().splitlines()[0]  # e.g. the alert uid the cases are keyed by
            if key not in present.splitlines():
                target.write_text(f"{present.rstrip()}\n\n{body}", encoding="utf-8")
            seen.append(f"append {destination['path']}")
    cases = f"append {CASES_PATH.relative_to(REPO_ROOT)}"
    assert sorted(seen) == sorted([cases, "module", "rule", "runbook"]), seen
    return uids


def assert_shows_the_authoring_pieces(rendered: Path, uid: str) -> None:
    """The example module is the README's reference for these pieces: each must reach the rendered files."""
    dashboard = json.loads((rendered / dashboard_file(uid)).read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    loki = {p["type"] for p in panels if any(t["datasource"]["type"] == "loki" for t in p["targets"])}
    assert loki == {"logs", "timeseries"}, "a Logs panel and a LogQL metric panel"
    assert len({p["gridPos"]["w"] for p in panels}) > 1, "a Row with widths=..."
    assert len(dashboard["tags"]) > 1 and len(dashboard["links"]) > 1, "tags, and a link of its own"
    embeds = json.loads((rendered / EMBEDS_FILE).read_text(encoding="utf-8"))
    assert any(embed["dashboard_uid"] == uid for embed in embeds), "an embeddable=True panel"


def run(root: Path, *argv: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=root, capture_output=True, text=True, timeout=timeout_s, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip


def test_the_readme_examples_render_lint_and_pass_the_suites(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    copy_repository(root)
    uids = apply_examples(root)

    render = run(root, "-m", "scripts.render", timeout_s=120)
    assert render.returncode == 0, render.stderr
    rendered = root / OUTPUT_DIR
    assert_shows_the_authoring_pieces(rendered, uids["dashboard"])
    assert f'"uid": "{uids["rule"]}"' in (rendered / RULES_FILE).read_text(encoding="utf-8")

    lint = run(root, "-m", "scripts.lint", timeout_s=120)
    assert lint.returncode == 0 and " 0 failed" in lint.stdout, lint.stdout + lint.stderr

    suites = run(
        root, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'pytest'}",
        f"--ignore={Path(__file__).relative_to(REPO_ROOT)}", *SUITES, timeout_s=600,
    )  # fmt: skip
    assert suites.returncode == 0, suites.stdout[-6000:] + suites.stderr[-2000:]
