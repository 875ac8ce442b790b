"""A query without data is explained against a real Prometheus scraping the real app: which selector matched
nothing, the matcher responsible and the values that really exist.

One scrape is all the traffic: the app creates its labelled series (every connection result, every reject
reason) at start, so label values are there without a client.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dashboards.core.conventions import APP_JOB
from scripts.verify.explain import Selector, explain_no_data, parse_selector
from scripts.verify.stack import live_stack, wait_for_scrapes

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_stack(tmp_path_factory.mktemp("explain")) as stack:
        wait_for_scrapes(stack.prometheus_url, APP_JOB, 1)  # bounded: raises after 30 s
        yield stack.prometheus_url


def explain(prometheus_url: str, expr: str) -> str:
    now = time.time()
    return explain_no_data(prometheus_url, expr, (now - 60, now))


@pytest.mark.parametrize(
    ("expr", "explanation"),
    [
        pytest.param(
            'sum(rate(chat_connections_total{job=~"chat", result="evicted"}[1m]))',
            'chat_connections_total{job=~"chat", result="evicted"} matched no series; '
            'result="evicted" is the matcher that matches nothing (result has: evicted_slow, ',
            id="wrong label value: the closest real value first",
        ),
        pytest.param(
            'rate(chat_conections_total{job="chat"}[1m])',
            'chat_conections_total{job="chat"} matched no series; '
            "no series of metric chat_conections_total at all (closest: chat_connections_total, ",
            id="wrong metric name",
        ),
        pytest.param(
            'registered_clients{job="chat"} / on() up{job="chta"}',
            'up{job="chta"} matched no series; job="chta" is the matcher that matches nothing (job has: chat',
            id="wrong job in the second selector",
        ),
    ],
)
def test_the_empty_selector_its_culprit_and_what_exists_are_named(
    prometheus_url: str, expr: str, explanation: str
) -> None:
    message = explain(prometheus_url, expr)
    assert message.startswith(f"no data: {explanation}"), message


def test_selectors_with_data_say_the_operation_drops_them(prometheus_url: str) -> None:
    expr = f'up{{job="{APP_JOB}"}} > 1'
    assert explain(prometheus_url, expr) == (
        f"no data for: {expr} (every selector matches series: an operation or filter drops them)"
    )


def test_the_metric_name_is_never_dropped_and_quotes_are_kept() -> None:
    selector = parse_selector("""{__name__="up", job='chat', instance=~`a,b`}""", "up")
    assert selector == Selector(selector.text, "up", '{__name__="up"}', selector.matchers)
    assert [m.text for m in selector.matchers] == ["job='chat'", "instance=~`a,b`"]
    assert selector.without(selector.matchers[0]) == '{__name__="up", instance=~`a,b`}'
    assert selector.bare() == '{__name__="up"}'
