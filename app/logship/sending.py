"""Sending one push to Loki: the HTTP client, what a push attempt got, and the rate-limited problem report."""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PushOutcome:
    """What one push attempt got: an HTTP status, or None with the connection error in `detail`."""

    status: int | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Only 429, 5xx and connection errors/timeouts are worth retrying; any other 4xx never will pass."""
        return self.status is None or self.status == 429 or self.status >= 500


class LokiPushClient:
    """One keep-alive HTTP/1.1 connection to Loki's push endpoint, used only by the shipper thread.

    Why stdlib http.client and not `requests` (what python-logging-loki uses): grafana-client in the same
    environment installs urllib3-future (through its HTTP client niquests), which silently replaces urllib3
    under `requests`, so the behaviour of pools, retries and timeouts would depend on what else is installed.
    http.client has no hidden retries, pools or logging (its logging would feed back into this shipper), its
    timeout applies to connect and to every socket read/write, and gevent's monkey-patching makes it
    cooperative.
    """

    _STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(self, push_url: str) -> None:
        parts = urllib.parse.urlsplit(push_url)
        # For messages: without the user:password@ that LOKI_URL may carry.
        self.url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        if parts.username is not None:
            credentials = (
                f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            )
            self._headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        self._connection: http.client.HTTPConnection | None = None
        self._connection_used = False

    def push(self, body: bytes, timeout_s: float) -> PushOutcome:
        """POST `body`; a keep-alive connection the server closed while idle is reopened once, silently."""
        reused = self._connection is not None and self._connection_used
        try:
            return self._post(body, timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if not (reused and isinstance(exc, self._STALE_CONNECTION_ERRORS)):
                return PushOutcome(None, f"{type(exc).__name__}: {exc}")
        try:  # the server closed our idle keep-alive connection: a fresh connection is not a retry
            return self._post(body, timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return PushOutcome(None, f"{type(exc).__name__}: {exc}")

    def _post(self, body: bytes, timeout_s: float) -> PushOutcome:
        connection = self._connect(timeout_s)
        connection.request("POST", self._target, body=body, headers=self._headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")  # read fully so the connection can be reused
        self._connection_used = True
        if response.will_close:
            self.close()
        return PushOutcome(response.status, " ".join(text.split())[:300])

    def _connect(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._connection is None:
            factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = factory(self._host, self._port, timeout=timeout_s)
            self._connection_used = False
        self._connection.timeout = timeout_s
        if self._connection.sock is not None:
            self._connection.sock.settimeout(timeout_s)
        return self._connection

    def abort(self) -> None:
        """From another thread: break a request that is blocked on the socket (it then fails at once)."""
        connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class ProblemReporter:
    """Tells a human that shipping fails: at most one warning per interval, and one line when it recovers."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._last_warning_at: float | None = None
        self._failing = False

    def failing(self, message: str, **fields: Any) -> None:
        self._failing = True
        now = time.monotonic()
        if self._last_warning_at is None or now - self._last_warning_at >= self._interval_s:
            self._last_warning_at = now
            self._logger.warning(message, extra={"event": "loki_push_failing", **fields})

    def succeeded(self) -> None:
        if self._failing:
            self._failing = False
            self._logger.info("Loki push works again", extra={"event": "loki_push_recovered"})
