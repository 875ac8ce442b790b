"""Fixtures of the cluster tests: a real redis-server per test, and fan-outs stopped at teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.cluster import RedisFanout
from tests.support.redis_server import redis_server

__all__ = ["fanouts", "redis_server"]


@pytest.fixture
def fanouts() -> Iterator[list[RedisFanout]]:
    """Append each fan-out a test starts; all stopped (with their name leases) at teardown."""
    started: list[RedisFanout] = []
    yield started
    for fanout in started:
        fanout.stop()
