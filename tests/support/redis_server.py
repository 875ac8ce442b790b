"""The `redis_server` fixture: a real redis-server on a free loopback port per test (scripts/common)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.common.redis_server import RedisServer, running_redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Fresh, empty, stopped at teardown; `stop()`/`start()` and `pause()`/`resume()` it to make faults."""
    with running_redis(tmp_path) as server:
        yield server
