"""Flood a chat with big messages while fast readers keep up: how a slow consumer is made to overflow."""

from __future__ import annotations

import threading
import time

from tests.support.chat_client import ChatClient

IN_FLIGHT = 4  # the sender's messages not yet back: the fast clients' queues stay short, a slow one's grows


def flood(sender: ChatClient, readers: dict[str, ChatClient], text: str, total: int) -> dict[str, int]:
    """`sender` sends `text` `total` times, never more than IN_FLIGHT ahead of its own echo, while a thread
    per reader (`readers` by name, the sender under one of them) counts the copies it gets; the counts."""
    received = dict.fromkeys(readers, 0)
    in_flight = threading.Semaphore(IN_FLIGHT)

    def drain(name: str, client: ChatClient) -> None:
        deadline = time.monotonic() + 60
        while received[name] < total and time.monotonic() < deadline:
            if client.recv(10).get("text") == text:
                received[name] += 1
                if client is sender:
                    in_flight.release()

    drainers = [threading.Thread(target=drain, args=pair, daemon=True) for pair in readers.items()]
    for thread in drainers:
        thread.start()
    for _ in range(total):
        assert in_flight.acquire(timeout=10), "the sender's own messages stopped coming back"
        sender.send({"type": "message", "text": text})
    for thread in drainers:
        thread.join(timeout=70)
    return received
