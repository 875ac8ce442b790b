"""RedisNames: a name is unique across replicas because its key in Redis is leased to the one holding it.

Keys (standalone Redis; the scripts read count keys they are not passed, which Redis Cluster would refuse):
- `chat:name:<key>` = the holder's replica id, with a lease of CHAT_REDIS_LEASE_S. The replica renews the
  leases of its names every third of that; a replica killed with SIGKILL stops renewing, so its names
  come free when their lease runs out.
- `chat:clients:<replica>` = how many names that replica holds, under the same lease; `chat:replicas` is
  the set of replica ids. The cluster-wide client count is the sum of the live count keys.

Only `claim` waits for Redis (one Lua script: atomic, one round trip, on the joining client's greenlet).
The hub calls `release` and `cluster_count` from its flush, an event-loop callback that must never block,
so a release is handed to the renewer greenlet and the count is cached: exact after each claim (the claim
script returns it), refreshed every COUNT_REFRESH_S by the renewer, and lowered at once by a release here.

Cut off from Redis, a replica answers from what it holds itself (names unique on this replica, its own
count) and counts the error; once the subscription is back the renewer re-asserts every name it holds.
A name someone else took meanwhile is counted as `lease_lost` and logged: both holders keep it until one
leaves.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from app.cluster.broker import BROKER_ERRORS, BrokerHealth

log = logging.getLogger("chat.cluster")

PREFIX = "chat:"
REPLICAS_KEY = PREFIX + "replicas"
NAME_PREFIX = PREFIX + "name:"
COUNT_PREFIX = PREFIX + "clients:"
COUNT_REFRESH_S = 1.0  # how stale the cached cluster count may get (other replicas' joins and leaves)

# Every script takes KEYS = (name key, this replica's count key, the replicas set) and
# ARGV = (replica id, lease ms, this replica's count, the count key prefix).
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
"""
_HEARTBEAT = """
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
"""
_TOTAL = """
local total = 0
for _, replica in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local count = redis.call('GET', ARGV[4] .. replica)
  if count then total = total + tonumber(count) else redis.call('SREM', KEYS[3], replica) end
end
return total
"""
CLAIM = _HOLD + _HEARTBEAT + _TOTAL  # -1: held by another replica; else the cluster's count
RENEW = _HOLD + "return 1"  # -1: held by another replica (taken while our lease had run out)
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1"
HEARTBEAT = _HEARTBEAT + _TOTAL  # the cluster's count


class RedisNames:
    """The app.fanout.NameRegistry of a replica in a Redis cluster; start() runs the renewer."""

    def __init__(self, client: redis.Redis, health: BrokerHealth, replica: str, lease_s: float) -> None:
        self._client = client
        self._health = health
        self._replica = replica
        self._lease_ms = max(1, int(lease_s * 1000))
        self._renew_every_s = lease_s / 3
        self._refresh_every_s = min(COUNT_REFRESH_S, self._renew_every_s)
        self._count_key = COUNT_PREFIX + replica
        self._held: set[str] = set()
        self._releasing: set[str] = set()  # released here, still to be deleted in Redis by the renewer
        self._count = 0  # the cluster's, as of the last claim or refresh
        self._renew_due = 0.0  # monotonic time of the next lease renewal (0: at once)
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("claim", CLAIM),
                ("renew", RENEW),
                ("release", RELEASE),
                ("beat", HEARTBEAT),
            )
        }
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._renewer: threading.Thread | None = None
        health.when_connected(self._reassert)

    def claim(self, key: str) -> bool:
        # Held here already, or being claimed by another of our clients right now: the key goes into
        # `_held` before the round trip, so two joins on this replica cannot both win while it is in flight.
        if key in self._held:
            return False
        self._held.add(key)
        self._releasing.discard(key)
        if not self._health.connected:
            return True  # cut off: unique on this replica only, re-asserted when the broker is back
        try:
            total = int(self._run("claim", key, self._client))
        except BROKER_ERRORS as exc:
            self._failed("claim", exc)
            return True
        if total < 0:
            self._held.discard(key)
            return False
        self._count = total
        return True

    def release(self, key: str) -> None:
        """Never blocks: the key is deleted in Redis by the renewer (or expires with its lease)."""
        if key not in self._held:
            return
        self._held.discard(key)
        self._count = max(len(self._held), self._count - 1)
        if self._health.connected:
            self._releasing.add(key)
            self._wake.set()

    def cluster_count(self) -> int:
        """Never blocks: the cached cluster count, or this replica's own while cut off."""
        return self._count if self._health.connected else len(self._held)

    def start(self) -> None:
        self._renewer = threading.Thread(target=self._renew_loop, name="chat-cluster-leases", daemon=True)
        self._renewer.start()

    def stop(self) -> None:
        """Stop renewing and give our names back at once (a graceful stop; SIGKILL leaves it to the lease)."""
        self._stopping.set()
        self._wake.set()
        if self._renewer is not None:
            self._renewer.join(timeout=2)
        held = self._held | self._releasing
        self._held, self._releasing = set(), set()
        if not held or not self._health.connected:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for key in held:
                self._run("release", key, pipe)
            pipe.delete(self._count_key)
            pipe.execute()
        except BROKER_ERRORS as exc:
            self._failed("release", exc)

    def sync(self) -> None:
        """One renewer round in one pipeline: pending releases, the leases when due, the count refresh."""
        releasing = sorted(self._releasing - self._held)
        self._releasing.clear()
        renewing = sorted(self._held) if time.monotonic() >= self._renew_due else []
        pipe = self._client.pipeline(transaction=False)
        for key in releasing:
            self._run("release", key, pipe)
        for key in renewing:
            self._run("renew", key, pipe)
        self._run("beat", "", pipe)
        *results, total = pipe.execute()
        if renewing:
            self._renew_due = time.monotonic() + self._renew_every_s
        self._count = int(total)
        for key, kept in zip(renewing, results[len(releasing) :], strict=True):
            if int(kept) < 0:
                self._health.error("lease_lost")
                log.warning(
                    "name held by another replica after an outage", extra={"event": "lease_lost", "user": key}
                )

    def _reassert(self) -> None:
        """Subscribed again: renew (and so re-take) every name we hold at the next round, which is now."""
        self._renew_due = 0.0
        self._wake.set()

    def _renew_loop(self) -> None:
        while not self._stopping.is_set():
            if self._health.connected:
                try:
                    self.sync()
                except BROKER_ERRORS as exc:
                    self._failed("renew", exc)
            self._wake.wait(self._refresh_every_s)
            self._wake.clear()

    def _run(self, script: str, key: str, client: redis.Redis | redis.client.Pipeline) -> object:
        args = [self._replica, self._lease_ms, len(self._held), COUNT_PREFIX]
        return self._scripts[script](
            keys=[NAME_PREFIX + key, self._count_key, REPLICAS_KEY], args=args, client=client
        )

    def _failed(self, what: str, exc: Exception) -> None:
        self._health.error("lease")
        log.warning("name %s failed: %s", what, exc, extra={"event": "broker_lease_failed"})
