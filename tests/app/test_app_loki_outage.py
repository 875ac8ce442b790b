"""A real `python -m app` keeps chatting at full speed while its Loki is down, slow or never answers.

One app ships to the strict LokiReceiver with a tiny queue and short timeouts. Each phase drives real
websocket traffic: a client joins and leaves (each logs an info line that the shipper must queue: the join
logs before its welcome is sent, so a logging call that waited on Loki would show up in the join latency),
and a chat message goes round to three joined clients. Latencies are compared with the healthy phase of the
same run (relative bound, no absolute time). /metrics must show the drops and retries, and once the receiver
is healthy again new lines must arrive.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scripts.common.procs import running_app
from tests.support.chat_client import ChatClient
from tests.support.loki_receiver import LokiReceiver
from tests.support.metrics import metric, scrape, wait_until

QUEUE_SIZE = 10
BATCH_LINES = 5
ROUNDS_PER_PHASE = 20  # 40 log lines: far more than the queue plus one batch in flight
SLOW_PUSH_S = 0.3  # under LOKI_TIMEOUT_S: slow pushes succeed, late
SHIPPER_ENV = {
    "LOKI_QUEUE_SIZE": str(QUEUE_SIZE),
    "LOKI_BATCH_LINES": str(BATCH_LINES),
    "LOKI_BATCH_WAIT_S": "0.05",
    "LOKI_TIMEOUT_S": "0.6",
    "LOKI_MIN_BACKOFF_S": "0.05",
    "LOKI_MAX_BACKOFF_S": "0.2",
    "LOKI_MAX_RETRIES": "1000",  # a stuck batch keeps retrying, so the queue stays full and drops
    "LOKI_SHUTDOWN_TIMEOUT_S": "1",  # the receiver is gone by the time the app stops
}
# Generous, the machine is shared: a logging call that waited for a push or for room in the queue would
# add a backoff (50 ms and up), a slow push (300 ms) or a timeout (600 ms) to some of the joins.
LATENCY_FACTOR = 3.0
LATENCY_SLACK_S = 0.010


@dataclass
class PhaseLatencies:
    joins_s: list[float] = field(default_factory=list)
    messages_s: list[float] = field(default_factory=list)

    def medians_ms(self) -> tuple[float, float]:
        return (
            round(statistics.median(self.joins_s) * 1000, 2),
            round(statistics.median(self.messages_s) * 1000, 2),
        )

    def within(self, baseline: PhaseLatencies) -> list[str]:
        """Complaints for each latency whose median exceeds the bound relative to `baseline`."""
        complaints = []
        for what, ours, base in (
            ("join->welcome", self.joins_s, baseline.joins_s),
            ("message round trip", self.messages_s, baseline.messages_s),
        ):
            bound = LATENCY_FACTOR * statistics.median(base) + LATENCY_SLACK_S
            if statistics.median(ours) > bound:
                complaints.append(
                    f"{what}: median {statistics.median(ours) * 1000:.1f} ms > bound {bound * 1000:.1f} ms"
                )
        return complaints


def next_message(client: ChatClient) -> dict[str, object]:
    return client.recv_until(lambda event: event["type"] == "message")


def drive_chat(base_url: str, members: list[ChatClient], tag: str) -> PhaseLatencies:
    """Join/leave churn (2 info log lines per round) and one chat message to every member per round."""
    latencies = PhaseLatencies()
    sender = members[0]
    for round_no in range(ROUNDS_PER_PHASE):
        visitor = ChatClient(base_url)
        try:
            started = time.perf_counter()
            visitor.send({"type": "join", "name": f"{tag}-{round_no}"})
            assert visitor.recv()["type"] == "welcome"
            latencies.joins_s.append(time.perf_counter() - started)
            visitor.send({"type": "leave"})
            assert visitor.close_code() == 1000
        finally:
            visitor.close()

        text = f"{tag} message {round_no}"
        started = time.perf_counter()
        sender.send({"type": "message", "text": text})
        echo = next_message(sender)
        latencies.messages_s.append(time.perf_counter() - started)
        assert (echo["from"], echo["text"]) == ("member-0", text), echo
        for member in members[1:]:
            event = next_message(member)  # in order: nothing skipped, nothing lost
            assert (event["from"], event["text"]) == ("member-0", text), event
    return latencies


def shipper_counts(base_url: str) -> dict[str, float]:
    samples = scrape(base_url)
    return {
        "queue_full": metric(samples, "chat_log_shipper_lines_dropped_total", reason="queue_full"),
        "retries": metric(samples, "chat_log_shipper_retries_total"),
        "sent": metric(samples, "chat_log_shipper_lines_sent_total"),
        "queue": metric(samples, "chat_log_shipper_queue_lines"),
    }


def users_shipped(loki: LokiReceiver) -> set[str]:
    return {entry.fields().get("user", "") for entry in loki.entries}


FAILURES: dict[str, tuple[Callable[[LokiReceiver], None], Callable[[LokiReceiver], None], bool]] = {
    # mode: (break the receiver, heal it, whether failed pushes are retried)
    "down": (LokiReceiver.go_down, LokiReceiver.come_up, True),
    "slow": (lambda loki: loki.set_slow(SLOW_PUSH_S), LokiReceiver.set_normal, False),
    "blackhole": (LokiReceiver.set_blackhole, LokiReceiver.set_normal, True),
}


def test_chat_is_unaffected_by_a_failing_loki_and_shipping_resumes(
    connect: Callable[..., ChatClient], tmp_path: Path
) -> None:
    log_path = tmp_path / "app.log"  # the app's stdout and stderr
    # The sender sends a message per round, faster than the default rate limit allows.
    env = {"CHAT_RATE_PER_SECOND": "1000", "CHAT_RATE_BURST": "1000", **SHIPPER_ENV}
    with LokiReceiver() as loki, running_app({"LOKI_URL": loki.url, **env}, log_path) as base_url:
        members = [connect(base_url) for _ in range(3)]
        for index, member in enumerate(members):
            member.join(f"member-{index}")

        def eventually(condition: Callable[[], bool], what: str) -> None:
            try:
                wait_until(condition, 15, what=what)
            except TimeoutError as exc:
                raise AssertionError(
                    f"{exc}; shipper: {shipper_counts(base_url)}; {loki.pushes[-3:]}"
                ) from None

        baseline = drive_chat(base_url, members, "healthy")
        last_visitor = f"healthy-{ROUNDS_PER_PHASE - 1}"
        eventually(lambda: last_visitor in users_shipped(loki), "healthy phase shipped")
        assert shipper_counts(base_url)["queue_full"] == 0, "a healthy Loki keeps up: nothing dropped"

        measured = {"healthy": baseline}
        problems = []
        for mode, (break_it, heal_it, retried) in FAILURES.items():
            before = shipper_counts(base_url)
            break_it(loki)
            latencies = measured[mode] = drive_chat(base_url, members, mode)
            problems += [f"{mode}: {complaint}" for complaint in latencies.within(baseline)]
            during = shipper_counts(base_url)
            assert during["queue_full"] > before["queue_full"], f"{mode}: overflow drops counted"
            assert during["queue"] <= QUEUE_SIZE + BATCH_LINES, f"{mode}: the queue stays bounded"
            if retried:
                eventually(
                    lambda before=before: shipper_counts(base_url)["retries"] > before["retries"],
                    f"{mode}: failed pushes retried",
                )

            heal_it(loki)
            # What piled up during the outage is shipped first: only then is there room for new lines.
            eventually(lambda: shipper_counts(base_url)["queue"] == 0, f"{mode}: backlog shipped")
            marker = f"{mode}-recovered"
            visitor = connect(base_url)
            visitor.join(marker)  # logs client_joined at info: must reach Loki now
            eventually(lambda marker=marker: marker in users_shipped(loki), f"{mode}: shipping resumed")
            assert shipper_counts(base_url)["sent"] > during["sent"]
            visitor.close()
        for member in members:
            member.close()

    assert not problems, problems
    output = log_path.read_text()
    # Three outages, one warning: at most one per LOKI warn interval (60 s), and a line when it works again.
    assert output.count('"event": "loki_push_failing"') == 1, output[-3000:]
    assert '"event": "loki_push_recovered"' in output
    assert "Traceback" not in output
    print("median join/message ms:", {mode: phase.medians_ms() for mode, phase in measured.items()})
