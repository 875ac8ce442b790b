"""Small dashboards of our own for the import tests, and how to run the import on them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from scripts.common.paths import REPO_ROOT
from tests.support.definitions import run_render

PROM = {"type": "prometheus", "uid": "${datasource}"}
# Real dashboards (dotdc/grafana-dashboards-kubernetes, Apache-2.0): beside the repository, never in it.
CORPUS_DIR = Path(os.environ.get("IMPORT_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus" / "dashboards"))


def timeseries(
    panel_id: int, title: str, x: int, y: int, w: int = 12, h: int = 8, **extra: Any
) -> dict[str, Any]:
    return {
        "datasource": PROM,
        "fieldConfig": {
            "defaults": {
                "custom": {"drawStyle": "line", "lineWidth": 1},
                "mappings": [],
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"color": "green", "value": None}, {"color": "red", "value": 80}],
                },
                "unit": "s",
            },
            "overrides": [],
        },
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "id": panel_id,
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        "targets": [
            {
                "datasource": PROM,
                "expr": 'sum(rate(http_requests_total{job="api"}[5m]))',
                "legendFormat": "rps",
                "refId": "A",
            }
        ],
        "title": title,
        "type": "timeseries",
        **extra,
    }


def base_dashboard(**extra: Any) -> dict[str, Any]:
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "editable": True,
        "id": 12,
        "version": 3,
        "panels": [
            {
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
                "id": 1,
                "panels": [],
                "title": "Traffic",
                "type": "row",
            },
            timeseries(2, "Requests", 0, 1),
            timeseries(3, "Latency", 12, 1),
        ],
        "schemaVersion": 41,
        "tags": ["api"],
        "templating": {
            "list": [
                {
                    "current": {"text": "Prometheus", "value": "prometheus"},
                    "name": "datasource",
                    "options": [],
                    "query": "prometheus",
                    "type": "datasource",
                }
            ]
        },
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": "API service",
        "uid": "api-service",
        **extra,
    }


def variant(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(base_dashboard(**changes))


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def run_import(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m scripts.import ...` as a subprocess: the real exit code, stdout and stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    environ.update(PYTHONPATH=str(REPO_ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "scripts.import", *args],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def definitions_package(root: Path, name: str = "imported_defs") -> Path:
    """An empty definitions package for `scripts.render --definitions` (not the repository's dashboards/)."""
    package = root / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    return package


def render(package: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return run_render("--definitions", str(package), "--out", str(out))
