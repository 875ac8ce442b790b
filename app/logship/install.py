"""Installing the process's logging: JSON lines to stdout, plus the Loki shipper when LOKI_URL is set."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Callable

from app.config import ShipperConfig, log_level_name
from app.logformat import JsonLineFormatter
from app.logship.settings import push_url_from
from app.logship.shipper import LokiShipHandler, LokiShipper
from app.metrics import ChatMetrics

STATUS_LOGGER_NAME = "app.logship.status"
_DEFAULT_SHIPPING = ShipperConfig()  # the documented LOKI_* defaults, for callers without a ChatConfig

# One logging setup per process: installing again shuts the previous one down first.
_installed_shutdown: Callable[[], None] | None = None


def install_logging(
    *,
    metrics: ChatMetrics,
    loki_url: str | None,
    env: str,
    level: str = "INFO",
    shipping: ShipperConfig = _DEFAULT_SHIPPING,
) -> Callable[[], None]:
    """Configure root logging: JSON lines to stdout always; plus Loki shipping when loki_url is set.
    The values are ChatConfig's (log_level, loki_url, app_env, log_shipping); nothing is read from the
    environment here. Returns a shutdown function that flushes (bounded wait) and stops the shipper."""
    global _installed_shutdown
    root_level = log_level_name(level)
    formatter = JsonLineFormatter()
    stdout_handler = logging.StreamHandler(sys.stdout)
    stdout_handler.setFormatter(formatter)
    handlers: list[logging.Handler] = [stdout_handler]
    shipper = None
    if loki_url:
        shipper = LokiShipper(
            push_url_from(loki_url), env=env, metrics=metrics, config=shipping,
            status_logger=stderr_status_logger(formatter),
        )  # fmt: skip
        handlers.append(LokiShipHandler(shipper, formatter))

    if _installed_shutdown is not None:
        _installed_shutdown()
    # A LogRecord asks threading.current_thread() for its thread's name, which no line of ours shows; under
    # gevent that builds a DummyThread for every greenlet that logs (each session's, at its join), kept
    # while the greenlet lives: CPU at every join and memory for every idle connection.
    logging.logThreads = False
    root = logging.getLogger()
    root.setLevel(root_level)
    for handler in handlers:
        root.addHandler(handler)
    if shipper is not None:
        shipper.start()

    lock = threading.Lock()
    done = False

    def shutdown() -> None:
        nonlocal done
        global _installed_shutdown
        with lock:
            if done:
                return
            done = True
        for handler in handlers:
            root.removeHandler(handler)
        if shipper is not None:
            shipper.stop(shipper.config.shutdown_timeout_s)
        stdout_handler.flush()
        atexit.unregister(shutdown)
        if _installed_shutdown is shutdown:
            _installed_shutdown = None

    atexit.register(shutdown)
    _installed_shutdown = shutdown
    return shutdown


def stderr_status_logger(formatter: logging.Formatter) -> logging.Logger:
    """The shipper's own warnings: to stderr only, never propagated to root (so never back into Loki)."""
    logger = logging.getLogger(STATUS_LOGGER_NAME)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    return logger
