"""GET /dashboards in a real app process: iframes built from embeds.json and GRAFANA_PUBLIC_URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from app.config import DEFAULT_EMBEDS_PATH
from app.embed_page import grafana_origin
from scripts.common.procs import running_app

GRAFANA = "http://grafana.example:3000"
EMBEDS = [
    {"dashboard_uid": "chat-overview", "slug": "chat-overview", "panel_id": 2, "title": "Connected clients",
     "path": "/d-solo/chat-overview/chat-overview?panelId=2"},
    {"dashboard_uid": "chat-service-health", "slug": "chat-service-health", "panel_id": 7,
     "title": "<script>alert('title')</script> & co",
     "path": "/d-solo/chat-service-health/chat-service-health?panelId=7"},
]  # fmt: skip
EXPECTED_SRCS = [
    f"{GRAFANA}/d-solo/chat-overview/chat-overview?orgId=1&panelId=2&from=now-1h&to=now&theme=light&refresh=30s",
    f"{GRAFANA}/d-solo/chat-service-health/chat-service-health"
    "?orgId=1&panelId=7&from=now-1h&to=now&theme=light&refresh=30s",
]


class _Page(HTMLParser):
    """The iframes, links and text of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.iframes: list[dict[str, str | None]] = []
        self.links: list[str | None] = []
        self.scripts = 0
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.iframes.append(dict(attrs))
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _csp(response: requests.Response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


@pytest.fixture(scope="module")
def embeds_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("embeds") / "embeds.json"
    path.write_text(json.dumps(EMBEDS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def app_url(embeds_file: Path) -> Iterator[str]:
    with running_app({"GRAFANA_PUBLIC_URL": GRAFANA, "GRAFANA_EMBEDS_PATH": str(embeds_file)}) as base_url:
        yield base_url


def test_iframes_point_exactly_at_grafana_solo_panels(app_url: str) -> None:
    response = requests.get(f"{app_url}/dashboards", timeout=10)
    assert response.status_code == 200
    page = _Page(response.text)
    assert [frame["src"] for frame in page.iframes] == EXPECTED_SRCS
    assert [frame["title"] for frame in page.iframes] == [entry["title"] for entry in EMBEDS]
    assert "/" in page.links, "the page links back to the chat"


def test_content_security_policy_allows_frames_from_grafana_only(app_url: str) -> None:
    response = requests.get(f"{app_url}/dashboards", timeout=10)
    csp = _csp(response)
    assert csp["frame-src"] == GRAFANA
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_titles_are_escaped_not_executed(app_url: str) -> None:
    html = requests.get(f"{app_url}/dashboards", timeout=10).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; co" in html
    assert _Page(html).scripts == 0


def test_theme_is_chosen_from_a_closed_set(app_url: str) -> None:
    dark = _Page(requests.get(f"{app_url}/dashboards?theme=dark", timeout=10).text)
    assert [frame["src"] for frame in dark.iframes] == [src.replace("light", "dark") for src in EXPECTED_SRCS]
    odd = _Page(requests.get(f"{app_url}/dashboards?theme=%22%3E%3Cscript%3E", timeout=10).text)
    assert [frame["src"] for frame in odd.iframes] == EXPECTED_SRCS


def test_without_grafana_public_url_the_page_explains_what_to_set(embeds_file: Path) -> None:
    with running_app({"GRAFANA_PUBLIC_URL": "", "GRAFANA_EMBEDS_PATH": str(embeds_file)}) as base_url:
        response = requests.get(f"{base_url}/dashboards", timeout=10)
    assert response.status_code == 200
    page = _Page(response.text)
    assert page.iframes == []
    assert "GRAFANA_PUBLIC_URL" in "".join(page.text)
    assert _csp(response)["frame-src"] == "'none'"


def test_a_bad_public_url_shows_the_problem_and_no_iframe(embeds_file: Path) -> None:
    env = {"GRAFANA_PUBLIC_URL": "javascript:alert(1)", "GRAFANA_EMBEDS_PATH": str(embeds_file)}
    with running_app(env) as base_url:
        response = requests.get(f"{base_url}/dashboards", timeout=10)
    page = _Page(response.text)
    assert page.iframes == []
    assert "GRAFANA_PUBLIC_URL must be an http(s) URL" in "".join(page.text)
    assert _csp(response)["frame-src"] == "'none'"


def test_a_missing_embeds_file_says_how_to_render_it(tmp_path: Path) -> None:
    env = {"GRAFANA_PUBLIC_URL": GRAFANA, "GRAFANA_EMBEDS_PATH": str(tmp_path / "embeds.json")}
    with running_app(env) as base_url:
        page = _Page(requests.get(f"{base_url}/dashboards", timeout=10).text)
    assert page.iframes == []
    assert "python -m scripts.render" in "".join(page.text)


def test_grafana_origin_accepts_only_http_urls() -> None:
    assert grafana_origin("http://localhost:3000") == "http://localhost:3000"
    assert grafana_origin("https://grafana.example.com/sub/path/") == "https://grafana.example.com"
    assert grafana_origin("javascript:alert(1)") is None
    assert grafana_origin("http://user:pw@evil.example") is None
    assert grafana_origin("") is None


def test_the_rendered_embeds_file_is_served_by_default() -> None:
    entries = json.loads(DEFAULT_EMBEDS_PATH.read_text(encoding="utf-8"))
    assert entries, "embeds.json lists no panel: run `python -m scripts.render`"
    with running_app({"GRAFANA_PUBLIC_URL": "http://localhost:3000", "GRAFANA_EMBEDS_PATH": ""}) as base_url:
        page = _Page(requests.get(f"{base_url}/dashboards", timeout=10).text)
    assert len(page.iframes) == len(entries)
    for frame, entry in zip(page.iframes, entries, strict=True):
        assert frame["src"].startswith(f"http://localhost:3000{entry['path'].split('?')[0]}?orgId=1&")
        assert f"panelId={entry['panel_id']}" in frame["src"]


def test_the_chat_page_links_to_the_dashboards() -> None:
    with running_app() as base_url:
        page = _Page(requests.get(f"{base_url}/", timeout=10).text)
    assert "/dashboards" in page.links
