"""CHAT_REDIS_* settings: read in app/config.py, a bad one a one-line error that never shows a password;
and the compose stack that runs replicas (Redis, deploy.replicas, one port each, Prometheus by DNS)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from app.config import ChatConfig, ConfigError
from scripts.common.paths import REPO_ROOT


def test_unset_is_one_process_and_set_values_are_read() -> None:
    assert ChatConfig.from_env({}).redis_url is None
    config = ChatConfig.from_env(
        {"CHAT_REDIS_URL": "redis://redis:6379/0", "CHAT_REDIS_LEASE_S": "3", "CHAT_REDIS_TIMEOUT_S": "0.2"}
    )
    assert (config.redis_url, config.redis_lease_s, config.redis_timeout_s) == (
        "redis://redis:6379/0",
        3,
        0.2,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHAT_REDIS_URL": "http://user:s3cret@redis:6379"}, "CHAT_REDIS_URL must start with redis://"),
        ({"CHAT_REDIS_LEASE_S": "0.1"}, "CHAT_REDIS_LEASE_S must be >= 0.5"),
        ({"CHAT_REDIS_RETRY_MAX_S": "soon"}, "CHAT_REDIS_RETRY_MAX_S must be a number"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        ChatConfig.from_env(env)
    assert "s3cret" not in str(refused.value)


def test_the_app_exits_2_with_one_line_for_a_bad_redis_url() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app", "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "CHAT_REDIS_URL": "tcp://x:p4ss@h"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0 and "CHAT_REDIS_URL" in completed.stderr
    assert "p4ss" not in completed.stderr


def _yaml(name: str) -> Any:
    return yaml.safe_load((REPO_ROOT / name).read_text(encoding="utf-8"))


def test_compose_runs_replicas_behind_one_port_each_with_redis_between_them() -> None:
    services = _yaml("docker-compose.yml")["services"]
    app = services["app"]
    [mapping] = app["ports"]
    host, ports, container = mapping.rsplit(":", 2)
    first, last = (int(port) for port in ports.split("-"))
    assert host == "127.0.0.1" and container == "8000"
    assert last - first + 1 == app["deploy"]["replicas"] >= 2, "one published port per replica"
    assert app["environment"]["CHAT_REDIS_URL"].startswith("redis://redis:")
    origins = app["environment"]["CHAT_ALLOWED_ORIGINS"].split(",")
    assert {f"http://localhost:{port}" for port in range(first, last + 1)} <= set(origins)
    assert "redis" in app["depends_on"]
    assert "ports" not in services["redis"], "the broker stays on the compose network"


def test_prometheus_discovers_every_replica_by_dns() -> None:
    [chat] = [
        job
        for job in _yaml("provisioning/prometheus/prometheus.yml")["scrape_configs"]
        if job["job_name"] == "chat"
    ]
    [dns] = chat["dns_sd_configs"]
    assert (dns["names"], dns["type"], dns["port"]) == (["app"], "A", 8000)
    assert "static_configs" not in chat, "a static target would be one replica"
