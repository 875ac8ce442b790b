"""What one app instance's blueprints share: its config, hub, metrics and embeds, as one typed object.

`create_app` builds it and stores it on the app; request code reads it with `chat_state()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from app.config import ChatConfig
from app.embeds import EmbedCatalog
from app.hub import Hub
from app.instruments import Instruments
from app.metrics import ChatMetrics

_EXTENSION_KEY = "chat_state"


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
