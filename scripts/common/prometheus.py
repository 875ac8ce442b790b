"""A real Prometheus (Debian's `prometheus` package) scraping the app, for verify, the demo and the tests."""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from dashboards.core.conventions import APP_JOB
from scripts.common.procs import free_port, managed_process
from scripts.common.tools import require_tool


def prometheus_config(
    app_urls: str | Sequence[str], prometheus_port: int, scrape_interval_s: float
) -> dict[str, Any]:
    """Job `chat` scrapes the app, or every replica of it (one target each), and `prometheus` itself."""
    app_targets = [
        urllib.parse.urlparse(url).netloc for url in ([app_urls] if isinstance(app_urls, str) else app_urls)
    ]
    return {
        "global": {
            "scrape_interval": f"{scrape_interval_s:g}s",
            "evaluation_interval": f"{scrape_interval_s:g}s",
        },
        "scrape_configs": [
            {"job_name": APP_JOB, "static_configs": [{"targets": app_targets}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prometheus_port}"]}]},
        ],
    }


@contextlib.contextmanager
def running_prometheus(
    app_urls: str | Sequence[str], work_dir: Path, env: Mapping[str, str], scrape_interval_s: float = 1.0
) -> Iterator[str]:
    """A real Prometheus on a free loopback port, scraping the app (or its replicas) as job `chat`; yields
    its base URL."""
    binary = require_tool("prometheus")
    port = free_port()
    config = work_dir / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(app_urls, port, scrape_interval_s)), encoding="utf-8")
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={work_dir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    log_path = work_dir / "prometheus.log"
    # A bounded, condition-based wait (polls /-/ready); 60 s leaves room for a loaded 2-core CI runner.
    with managed_process(argv, ready_url=f"{url}/-/ready", env=env, log_path=log_path, ready_timeout_s=60):
        yield url
