"""What the app really exports: every series name a query may use, its kind, its label names and values.

Built from `app.metrics.ChatMetrics().registry.collect()` (the single source of truth for metric names), so a
renamed metric in the app breaks the lint of every query that still uses the old name. prometheus-client
exposes a family under several sample names (Counter `x` → `x_total`, `x_created`; Histogram → `_bucket`,
`_count`, `_sum`, `_created`; Summary → `_count`, `_sum`, `_created`); the names come from the collected
samples, so they match the exposition byte for byte. Prometheus adds `job` and `instance` to every scraped
series and writes its own per-target series (`up`, `scrape_duration_seconds`, ...).

Label values: app/metrics.py pre-initialises every label set the app declares (closed sets, exported as 0
from the first scrape), so the collected samples of the app's own metrics hold every legal value. Those
labels are "closed" and a matcher on them can be checked; values of the runtime collectors (`python_info`'s
version...), of `le`/`quantile` and of the target labels are open. The same goes for the log shipper's
stream labels: `app` and `level` are fixed by app.logship.stream_labels, `env` is the deployment's APP_ENV.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

from app.logship import STREAM_LABEL_NAMES, stream_labels
from app.loop_metrics import LoopMetric
from app.metrics import ChatMetrics

TARGET_LABELS = frozenset({"job", "instance"})
# The only labels the app's log shipper puts on a Loki stream.
LOKI_STREAM_LABELS = frozenset(STREAM_LABEL_NAMES)
# The stream label whose value is configuration (APP_ENV), not the shipper's: any value may be deployed.
_OPEN_STREAM_LABELS = frozenset({"env"})
# Labels prometheus-client computes at exposition from floats; Prometheus 3 normalises their text at scrape
# (`le="1"` is stored as `le="1.0"`), so an exact comparison with the exposition would be wrong.
_EXPOSITION_LABELS = frozenset({"le", "quantile"})
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
    # Labels whose every legal value is known (the app's pre-initialised sets), with those values.
    closed_values: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, hash=False)

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
        """The closest of `candidates` to a misspelt label; when none is close, the one label they carry
        besides job/instance (`by (status)` on series labelled only `result` can only mean `result`)."""
        names = frozenset(candidates)
        own = names - TARGET_LABELS
        return closest_word(label, names) or (next(iter(own)) if len(own) == 1 else None)


def closest_word(word: str, candidates: Iterable[str]) -> str | None:
    """The closest of `candidates` (label names or values) to a misspelt `word`."""
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(closest: str | None) -> str:
    """The hint a finding about a misspelt name ends with ("" when no real name is close)."""
    return f"; did you mean {closest}?" if closest else ""


def _regex_matches(pattern: str, value: str) -> bool | None:
    """Whether a `=~` regex matches `value` as Prometheus matches it, or None when Python cannot compile it.

    Prometheus anchors the regex at both ends and lets `.` match a newline: it compiles `^(?s:<re>)$`
    (prometheus/prometheus model/labels/matcher.go, regexp.go). RE2 syntax that Python lacks is not guessed.
    """
    try:
        return re.fullmatch(f"(?s:{pattern})", value) is not None
    except re.error:
        return None


def label_value_problem(op: str, value: str, legal: frozenset[str], owner: str) -> str | None:
    """Why a matcher `<op> "<value>"` on a closed label is wrong, or None; `owner` says whose values
    ("chat_connections_total has", "the log shipper sends").

    `=`/`!=` compare exactly; `=~` must match at least one legal value and `!~` must leave at least one.
    `!=""` is the "has this label" idiom, never a typo.
    """
    ordered = sorted(legal)
    listed = f"(values: {', '.join(ordered)})"
    suggestion = closest_word(value, ordered)
    hint = f': did you mean "{suggestion}"? ' if suggestion else ": "
    if op in ("=", "!="):
        if value in legal or (op == "!=" and value == ""):
            return None
        return f"{'matches' if op == '=' else 'excludes'} no value {owner}{hint}{listed}"
    matched = [_regex_matches(value, v) for v in ordered]
    if None in matched:
        return None
    if op == "=~" and not any(matched):
        return f"matches no value {owner}{hint}{listed}"
    if op == "!~" and all(matched):
        return f"excludes every value {owner}: {listed}"
    return None


def _sample_names(family: Metric) -> list[str]:
    """Sample names of a family: from its samples, or by type when a labelled family has no child yet."""
    names = list(dict.fromkeys(sample.name for sample in family.samples))
    return names or [family.name + suffix for suffix in _SUFFIXES_BY_TYPE.get(family.type, ("",))]


def _series_of(family: Metric, closed: bool) -> list[Series]:
    """The series of a family; `closed` when it is one of the app's own (pre-initialised) families."""
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
                closed_values={
                    label: frozenset(v)
                    for label, v in values.items()
                    if closed and label not in _EXPOSITION_LABELS
                },
            )
        )
    return result


def _app_families(metrics: ChatMetrics) -> frozenset[str]:
    """Names of the families ChatMetrics declares itself (not its process/platform/GC collectors)."""
    wrappers = [
        value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase | LoopMetric)
    ]
    return frozenset(family.name for wrapper in wrappers for family in wrapper.describe())


def build_registry(registry: CollectorRegistry | None = None) -> Registry:
    """The app's series (a fresh ChatMetrics unless `registry` is given) plus Prometheus's scrape series.

    Only a fresh ChatMetrics has closed label values: a given registry's pre-initialisation is unknown.
    """
    closed_families: frozenset[str] = frozenset()
    if registry is None:
        metrics = ChatMetrics()
        registry, closed_families = metrics.registry, _app_families(metrics)
    series: dict[str, Series] = {}
    for family in registry.collect():
        for one in _series_of(family, family.name in closed_families):
            series[one.name] = one
    for name in SCRAPE_SERIES:
        series[name] = Series(name, "gauge", False, TARGET_LABELS)
    return Registry(series)


def _stream_values() -> dict[str, frozenset[str]]:
    """Every value the shipper sends for each stream label it fixes itself (`app`, `level`)."""
    streams = stream_labels(env="lint").values()  # any env: its value is dropped below
    closed = LOKI_STREAM_LABELS - _OPEN_STREAM_LABELS
    return {label: frozenset(labels[label] for labels in streams) for label in closed}


# The shipper's closed stream label values, e.g. {"app": {"chat"}, "level": {"debug", ..., "critical"}}.
LOKI_STREAM_VALUES: Mapping[str, frozenset[str]] = _stream_values()
