"""Metrics updated once per chat message, kept in plain numbers and exposed by custom collectors.

prometheus_client's own children take a lock for every update: a Counter one, a Histogram or a Summary two.
The chat updated five per accepted message, about a tenth of the server's CPU at 50 clients in a closed loop
(`python -m bench.bench_broadcast`). Every update of these happens on the one thread gevent's event loop runs
on (the sessions' reads), and a scrape reads them on that same thread (the WSGI server's greenlet), so they
need no lock; what the collectors yield is exactly the families prometheus_client's own classes expose
(the same sample names, `le` values and help texts), through its documented custom-collector interface
(prometheus_client.registry.Collector). Only the `_created` samples of the histogram and the summary are
gone: the families prometheus_client offers collectors carry none.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, SummaryMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

__all__ = ["LoopCounter", "LoopHistogram", "LoopMetric", "LoopSummary"]


class LoopMetric(Collector):
    """One family of the chat's own, registered on `registry` (see the module's docstring)."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        registry.register(self)

    def describe(self) -> Iterable[Metric]:
        return self.collect()


class LoopCounter(LoopMetric):
    """A Counter without labels: `name_total` and `name_created`, as prometheus_client's Counter."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self._value = 0.0
        self._created = time.time()
        super().__init__(name, documentation, registry)

    def inc(self, amount: float = 1) -> None:
        self._value += amount

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, value=self._value, created=self._created)


class LoopHistogram(LoopMetric):
    """A Histogram without labels: `name_bucket{le}` (cumulative, `+Inf` last), `name_count`, `name_sum`."""

    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        self._bounds = tuple(sorted(float(b) for b in buckets))
        self._counts = [0] * (len(self._bounds) + 1)  # the last one is +Inf's own
        self._sum = 0.0
        super().__init__(name, documentation, registry)

    def observe(self, amount: float) -> None:
        self._counts[bisect_left(self._bounds, amount)] += 1  # the first bound >= amount: `le` semantics
        self._sum += amount

    def collect(self) -> Iterable[Metric]:
        cumulative, buckets = 0, []
        for bound, count in zip((*self._bounds, float("inf")), self._counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=self._sum)


class LoopSummary(LoopMetric):
    """A Summary without labels or quantiles: `name_count` and `name_sum`, as prometheus_client's Summary."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self._count = 0
        self._sum = 0.0
        super().__init__(name, documentation, registry)

    def observe(self, amount: float) -> None:
        self._count += 1
        self._sum += amount

    def collect(self) -> Iterable[Metric]:
        yield SummaryMetricFamily(self.name, self.documentation, count_value=self._count, sum_value=self._sum)
