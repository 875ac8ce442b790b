"""Replicas of the chat fanned out through Redis: the broker-backed side of the hub's seam (app.fanout).

- `RedisFanout` (fanout.py): one PUBLISH per event to one channel; a subscriber delivers every replica's
  events (this one's included) in the order Redis delivered them.
- `RedisNames` (names.py): a name is a key leased in Redis by the replica that claimed it, renewed by it;
  a replica that dies frees its names when their lease expires. The cluster-wide client count is the sum
  of each replica's count key, which expires the same way.
- `BrokerHealth` (broker.py): whether the replica is subscribed, the chat_cluster_* metrics, the backoff.

redis-py's sync client, because `python -m app` runs under gevent's monkey-patching: its sockets, and the
`threading` primitives this package is written with, are then cooperative greenlets on the hub's loop.
Unpatched (the unit tests of this package), the same code runs on real threads.

Redis down or lost never stops the replica: it serves its own clients (events delivered locally, names
unique locally) and reconnects with backoff; what could not cross the broker is counted.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from app.cluster.broker import BrokerHealth, redis_client
from app.cluster.fanout import RedisFanout
from app.cluster.names import RedisNames
from app.config import ChatConfig
from app.instruments import Instruments

__all__ = ["BrokerHealth", "RedisCluster", "RedisFanout", "RedisNames", "redis_cluster", "replica_id"]


@dataclass(frozen=True)
class RedisCluster:
    """One replica's fan-out, names and broker health, sharing one Redis client (its connection pool)."""

    fanout: RedisFanout
    names: RedisNames
    health: BrokerHealth


def replica_id() -> str:
    """Unique per process, readable in Redis (`CLIENT LIST`, the name keys): host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def redis_cluster(config: ChatConfig, instruments: Instruments) -> RedisCluster:
    """The Redis-backed cluster for `config.redis_url` (which must be set); nothing connects until started."""
    assert config.redis_url, "redis_cluster needs CHAT_REDIS_URL"
    client = redis_client(config.redis_url, config.redis_timeout_s)
    health = BrokerHealth(instruments.cluster, retry_max_s=config.redis_retry_max_s)
    origin = replica_id()
    names = RedisNames(client, health, replica=origin, lease_s=config.redis_lease_s)
    fanout = RedisFanout(client, health, origin=origin, timeout_s=config.redis_timeout_s, companions=[names])
    return RedisCluster(fanout, names, health)
