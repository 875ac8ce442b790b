"""`python -m app [--host H] [--port P]`: serve the chat with gevent's WSGI server, in one process.

The server is app.server.ChatWSGIServer: gevent's, with bounded request heads, a head deadline,
connection caps and TCP_NODELAY (see that module for why gevent alone is not enough).

One process because the hub (who is connected) lives in memory; gevent because every websocket holds a
handler for its whole life (miguelgrinberg/flask-sock, simple-websocket), which a sync or gthread worker
cannot afford.
SIGTERM/SIGINT: /readyz turns 503, clients get a 1001 close, the server stops within
CHAT_SHUTDOWN_GRACE_S, and the log shipper is flushed.
"""

from gevent import monkey

monkey.patch_all()  # first thing: sockets, threads and locks used by everything below become cooperative

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import LoggingLogAdapter  # noqa: E402

from app import create_app  # noqa: E402
from app.config import ChatConfig, ConfigError  # noqa: E402
from app.hub import Hub  # noqa: E402
from app.logship import install_logging  # noqa: E402
from app.server import ChatWSGIServer  # noqa: E402
from app.state import chat_state  # noqa: E402

log = logging.getLogger("chat.server")


def parse_args(argv: list[str] | None, config: ChatConfig) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve the websocket chat.")
    parser.add_argument(
        "--host", default=config.host, help=f"interface to listen on (HOST, default {config.host})"
    )
    parser.add_argument(
        "--port", type=tcp_port, default=config.port, help=f"TCP port (PORT, default {config.port})"
    )
    return parser.parse_args(argv)


def tcp_port(text: str) -> int:
    """argparse type for --port: the same range PORT accepts, so a bad value is a usage error."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be an integer between 1 and 65535, got {text!r}")
    return port


def main(argv: list[str] | None = None) -> int:
    try:
        config = ChatConfig.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parse_args(argv, config)
    config = dataclasses.replace(config, host=args.host, port=args.port)  # the Host allowlist names it
    app = create_app(config)
    state = chat_state(app)
    try:
        flush_logs = install_logging(
            metrics=state.metrics,
            loki_url=config.loki_url,
            env=config.app_env,
            level=config.log_level,
            shipping=config.log_shipping,
        )
    except ConfigError as exc:  # a LogConfigError: a LOKI_URL or APP_ENV that Loki cannot take
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        server = ChatWSGIServer(
            (args.host, args.port),
            app,
            config,
            state.instruments,
            state.metrics,
            # gevent's default of 128 drops SYNs when thousands reconnect at once (after a deploy)
            backlog=socket.SOMAXCONN,
            log=LoggingLogAdapter(logging.getLogger("chat.access"), logging.DEBUG),
            error_log=LoggingLogAdapter(logging.getLogger("chat.server"), logging.ERROR),
        )
        server.init_socket()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc, extra={"event": "listen_failed"})
        flush_logs()
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
            "choose another address with --host/--port (or HOST/PORT)",
            file=sys.stderr,
        )
        return 1

    def stop(signum: int) -> None:
        gevent.spawn(_shutdown, server, state.hub, config.shutdown_grace_s, signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop, signum)
    log.info(
        "chat listening on http://%s:%s",
        args.host,
        args.port,
        extra={"event": "server_started", "host": args.host, "port": args.port, "env": config.app_env},
    )
    try:
        server.serve_forever()
    finally:
        log.info("chat stopped", extra={"event": "server_stopped"})
        flush_logs()
    return 0


def _shutdown(server: ChatWSGIServer, hub: Hub, grace_s: float, signum: int) -> None:
    """Refuse new clients, ask the connected ones to close, then stop the server within `grace_s`."""
    log.info("shutting down on %s", signal.Signals(signum).name, extra={"event": "server_stopping"})
    hub.shutdown()
    deadline = time.monotonic() + grace_s
    while hub.connection_count and time.monotonic() < deadline:
        gevent.sleep(0.05)
    server.stop(timeout=max(0.1, deadline - time.monotonic()))


if __name__ == "__main__":
    sys.exit(main())
