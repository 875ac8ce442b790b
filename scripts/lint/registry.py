"""What the app really exports: every series name a query may use, its kind, and its label names.

Built from `app.metrics.ChatMetrics().registry.collect()` (the single source of truth for metric names), so a
renamed metric in the app breaks the lint of every query that still uses the old name. prometheus-client
exposes a family under several sample names (Counter `x` → `x_total`, `x_created`; Histogram → `_bucket`,
`_count`, `_sum`, `_created`; Summary → `_count`, `_sum`, `_created`); the names come from the collected
samples, so they match the exposition byte for byte. Prometheus adds `job` and `instance` to every scraped
series and writes its own per-target series (`up`, `scrape_duration_seconds`, ...).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from app.logship import STREAM_LABEL_NAMES
from app.metrics import ChatMetrics

TARGET_LABELS = frozenset({"job", "instance"})
# The only labels the app's log shipper puts on a Loki stream.
LOKI_STREAM_LABELS = frozenset(STREAM_LABEL_NAMES)
# Series Prometheus itself writes for every scrape target (prometheus.io/docs/concepts/jobs_instances).
SCRAPE_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)
# Sample suffixes that count up monotonically, per family type (prometheus-client exposition).
_COUNTING_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
_SUFFIXES_BY_TYPE = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


@dataclass(frozen=True)
class Series:
    """One exposed series name: its family, whether it counts up (rate-able), and its label names."""

    name: str
    family_type: str
    counting: bool
    labels: frozenset[str]
    label_values: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_bucket(self) -> bool:
        return self.family_type == "histogram" and self.name.endswith("_bucket")


@dataclass
class Registry:
    """Series the app and Prometheus expose, looked up by name."""

    series: dict[str, Series]

    def get(self, name: str) -> Series | None:
        return self.series.get(name)

    def closest(self, name: str) -> str | None:
        matches = difflib.get_close_matches(name, self.series, n=1, cutoff=0.6)
        return matches[0] if matches else None

    def closest_label(self, label: str, candidates: Iterable[str]) -> str | None:
        matches = difflib.get_close_matches(label, sorted(candidates), n=1, cutoff=0.5)
        return matches[0] if matches else None


def did_you_mean(closest: str | None) -> str:
    """The hint a finding about a misspelt name ends with ("" when no real name is close)."""
    return f"; did you mean {closest}?" if closest else ""


def _sample_names(family: Metric) -> list[str]:
    """Sample names of a family: from its samples, or by type when a labelled family has no child yet."""
    names = list(dict.fromkeys(sample.name for sample in family.samples))
    return names or [family.name + suffix for suffix in _SUFFIXES_BY_TYPE.get(family.type, ("",))]


def _series_of(family: Metric) -> list[Series]:
    result = []
    for name in _sample_names(family):
        samples = [s for s in family.samples if s.name == name]
        values: dict[str, set[str]] = {}
        for sample in samples:
            for label, value in sample.labels.items():
                values.setdefault(label, set()).add(value)
        counting = name.endswith(_COUNTING_SUFFIXES.get(family.type, ()))
        result.append(
            Series(
                name=name,
                family_type=family.type,
                counting=counting,
                labels=frozenset(values) | TARGET_LABELS,
                label_values={label: frozenset(v) for label, v in values.items()},
            )
        )
    return result


def build_registry(registry: CollectorRegistry | None = None) -> Registry:
    """The app's series (a fresh ChatMetrics unless `registry` is given) plus Prometheus's scrape series."""
    collector_registry = registry or ChatMetrics().registry
    series: dict[str, Series] = {}
    for family in collector_registry.collect():
        for one in _series_of(family):
            series[one.name] = one
    for name in SCRAPE_SERIES:
        series[name] = Series(name, "gauge", False, TARGET_LABELS)
    return Registry(series)
