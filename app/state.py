"""What one app instance's blueprints share: its config, hub, metrics and embeds, as one typed object.

`create_app` builds it and stores it on the app; request code reads it with `chat_state()`. `build_hub`
is the one place that decides how the hub reaches other replicas (`local_cluster` alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from app.config import ChatConfig
from app.embeds import EmbedCatalog
from app.fanout import Fanout, LocalFanout, LocalNames, NameRegistry
from app.hub import Hub
from app.instruments import Instruments
from app.metrics import ChatMetrics

_EXTENSION_KEY = "chat_state"


@dataclass(frozen=True)
class Cluster:
    """How a hub shares events and names with the other replicas."""

    fanout: Fanout
    names: NameRegistry


def local_cluster() -> Cluster:
    """A replica on its own: events delivered in-process, names unique within this hub."""
    return Cluster(LocalFanout(), LocalNames())


def build_hub(config: ChatConfig, instruments: Instruments) -> Hub:
    """The hub of one app instance, wired to its cluster."""
    if config.redis_url:  # a replica fanned out through Redis (app/cluster); redis-py is loaded only then
        from app.cluster import redis_cluster

        cluster = redis_cluster(config, instruments)  # a RedisCluster: the same fanout and names
    else:
        cluster = local_cluster()
    return Hub(
        instruments,
        config.send_queue_size,
        config.ping_interval_s,
        config.idle_timeout_s,
        fanout=cluster.fanout,
        names=cluster.names,
    )


@dataclass(frozen=True)
class ChatState:
    """Built once per app by create_app; frozen, since the blueprints only read it."""

    config: ChatConfig
    hub: Hub
    metrics: ChatMetrics  # the registry /metrics serves
    instruments: Instruments  # the metric handles the hot path uses (no-ops with CHAT_METRICS=0)
    embeds: EmbedCatalog

    def attach_to(self, app: Flask) -> None:
        """Store it on `app`, where chat_state() finds it."""
        app.extensions[_EXTENSION_KEY] = self


def chat_state(app: Flask | None = None) -> ChatState:
    """The state of `app`, or of the app handling the current request."""
    state: ChatState = (app or current_app).extensions[_EXTENSION_KEY]
    return state
