"""Configuration of the chat service, read once from environment variables.

Every variable is optional; the default applies when it is unset or empty. A bad value stops
`python -m app` with a one-line error naming the variable.

Server and integrations:
- `HOST` (default `127.0.0.1`): interface `python -m app` listens on; `--host` overrides it.
- `PORT` (default `8000`): TCP port `python -m app` listens on; `--port` overrides it.
- `APP_ENV` (default `dev`): deployment name, sent to Loki as the `env` stream label.
- `LOG_LEVEL` (default `INFO`): root log level, one of DEBUG, INFO, WARNING, ERROR.
- `LOKI_URL` (default unset): Loki base URL such as `http://127.0.0.1:3100`; unset = log to stdout only.
- `ALERT_WEBHOOK_TOKEN` (default unset): bearer token Grafana must send to `POST /api/alerts/grafana`.
- `GRAFANA_PUBLIC_URL` (default unset): browser-facing Grafana URL, used by the `/dashboards` page.
- `GRAFANA_EMBEDS_PATH` (default `provisioning/grafana/embeds.json`): the embeds list the `/dashboards` page
  reads, written by `python -m scripts.render`.

The door (every HTTP request, before any websocket exists):
- `CHAT_ALLOWED_HOSTS` (default empty): comma-separated extra host names the Host header may carry, as
  Django's ALLOWED_HOSTS (`chat.example.com`, `.example.com` for it and its subdomains, `*` for any).
  Always allowed: `localhost`, `127.0.0.1`, `::1` and `HOST` when it names one interface. Any other Host
  gets HTTP 400, so a page on a rebinding name (evil.example resolving to 127.0.0.1) reads nothing.
- `CHAT_MAX_HEADER_BYTES` (default `16384`): request line plus headers, in bytes; never buffered beyond
  this: a longer head gets HTTP 431 and the connection is closed.
- `CHAT_HANDSHAKE_TIMEOUT_S` (default `10`): seconds a connection may take to send a complete request
  head (also the keep-alive idle time between requests); a slower one is closed without an answer.
- `CHAT_MAX_CONNECTIONS` (default `10000`): open TCP connections in total (HTTP and websocket); one more
  gets HTTP 503 at once. Keep it below the file-descriptor limit (`ulimit -n`).
- `CHAT_MAX_CONNECTIONS_PER_IP` (default `10000`, as many as `CHAT_MAX_CONNECTIONS`): open TCP
  connections from one remote address; one more gets HTTP 503 at once. Behind a proxy or a NAT every
  client shares one address, so the default caps nothing of its own; set it lower where clients connect
  directly.

Chat limits:
- `CHAT_ALLOWED_ORIGINS` (default empty): comma-separated extra origins (`https://chat.example.com`)
  allowed to open `/ws`. Always allowed: an Origin equal to the request's own (same scheme, host and
  port, the host being an allowed one), and no Origin at all (non-browser clients). Any other Origin
  gets HTTP 403 before the upgrade.
- `CHAT_MAX_FRAME_BYTES` (default `4096`): largest inbound frame; bigger ones get error `too_large`.
  Frames over 16 times this are cut off by the websocket layer (close 1009) without being buffered.
- `CHAT_MAX_TEXT_CHARS` (default `1000`): longest chat text, in characters (error `too_large`).
- `CHAT_MAX_NAME_CHARS` (default `32`): longest user name, in characters (error `invalid_name`).
- `CHAT_RATE_PER_SECOND` (default `5`): sustained inbound frames per second per connection (token
  bucket; error `rate_limited`).
- `CHAT_RATE_BURST` (default `10`): token-bucket size, frames a connection may send back to back.
- `CHAT_ABUSE_MAX_REJECTS` (default `20`): more rejected frames than this within the window closes the
  connection with 1008 (policy violation). A text frame that is not valid UTF-8 closes it at once with
  1007, as the websocket protocol requires.
- `CHAT_ABUSE_WINDOW_S` (default `10`): the window, in seconds, for `CHAT_ABUSE_MAX_REJECTS`.
- `CHAT_PING_INTERVAL_S` (default `25`): seconds between server pings to each client.
- `CHAT_IDLE_TIMEOUT_S` (default `60`): a client silent this long (no frame, no pong) is dropped (TCP
  cut, no close frame: it is not listening). Checked at each ping, so a dead client goes within this
  plus two ping intervals.
- `CHAT_SEND_QUEUE_SIZE` (default `256`): a client's unsent backlog may hold this many 4 KB frames
  worth of bytes (1 MiB by default); a client with more is evicted as a slow consumer (TCP cut: a close
  frame would only queue behind the backlog).
- `CHAT_JOIN_TIMEOUT_S` (default `10`): a websocket that has not joined this many seconds after its
  handshake is closed with 1008 (`chat_connections_total{result="join_timeout"}`).
- `CHAT_SHUTDOWN_GRACE_S` (default `5`): on SIGTERM/SIGINT, seconds clients get to close before the
  server stops.
- `CHAT_METRICS` (default `1`): `0` swaps the chat metrics for no-ops. A benchmarking aid to measure
  their cost; /metrics still answers, with the chat series stuck at 0.

Scaling out (app/cluster; README "Scaling out"):
- `CHAT_REDIS_URL` (default unset): Redis URL such as `redis://127.0.0.1:6379/0`; unset = one process,
  the hub alone. Set = this process is one replica: messages and presence go through Redis pub/sub to
  every replica, names are leased in Redis so they are unique across replicas. Redis being down never
  stops the replica: it serves its own clients and retries with backoff (/readyz and
  chat_cluster_broker_connected say so).
- `CHAT_REDIS_LEASE_S` (default `10`): lifetime of a name's lease, renewed every third of it; a replica
  that dies (SIGKILL) frees its names and its share of the client count within this many seconds.
- `CHAT_REDIS_RETRY_MAX_S` (default `5`): the reconnect backoff (from 0.1 s, doubled) stops growing here.
- `CHAT_REDIS_TIMEOUT_S` (default `2`): socket timeout of one Redis command (connect, read or write).

Loki shipping (used only with `LOKI_URL`; defaults follow Promtail/Alloy), each a positive number:
- `LOKI_QUEUE_SIZE` (default `10000`): log lines waiting to be shipped; a line that finds the queue full
  is dropped and counted (`queue_full`), the caller never waits.
- `LOKI_BATCH_BYTES` (default `1048576`): a push is sent once its lines reach this many bytes,
- `LOKI_BATCH_LINES` (default `5000`): or this many lines,
- `LOKI_BATCH_WAIT_S` (default `1`): or this many seconds after its first line.
- `LOKI_TIMEOUT_S` (default `10`): a push's socket timeout, in seconds: to connect, and per read or write.
- `LOKI_MAX_RETRIES` (default `10`): retries of a push that got 429, 5xx or a connection error (`0`:
  none); then its lines are dropped (`retries_exhausted`). Any other refusal is never retried.
- `LOKI_MIN_BACKOFF_S` (default `0.5`): seconds before the first retry, doubled at each one (with jitter),
- `LOKI_MAX_BACKOFF_S` (default `30`): up to this. 30 s, not Promtail's 5 min: an app should notice a
  recovered Loki quickly; the queue absorbs the rest.
- `LOKI_SHUTDOWN_TIMEOUT_S` (default `5`): at exit, seconds the queued lines get to be shipped.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar

Number = TypeVar("Number", int, float)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_EMBEDS_PATH = Path(__file__).resolve().parent.parent / "provisioning" / "grafana" / "embeds.json"


class ConfigError(ValueError):
    """An environment variable has a value the service cannot use; the message says which and why."""


@dataclass(frozen=True)
class ShipperConfig:
    """The Loki shipper's tuning. A field's `env` metadata names the LOKI_* variable that sets it."""

    queue_size: int = field(default=10_000, metadata={"env": "LOKI_QUEUE_SIZE"})
    batch_max_bytes: int = field(default=1 << 20, metadata={"env": "LOKI_BATCH_BYTES"})
    batch_max_lines: int = field(default=5_000, metadata={"env": "LOKI_BATCH_LINES"})
    batch_wait_s: float = field(default=1.0, metadata={"env": "LOKI_BATCH_WAIT_S"})
    timeout_s: float = field(default=10.0, metadata={"env": "LOKI_TIMEOUT_S"})
    max_retries: int = field(default=10, metadata={"env": "LOKI_MAX_RETRIES", "allow_zero": True})
    min_backoff_s: float = field(default=0.5, metadata={"env": "LOKI_MIN_BACKOFF_S"})
    max_backoff_s: float = field(default=30.0, metadata={"env": "LOKI_MAX_BACKOFF_S"})
    shutdown_timeout_s: float = field(default=5.0, metadata={"env": "LOKI_SHUTDOWN_TIMEOUT_S"})
    warn_interval_s: float = 60.0  # not a variable: how often the shipper may warn that pushes fail


@dataclass(frozen=True)
class ChatConfig:
    """Settings of one app instance. Build it with `ChatConfig.from_env()`; tests pass their own."""

    host: str = "127.0.0.1"
    port: int = 8000
    app_env: str = "dev"
    log_level: str = "INFO"
    loki_url: str | None = None
    alert_webhook_token: str | None = field(default=None, repr=False)
    grafana_public_url: str | None = None
    grafana_embeds_path: Path = DEFAULT_EMBEDS_PATH
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    max_header_bytes: int = 16384
    handshake_timeout_s: float = 10.0
    max_connections: int = 10_000
    max_connections_per_ip: int = 10_000
    max_frame_bytes: int = 4096
    max_text_chars: int = 1000
    max_name_chars: int = 32
    rate_per_second: float = 5.0
    rate_burst: int = 10
    abuse_max_rejects: int = 20
    abuse_window_s: float = 10.0
    ping_interval_s: float = 25.0
    idle_timeout_s: float = 60.0
    send_queue_size: int = 256
    join_timeout_s: float = 10.0
    shutdown_grace_s: float = 5.0
    metrics_enabled: bool = True
    log_shipping: ShipperConfig = field(default_factory=ShipperConfig)
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    redis_lease_s: float = 10.0
    redis_retry_max_s: float = 5.0
    redis_timeout_s: float = 2.0

    @property
    def hard_frame_bytes(self) -> int:
        """Frames above this are never buffered: the websocket layer closes the connection (1009)."""
        return 16 * self.max_frame_bytes

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChatConfig:
        """Read the variables documented in this module; raise ConfigError naming a bad one."""
        env = os.environ if environ is None else environ
        reader = _EnvReader(env)
        return cls(
            host=reader.text("HOST", cls.host),
            port=reader.number("PORT", cls.port, int, minimum=1, maximum=65535),
            app_env=reader.text("APP_ENV", cls.app_env),
            log_level=log_level_name(reader.text("LOG_LEVEL", cls.log_level)),
            loki_url=reader.optional("LOKI_URL"),
            alert_webhook_token=reader.optional("ALERT_WEBHOOK_TOKEN"),
            grafana_public_url=reader.optional("GRAFANA_PUBLIC_URL"),
            grafana_embeds_path=reader.path("GRAFANA_EMBEDS_PATH", cls.grafana_embeds_path),
            allowed_origins=reader.origins("CHAT_ALLOWED_ORIGINS"),
            allowed_hosts=reader.hosts("CHAT_ALLOWED_HOSTS"),
            max_header_bytes=reader.number("CHAT_MAX_HEADER_BYTES", cls.max_header_bytes, int, minimum=1024),
            handshake_timeout_s=reader.number(
                "CHAT_HANDSHAKE_TIMEOUT_S", cls.handshake_timeout_s, float, minimum=0.1
            ),
            max_connections=reader.number("CHAT_MAX_CONNECTIONS", cls.max_connections, int, minimum=1),
            max_connections_per_ip=reader.number(
                "CHAT_MAX_CONNECTIONS_PER_IP", cls.max_connections_per_ip, int, minimum=1
            ),
            max_frame_bytes=reader.number("CHAT_MAX_FRAME_BYTES", cls.max_frame_bytes, int, minimum=64),
            max_text_chars=reader.number("CHAT_MAX_TEXT_CHARS", cls.max_text_chars, int, minimum=1),
            max_name_chars=reader.number("CHAT_MAX_NAME_CHARS", cls.max_name_chars, int, minimum=1),
            rate_per_second=reader.number("CHAT_RATE_PER_SECOND", cls.rate_per_second, float, minimum=0.01),
            rate_burst=reader.number("CHAT_RATE_BURST", cls.rate_burst, int, minimum=1),
            abuse_max_rejects=reader.number("CHAT_ABUSE_MAX_REJECTS", cls.abuse_max_rejects, int, minimum=1),
            abuse_window_s=reader.number("CHAT_ABUSE_WINDOW_S", cls.abuse_window_s, float, minimum=0.1),
            ping_interval_s=reader.number("CHAT_PING_INTERVAL_S", cls.ping_interval_s, float, minimum=0.1),
            idle_timeout_s=reader.number("CHAT_IDLE_TIMEOUT_S", cls.idle_timeout_s, float, minimum=0.2),
            send_queue_size=reader.number("CHAT_SEND_QUEUE_SIZE", cls.send_queue_size, int, minimum=1),
            join_timeout_s=reader.number("CHAT_JOIN_TIMEOUT_S", cls.join_timeout_s, float, minimum=0.1),
            shutdown_grace_s=reader.number("CHAT_SHUTDOWN_GRACE_S", cls.shutdown_grace_s, float, minimum=0),
            metrics_enabled=reader.choice("CHAT_METRICS", "1", ("0", "1")) == "1",
            log_shipping=_read_shipper_config(reader),
            redis_url=_redis_url(reader.optional("CHAT_REDIS_URL")),
            redis_lease_s=reader.number("CHAT_REDIS_LEASE_S", cls.redis_lease_s, float, minimum=0.5),
            redis_retry_max_s=reader.number(
                "CHAT_REDIS_RETRY_MAX_S", cls.redis_retry_max_s, float, minimum=0.1
            ),
            redis_timeout_s=reader.number("CHAT_REDIS_TIMEOUT_S", cls.redis_timeout_s, float, minimum=0.05),
        )


REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")


def _redis_url(url: str | None) -> str | None:
    """CHAT_REDIS_URL: unset, or a URL redis-py can open (its scheme checked here, not at first use)."""
    if url is not None and not url.lower().startswith(REDIS_URL_SCHEMES):
        scheme = url.split(":", 1)[0]  # never the whole URL: it may carry a password
        raise ConfigError(f"CHAT_REDIS_URL must start with {', '.join(REDIS_URL_SCHEMES)}, got {scheme!r}")
    return url


def log_level_name(level: str) -> str:
    """The one LOG_LEVEL rule, for from_env and for install_logging: a name of LOG_LEVELS, in any case."""
    return _one_of("LOG_LEVEL", level, LOG_LEVELS)


def _read_shipper_config(reader: _EnvReader) -> ShipperConfig:
    """Each field with an `env` variable, read by the LOKI_* rule; a field's default also gives its type."""
    return ShipperConfig(
        **{
            setting.name: reader.positive(
                setting.metadata["env"],
                setting.default,
                type(setting.default),
                allow_zero=setting.metadata.get("allow_zero", False),
            )
            for setting in fields(ShipperConfig)
            if "env" in setting.metadata
        }
    )


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    value = value.strip().upper()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@dataclass(frozen=True)
class _EnvReader:
    env: Mapping[str, str]

    def optional(self, name: str) -> str | None:
        return self.env.get(name, "").strip() or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def path(self, name: str, default: Path) -> Path:
        raw = self.optional(name)
        return Path(raw) if raw else default

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        return _one_of(name, self.text(name, default), allowed)

    def number(
        self,
        name: str,
        default: Number,
        kind: type[Number],
        minimum: float,
        maximum: float | None = None,
    ) -> Number:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise ConfigError(f"{name} must be {noun} >= {minimum}, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{name} must be {bounds}, got {raw!r}")
        return value

    def positive(self, name: str, default: Number, kind: type[Number], allow_zero: bool = False) -> Number:
        """The LOKI_* rule: a finite number above 0 (or 0 itself with `allow_zero`)."""
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value: Number | None = kind(raw)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            wanted = "a non-negative" if allow_zero else "a positive"
            raise ConfigError(f"{name} must be {wanted} {kind.__name__} (got {raw!r})")
        return value

    def origins(self, name: str) -> tuple[str, ...]:
        raw = self.optional(name) or ""
        origins = tuple(item.strip().rstrip("/").lower() for item in raw.split(",") if item.strip())
        for origin in origins:
            if "://" not in origin:
                raise ConfigError(f"{name} entries must look like https://host[:port], got {origin!r}")
        return origins

    def hosts(self, name: str) -> tuple[str, ...]:
        raw = self.optional(name) or ""
        hosts = tuple(item.strip().lower() for item in raw.split(",") if item.strip())
        for host in hosts:
            if "/" in host or " " in host:
                raise ConfigError(f"{name} entries are host names like chat.example.com, got {host!r}")
        return hosts
