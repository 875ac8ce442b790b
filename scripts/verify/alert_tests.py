"""Prove every PromQL alert rule fires when it must and stays quiet otherwise, with `promtool test rules`.

The Grafana rules (rules.json) are translated to Prometheus alerting rules (scripts/verify/translate.py);
hand-written cases (dashboards/alerts.cases.yaml: input series, eval time, expected alert labels) become one
promtool unit-test file per case, and ONE promtool run checks them all. A PromQL rule without both a
`fires` and a `quiet` case fails; a rule promtool cannot evaluate (LogQL) is reported as not verifiable.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from scripts.common.alert_cases import CASES_PATH, Cases, missing_cases
from scripts.common.paths import REPO_ROOT
from scripts.common.tools import ToolMissingError, require_tool
from scripts.rendered.model import Json
from scripts.verify.translate import translate_groups

_UNIT_HEADER = re.compile(r"^Unit Testing:\s+(\S+)", re.MULTILINE)
_CASES_SHOWN = CASES_PATH.relative_to(REPO_ROOT)  # the path as the author opens it


@dataclass(frozen=True)
class CaseResult:
    uid: str
    case: str  # "fires", "quiet", ... or "" for a rule-level result
    status: str  # "pass", "fail" or "not verifiable"
    detail: str = ""


def _test_file(rules_file: Path, uid: str, case: Json, rule: Json) -> Json:
    expected = [{"exp_labels": {**labels, **rule["labels"]}} for labels in case.get("exp_labels") or []]
    return {
        "rule_files": [str(rules_file)],
        "evaluation_interval": case.get("interval", "15s"),
        "tests": [
            {
                "interval": case.get("interval", "15s"),
                "input_series": case["input_series"],
                "alert_rule_test": [
                    {"eval_time": case["eval_time"], "alertname": uid, "exp_alerts": expected}
                ],
            }
        ],
    }


def _run_promtool(files: list[Path], timeout_s: float) -> dict[str, str]:
    """promtool's verdict per test file: "" on success, else its failure text."""
    promtool = require_tool("promtool")
    completed = subprocess.run(
        [promtool, "test", "rules", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream: a file's FAILED text (stderr) follows its header (stdout)
        text=True,
        timeout=timeout_s,
        check=False,
    )
    output = completed.stdout
    headers = list(_UNIT_HEADER.finditer(output))
    verdicts = {}
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(output)
        body = output[header.end() : end].strip()
        verdicts[header.group(1)] = "" if body.startswith("SUCCESS") else body
    if completed.returncode != 0 and not any(verdicts.values()):
        raise ToolMissingError(f"promtool test rules failed: {output.strip()[:800]}")
    return verdicts


def run_alert_tests(groups: list[Json], cases: Cases, timeout_s: float = 120.0) -> list[CaseResult]:
    """Translate `groups`, run every case of `cases` ({uid: {case name: case}}) and report each."""
    rules_file_data, skipped = translate_groups(groups)
    translated = {r["alert"]: r for g in rules_file_data["groups"] for r in g["rules"]}
    results = [CaseResult(uid, "", "not verifiable", reason) for uid, reason in skipped.items()]
    for uid in translated:
        missing = missing_cases(cases, uid)
        if missing:
            results.append(
                CaseResult(uid, "", "fail", f"add {' and '.join(missing)} case(s) to {_CASES_SHOWN}")
            )
    results += [
        CaseResult(uid, "", "fail", "a case for a rule that does not exist")
        for uid in set(cases) - set(translated) - set(skipped)
    ]
    with tempfile.TemporaryDirectory(prefix="alert-tests-") as tmp:
        rules_file = Path(tmp) / "translated-rules.yml"
        rules_file.write_text(yaml.safe_dump(rules_file_data, sort_keys=False), encoding="utf-8")
        files: dict[str, tuple[str, str]] = {}
        for uid, rule in translated.items():
            for name, case in (cases.get(uid) or {}).items():
                path = Path(tmp) / f"{uid}--{name}.yml"
                path.write_text(
                    yaml.safe_dump(_test_file(rules_file, uid, case, rule), sort_keys=False), encoding="utf-8"
                )
                files[str(path)] = (uid, name)
        verdicts = _run_promtool([Path(p) for p in files], timeout_s) if files else {}
    for path, (uid, name) in files.items():
        verdict = verdicts.get(path)
        if verdict is None:
            results.append(CaseResult(uid, name, "fail", "promtool did not report this case"))
        else:
            results.append(CaseResult(uid, name, "fail" if verdict else "pass", verdict))
    return results
