"""ChatConfig.from_env: documented defaults, overrides, and one-line errors for bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

import app.config
from app.config import ChatConfig, ConfigError
from scripts.procs import REPO_ROOT


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
    }  # fmt: skip
    for name, default in documented.items():
        assert f"`{name}` (default `{default}`)" in doc, name
    assert (config.rate_per_second, config.rate_burst, config.ping_interval_s) == (5, 10, 25)


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


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("PORT", "80a", "PORT must be an integer"),
        ("PORT", "70000", "PORT must be between 1 and 65535"),
        ("CHAT_RATE_BURST", "0", "CHAT_RATE_BURST must be >= 1"),
        ("CHAT_IDLE_TIMEOUT_S", "soon", "CHAT_IDLE_TIMEOUT_S must be a number"),
        ("CHAT_METRICS", "yes", "CHAT_METRICS must be one of 0, 1"),
        ("CHAT_ALLOWED_ORIGINS", "chat.example.com", "CHAT_ALLOWED_ORIGINS entries must look like"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        ChatConfig.from_env({name: value})


def test_server_refuses_bad_config_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "CHAT_SEND_QUEUE_SIZE": "many"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "error: CHAT_SEND_QUEUE_SIZE must be an integer >= 1, got 'many'\n"
