"""Real scrapes of the app's /metrics, and bounded waits for a value or a condition."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Mapping

from prometheus_client.parser import text_string_to_metric_families

from scripts.common.procs import poll_until


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One real scrape of /metrics: {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def wait_for_metric(
    base_url: str, name: str, expected: float, timeout_s: float = 10.0, **labels: str
) -> None:
    """Poll /metrics until the sample equals `expected` (server-side effects are asynchronous)."""
    value = None

    def reached() -> bool:
        nonlocal value
        value = metric(scrape(base_url), name, **labels)
        return value == expected

    if not poll_until(reached, timeout_s, interval_s=0.05):
        raise AssertionError(f"{name}{labels} = {value}, expected {expected} within {timeout_s}s")


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` after `timeout_s`."""
    if not poll_until(condition, timeout_s):
        raise TimeoutError(f"{what} not reached within {timeout_s}s")
