"""A tiny HTTP client for tests that check the emulator's wire behaviour (status, headers, raw body)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    basic: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> Answer:
    """One request; `token` → Bearer, `basic` → Basic auth; no redirects followed."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if basic is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    response = requests.request(
        method, base_url + path, data=data, headers=sent, timeout=10, allow_redirects=False
    )
    return Answer(response.status_code, dict(response.headers), response.text)
