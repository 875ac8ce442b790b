"""RedisNames on its own, against a real redis-server: unique names, leases, counts, faults."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import redis

from app.cluster import BrokerHealth, RedisFanout, RedisNames
from app.cluster.broker import redis_client
from app.cluster.names import COUNT_REFRESH_S, NAME_PREFIX
from app.instruments import ClusterInstruments
from app.metrics import ChatMetrics
from scripts.common.paths import REPO_ROOT
from scripts.common.procs import poll_until
from scripts.common.redis_server import RedisServer

TIMEOUT_S = 0.5
LEASE_S = 1.0


@dataclass
class Replica:
    names: RedisNames
    fanout: RedisFanout  # drives the broker health the names read
    health: BrokerHealth
    metrics: ChatMetrics

    def errors(self, reason: str) -> float:
        return (
            self.metrics.registry.get_sample_value("chat_cluster_broker_errors_total", {"reason": reason})
            or 0
        )


def start_replica(url: str, fanouts: list[RedisFanout], replica_id: str, renew: bool = True) -> Replica:
    """A replica's names; `renew=False` is a replica that will die without a word (SIGKILL)."""
    metrics = ChatMetrics()
    health = BrokerHealth(ClusterInstruments.bind(metrics), retry_max_s=0.2)
    client = redis_client(url, TIMEOUT_S)
    names = RedisNames(client, health, replica=replica_id, lease_s=LEASE_S)
    fanout = RedisFanout(
        client, health, origin=replica_id, timeout_s=TIMEOUT_S, companions=[names] if renew else []
    )
    fanout.start(lambda _payload: None)
    replica = Replica(names, fanout, health, metrics)
    fanouts.append(fanout)
    assert poll_until(lambda: health.connected, 10), "never subscribed"
    return replica


def test_a_name_is_unique_across_replicas_and_free_again_once_released(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    a, b = (start_replica(redis_server.url, fanouts, r) for r in ("a", "b"))
    assert a.names.claim("alice")
    assert not b.names.claim("alice"), "taken on another replica"
    assert not a.names.claim("alice"), "taken here"
    assert b.names.claim("bob") and b.names.claim("carol")
    assert b.names.cluster_count() == 3, "exact right after a claim: the claim script returns it"
    assert poll_until(lambda: a.names.cluster_count() == 3, 3 * COUNT_REFRESH_S), "refreshed elsewhere"
    a.names.release("alice")
    assert a.names.cluster_count() == 2, "lowered at once here, without waiting for Redis"
    assert poll_until(lambda: b.names.claim("alice"), 3 * COUNT_REFRESH_S), "released in Redis"
    assert b.names.cluster_count() == 3


def test_leases_are_renewed_by_a_live_replica_and_expire_for_a_dead_one(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    live = start_replica(redis_server.url, fanouts, "live")
    dead = start_replica(redis_server.url, fanouts, "dead", renew=False)
    assert live.names.claim("kept") and dead.names.claim("lost")
    claimed_at = time.monotonic()
    assert poll_until(lambda: live.names.cluster_count() == 2, 3 * COUNT_REFRESH_S)
    other = start_replica(redis_server.url, fanouts, "other")
    assert poll_until(lambda: other.names.claim("lost"), 3 * LEASE_S), "a dead replica's name comes free"
    assert time.monotonic() - claimed_at >= LEASE_S * 0.9, "not before its lease ran out"
    assert not other.names.claim("kept"), "renewed past its lease by the live replica"
    assert other.names.cluster_count() == 2, "the dead replica's count expired with it: kept + lost"


def test_a_graceful_stop_gives_the_names_back_at_once(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    leaving, staying = (start_replica(redis_server.url, fanouts, r) for r in ("leaving", "staying"))
    assert leaving.names.claim("alice") and leaving.names.claim("bob")
    leaving.fanout.stop()
    assert staying.names.claim("alice") and staying.names.cluster_count() == 1, "names and count at once"


def test_cut_off_names_are_unique_locally_and_re_asserted_when_the_broker_is_back(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    a = start_replica(redis_server.url, fanouts, "a")
    b = start_replica(redis_server.url, fanouts, "b")
    assert b.names.claim("taken-by-b")
    redis_server.stop()
    assert poll_until(lambda: not a.health.connected, 10)
    assert a.names.claim("alice"), "cut off: a replica still lets its own clients join"
    assert not a.names.claim("alice")
    assert a.names.claim("taken-by-b"), "nobody to ask: unique on this replica only"
    assert a.names.cluster_count() == 2, "its own count"

    redis_server.start()  # an empty Redis: b's leases went with the old one
    assert poll_until(lambda: a.health.connected and b.health.connected, 10)
    probe = redis.Redis.from_url(redis_server.url)
    assert poll_until(lambda: probe.get(NAME_PREFIX + "alice") == b"a", 3 * LEASE_S), "re-asserted"
    assert poll_until(lambda: a.names.cluster_count() == 3, 3 * LEASE_S)  # alice, taken-by-b twice
    assert a.errors("lease_lost") + b.errors("lease_lost") >= 1, "one of the two holders of taken-by-b"
    probe.close()


def test_a_failing_claim_answers_locally_and_counts_the_error(
    redis_server: RedisServer, fanouts: list[RedisFanout]
) -> None:
    a = start_replica(redis_server.url, fanouts, "a")
    redis_server.pause()  # the subscriber has not noticed yet: the claim itself times out
    try:
        assert a.names.claim("alice")
        assert a.errors("lease") >= 1
    finally:
        redis_server.resume()


GEVENT_CALLBACK_PROBE = """
from gevent import monkey; monkey.patch_all()
import sys, gevent
from app.cluster import BrokerHealth, RedisFanout, RedisNames
from app.cluster.broker import redis_client
from app.instruments import ClusterInstruments
from app.metrics import ChatMetrics
health = BrokerHealth(ClusterInstruments.bind(ChatMetrics()), retry_max_s=0.2)
client = redis_client(sys.argv[1], 0.5)
names = RedisNames(client, health, replica="probe", lease_s=1.0)
fanout = RedisFanout(client, health, origin="probe", timeout_s=0.5, companions=[names])
fanout.start(lambda payload: None)
while not health.connected:
    gevent.sleep(0.01)
assert names.claim("alice")
answers = []
def in_the_loop():  # where the hub's flush runs: blocking here raises BlockingSwitchOutError
    names.release("alice")
    answers.append(names.cluster_count())
gevent.get_hub().loop.run_callback(in_the_loop)
gevent.sleep(0.1)
assert answers == [0], answers
assert names.claim("alice"), "claimable again: the release reached Redis"
fanout.stop()
print("ok")
"""


def test_release_and_count_never_block_so_the_hub_may_call_them_from_a_loop_callback(
    redis_server: RedisServer,
) -> None:
    """The hub's flush is a gevent loop callback: a Redis round trip there raises BlockingSwitchOutError.
    Run under gevent's monkey-patching, as `python -m app` is."""
    completed = subprocess.run(
        [sys.executable, "-c", GEVENT_CALLBACK_PROBE, redis_server.url],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0 and completed.stdout.strip() == "ok", completed.stderr[-2000:]
