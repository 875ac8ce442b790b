"""The chat service's logging: JSON lines to stdout always, and shipped to Loki when LOKI_URL is set.

Loki shipping is built on python-logging-loki's v1 push format and fixes the library's behaviour
(GreyZmeem/python-logging-loki: logging_loki/emitter.py). Kept from the library:
  - the v1 payload shape `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"]]}]}` of
    `LokiEmitterV1.build_payload`;
  - its label-name sanitising `LokiEmitter.format_label` (`room-id` → `room_id`), completed with the rule it
    misses (a name must not start with a digit or be empty).
Replaced, and why:
  - one blocking POST per record with no timeout (`LokiHandler.emit`) → `emit` only formats and does a
    non-blocking put into a bounded queue (drop + count `queue_full` when full); one background thread
    batches by bytes, lines and time, POSTs with a timeout, and retries with exponential backoff + jitter
    only on 429, 5xx and connection errors (like Promtail and Alloy), a bounded number of times;
  - the unbounded `LokiQueueHandler` queue that loses records at exit → bounded queue, flush at exit with
    a bounded wait (returned shutdown function + atexit);
  - the timestamp taken at send time → `record.created` in nanoseconds, values sorted by time per stream;
  - labels `severity` + `logger` + arbitrary `tags` (one stream per logger x level) → only the bounded
    STREAM_LABEL_NAMES; the logger, message, extras and exception go inside the JSON line;
  - a traceback on stderr per failed record → at most one warning per `warn_interval_s`, on a logger that
    does not propagate (so it never feeds back into the shipper);
  - `requests` → stdlib http.client (see LokiPushClient for why).
Lines over Loki's 256 KB limit are cut to fit and marked `"truncated": true` (still valid JSON).

One module per job: `settings` (LOKI_URL checked as a push URL), `payload` (labels, line truncation,
batches), `sending` (the HTTP client and the problem report), `shipper` (queue, thread, handler),
`install` (root logging for the process). The tuning values are app.config's ShipperConfig.
Below: the names the rest of the code base imports from `app.logship`.
"""

from app.config import ShipperConfig
from app.logship.install import install_logging, stderr_status_logger
from app.logship.payload import (
    MAX_LINE_BYTES,
    STREAM_LABEL_NAMES,
    Batch,
    sanitize_label_name,
    stream_labels,
    truncate_line,
)
from app.logship.settings import LogConfigError, push_url_from
from app.logship.shipper import LokiShipHandler, LokiShipper, record_time_ns

__all__ = [
    "MAX_LINE_BYTES",
    "STREAM_LABEL_NAMES",
    "Batch",
    "LogConfigError",
    "LokiShipHandler",
    "LokiShipper",
    "ShipperConfig",
    "install_logging",
    "push_url_from",
    "record_time_ns",
    "sanitize_label_name",
    "stderr_status_logger",
    "stream_labels",
    "truncate_line",
]
