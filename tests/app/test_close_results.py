"""Metrics that tell the truth, through a real server: many clients closing normally at once are counted as
closed, a shutdown as shutdown, and none of them as a slow consumer."""

from __future__ import annotations

import signal
from collections.abc import Callable

from scripts.common.procs import app_process
from tests.support.chat_client import ChatClient
from tests.support.metrics import metric, scrape, wait_for_metric

CLIENTS = 300


def test_clients_closing_normally_at_once_are_closed_not_evicted(
    start_app: Callable[..., str], connect: Callable[..., ChatClient]
) -> None:
    base_url = start_app()
    clients = [connect(base_url) for _ in range(CLIENTS)]
    for number, client in enumerate(clients):
        client.send({"type": "join", "name": f"user-{number}"})
    wait_for_metric(base_url, "registered_clients", CLIENTS)
    for client in clients:  # each closes without reading the presence frames queued for it
        client.ws.close()
    wait_for_metric(base_url, "registered_clients", 0)
    samples = scrape(base_url)
    assert metric(samples, "chat_connections_total", result="closed") == CLIENTS
    assert metric(samples, "chat_connections_total", result="evicted_slow") == 0
    assert metric(samples, "chat_slow_consumer_evictions_total") == 0


def test_a_shutdown_closes_everyone_with_1001_and_evicts_nobody(connect: Callable[..., ChatClient]) -> None:
    with app_process(env={"CHAT_SHUTDOWN_GRACE_S": "5"}) as app:
        base_url, proc = app.url, app.proc
        clients = [connect(base_url) for _ in range(CLIENTS)]
        for number, client in enumerate(clients):
            client.send({"type": "join", "name": f"user-{number}"})
        wait_for_metric(base_url, "registered_clients", CLIENTS)
        proc.send_signal(signal.SIGTERM)
        # An evicted client would get the eviction's close (or none), not 1001 (going away).
        codes = [client.close_code() for client in clients]
        assert codes == [1001] * CLIENTS
        assert proc.wait(timeout=15) == 0
