"""ChatConfig.from_env: documented defaults, overrides, and one-line errors for bad values."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import app.config
from app.config import ChatConfig, ConfigError
from scripts.common.paths import REPO_ROOT
from scripts.common.procs import app_argv, free_port, managed_process


def test_defaults_match_the_documented_ones() -> None:
    config = ChatConfig.from_env({})
    assert config == ChatConfig()
    doc = app.config.__doc__ or ""
    documented = {
        "HOST": config.host, "PORT": config.port, "APP_ENV": config.app_env, "LOG_LEVEL": config.log_level,
        "CHAT_MAX_FRAME_BYTES": config.max_frame_bytes, "CHAT_MAX_TEXT_CHARS": config.max_text_chars,
        "CHAT_MAX_NAME_CHARS": config.max_name_chars, "CHAT_RATE_PER_SECOND": 5, "CHAT_RATE_BURST": 10,
        "CHAT_ABUSE_MAX_REJECTS": config.abuse_max_rejects, "CHAT_ABUSE_WINDOW_S": 10,
        "CHAT_PING_INTERVAL_S": 25, "CHAT_IDLE_TIMEOUT_S": 60, "CHAT_SEND_QUEUE_SIZE": config.send_queue_size,
        "CHAT_SHUTDOWN_GRACE_S": 5, "CHAT_METRICS": 1,
        "GRAFANA_EMBEDS_PATH": "provisioning/grafana/embeds.json",
        "LOKI_QUEUE_SIZE": 10000, "LOKI_BATCH_BYTES": 1048576, "LOKI_BATCH_LINES": 5000,
        "LOKI_BATCH_WAIT_S": 1, "LOKI_TIMEOUT_S": 10, "LOKI_MAX_RETRIES": 10, "LOKI_MIN_BACKOFF_S": 0.5,
        "LOKI_MAX_BACKOFF_S": 30, "LOKI_SHUTDOWN_TIMEOUT_S": 5,
    }  # fmt: skip
    for name, default in documented.items():
        assert f"`{name}` (default `{default}`)" in doc, name
    assert (config.rate_per_second, config.rate_burst, config.ping_interval_s) == (5, 10, 25)
    assert config.grafana_embeds_path == REPO_ROOT / "provisioning" / "grafana" / "embeds.json"
    shipping = config.log_shipping
    assert (shipping.queue_size, shipping.batch_max_bytes, shipping.batch_max_lines) == (10000, 1 << 20, 5000)
    assert (shipping.batch_wait_s, shipping.timeout_s, shipping.max_retries) == (1, 10, 10)
    assert (shipping.min_backoff_s, shipping.max_backoff_s, shipping.shutdown_timeout_s) == (0.5, 30, 5)


def test_overrides_are_parsed() -> None:
    config = ChatConfig.from_env(
        {
            "PORT": "9000",
            "LOKI_URL": " http://loki:3100 ",
            "CHAT_ALLOWED_ORIGINS": "https://Chat.Example.com/, http://localhost:5173",
            "CHAT_RATE_PER_SECOND": "0.5",
            "CHAT_METRICS": "0",
            "LOG_LEVEL": "debug",
            "CHAT_SEND_QUEUE_SIZE": "",  # empty means default
            "GRAFANA_EMBEDS_PATH": "/srv/embeds.json",
            "LOKI_QUEUE_SIZE": "50",
            "LOKI_BATCH_WAIT_S": "0.25",
            "LOKI_MAX_RETRIES": "0",
        }
    )
    assert config.port == 9000
    assert config.loki_url == "http://loki:3100"
    assert config.allowed_origins == ("https://chat.example.com", "http://localhost:5173")
    assert config.rate_per_second == 0.5
    assert config.metrics_enabled is False
    assert config.log_level == "DEBUG"
    assert config.send_queue_size == 256
    assert config.hard_frame_bytes == 16 * config.max_frame_bytes
    assert config.grafana_embeds_path == Path("/srv/embeds.json")
    shipping = config.log_shipping
    assert (shipping.queue_size, shipping.batch_wait_s, shipping.max_retries) == (50, 0.25, 0)


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("PORT", "80a", "PORT must be an integer"),
        ("PORT", "70000", "PORT must be between 1 and 65535"),
        ("CHAT_RATE_BURST", "0", "CHAT_RATE_BURST must be >= 1"),
        ("CHAT_IDLE_TIMEOUT_S", "soon", "CHAT_IDLE_TIMEOUT_S must be a number"),
        ("CHAT_METRICS", "yes", "CHAT_METRICS must be one of 0, 1"),
        ("CHAT_ALLOWED_ORIGINS", "chat.example.com", "CHAT_ALLOWED_ORIGINS entries must look like"),
        ("LOG_LEVEL", "critical", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got 'CRITICAL'"),
        ("LOKI_QUEUE_SIZE", "lots", "^LOKI_QUEUE_SIZE must be a positive int"),
        ("LOKI_TIMEOUT_S", "0", "^LOKI_TIMEOUT_S must be a positive float"),
        ("LOKI_BATCH_BYTES", "-1", "^LOKI_BATCH_BYTES must be a positive int"),
        ("LOKI_BATCH_WAIT_S", "nan", "^LOKI_BATCH_WAIT_S must be a positive float"),
        ("LOKI_MAX_RETRIES", "-1", "^LOKI_MAX_RETRIES must be a non-negative int"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        ChatConfig.from_env({name: value})


@pytest.mark.parametrize(
    ("env", "args", "complaint"),
    [
        ({"CHAT_SEND_QUEUE_SIZE": "many"}, [], "CHAT_SEND_QUEUE_SIZE must be an integer >= 1, got 'many'"),
        ({"LOKI_URL": "ftp://loki"}, [], "LOKI_URL must be an http(s) URL such as"),
        (
            {"LOKI_URL": "http://127.0.0.1:9", "LOKI_QUEUE_SIZE": "x"},
            [],
            "LOKI_QUEUE_SIZE must be a positive",
        ),
        ({}, ["--port", "70000"], "argument --port: must be an integer between 1 and 65535, got '70000'"),
    ],
)
def test_server_refuses_bad_config_with_one_line(
    env: dict[str, str], args: list[str], complaint: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    # One line saying what is wrong (for a bad argument, argparse's usage line comes first).
    assert len(done.stderr.splitlines()) == (2 if args else 1), done.stderr
    assert done.stderr.splitlines()[-1].startswith(("error: ", "python -m app: error: "))
    assert complaint in done.stderr.splitlines()[-1]
    assert done.stdout == ""


def test_server_reports_a_busy_port_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            app_argv(port),
            cwd=REPO_ROOT,
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert done.stderr.count("\n") == 1 and "--port" in done.stderr


def test_host_and_port_come_from_the_environment() -> None:
    port = free_port()
    argv = [sys.executable, "-m", "app"]
    env = {"PYTHONPATH": str(REPO_ROOT), "HOST": "127.0.0.1", "PORT": str(port)}
    with managed_process(argv, ready_url=f"http://127.0.0.1:{port}/readyz", env=env) as proc:
        assert proc.poll() is None  # ready_url answered: it listens where HOST/PORT said


def test_the_readme_documents_every_variable_exactly_as_the_config_module_does() -> None:
    """README's configuration list is copied from this module's docstring: a stale copy fails here."""
    readme = (REPO_ROOT / "README.md").read_text()
    documented = app.config.__doc__.split("\n\n", 2)[2].strip()
    assert documented in readme, "README's configuration list is stale: copy it from app/config.py"
