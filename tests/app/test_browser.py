"""The chat and /dashboards pages in real headless Chromium (Debian's chromium + chromedriver).

Two separate browsers chat through a real app process. "Grafana" is a stub HTTP server on loopback that
records which solo-panel URLs the browser actually loaded into the /dashboards iframes, so nothing ever
leaves the machine. Screenshots of both pages go to /tmp for a human look.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from app.config import DEFAULT_EMBEDS_PATH
from scripts.common.procs import poll_until, running_app
from tests.support.grafana_alerts import TOKEN, grafana_alert, grafana_notification, post_alerts
from tests.support.metrics import metric, scrape

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
WAIT_S = 20  # generous: two browsers and an app share two cores with other test runs
SCREENSHOTS = {"chat": Path("/tmp/chat-page.png"), "dashboards": Path("/tmp/dashboards-page.png")}


class _StubGrafana(BaseHTTPRequestHandler):
    """Answers every GET with a small page and records the path (with query) the browser asked for."""

    requested: list[str] = []

    def do_GET(self) -> None:
        type(self).requested.append(self.path)
        body = (
            b"<!doctype html><body style='background:#e8f0fe;font:14px sans-serif'>stub Grafana panel</body>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def stub_grafana() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubGrafana)  # the kernel picks a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def app_url(stub_grafana: str) -> Iterator[str]:
    env = {"ALERT_WEBHOOK_TOKEN": TOKEN, "GRAFANA_PUBLIC_URL": stub_grafana, "GRAFANA_EMBEDS_PATH": ""}
    with running_app(env) as base_url:
        yield base_url


def _chromium(*extra_flags: str) -> WebDriver:
    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), "apt-get install chromium chromium-driver"
    profile = tempfile.mkdtemp(prefix="chat-browser-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    driver.profile_dir = profile  # type: ignore[attr-defined]
    return driver


@pytest.fixture(scope="module")
def browsers() -> Iterator[tuple[WebDriver, WebDriver]]:
    first = _chromium()
    try:
        second = _chromium()
    except Exception:
        _quit(first)
        raise
    try:
        yield first, second
    finally:
        _quit(first)
        _quit(second)


@pytest.fixture(autouse=True)
def blank_pages(browsers: tuple[WebDriver, WebDriver]) -> None:
    """Every test starts with both browsers off the chat (their earlier connections closed)."""
    for driver in browsers:
        driver.get("about:blank")


def _quit(driver: WebDriver) -> None:
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)  # type: ignore[attr-defined]


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.1).until(condition, message=f"timed out: {what}")


def join(driver: WebDriver, base_url: str, name: str) -> None:
    """Open the chat page fresh (closing any earlier connection) and join as `name`."""
    driver.get(f"{base_url}/")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "#join-form button[type=submit]").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "send-form").is_displayed(), f"{name} joined")
    assert not driver.find_element(By.ID, "join-form").is_displayed(), "the join form hides once joined"


def say(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "text")
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#send-form button[type=submit]").click()


def message_texts(driver: WebDriver) -> list[tuple[str, str]]:
    """(sender, text) of every chat message line on the page."""
    lines = driver.find_elements(By.CSS_SELECTOR, "#messages li.message")
    return [
        (line.find_element(By.CSS_SELECTOR, ".from").text, line.find_element(By.CSS_SELECTOR, ".text").text)
        for line in lines
    ]


def connected(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "clients").text


def test_two_pages_chat_with_each_other(app_url: str, browsers: tuple[WebDriver, WebDriver]) -> None:
    alice, bob = browsers
    join(alice, app_url, "alice")
    join(bob, app_url, "bob")
    say(alice, "hello bob")
    wait_for(bob, lambda d: ("alice", "hello bob") in message_texts(d), "bob sees alice's message")
    say(bob, "hi alice")
    wait_for(alice, lambda d: ("bob", "hi alice") in message_texts(d), "alice sees bob's reply")
    assert message_texts(alice)[-2:] == [("alice", "hello bob"), ("bob", "hi alice")]
    alice.save_screenshot(str(SCREENSHOTS["chat"]))


def test_connected_count_follows_joins_and_leaves(
    app_url: str, browsers: tuple[WebDriver, WebDriver]
) -> None:
    alice, bob = browsers
    join(alice, app_url, "carol")
    wait_for(alice, lambda d: connected(d) == "1", "count 1: carol alone")
    join(bob, app_url, "dave")
    wait_for(alice, lambda d: connected(d) == "2", "count 2 after dave joined")
    assert connected(bob) == "2"
    bob.find_element(By.ID, "leave").click()
    wait_for(alice, lambda d: connected(d) == "1", "count 1 after dave left")


def test_following_the_dashboards_link_leaves_and_coming_back_rejoins(
    app_url: str, browsers: tuple[WebDriver, WebDriver]
) -> None:
    alice, bob = browsers
    join(alice, app_url, "erin")
    join(bob, app_url, "frank")
    wait_for(alice, lambda d: connected(d) == "2", "both online")
    bob.find_element(By.ID, "dashboards-link").click()
    wait_for(bob, lambda d: d.find_elements(By.CSS_SELECTOR, "iframe.grafana-panel"), "dashboards page")
    # Even when the chat page is kept in the back/forward cache, it must not stay online as a ghost.
    wait_for(alice, lambda d: connected(d) == "1", "frank left by navigating away")
    bob.back()
    wait_for(alice, lambda d: connected(d) == "2", "frank back online after going back")


PAYLOADS = (
    "<img src=x onerror=\"window.__xss='img'\">",
    "<script>window.__xss='script'</script>",
    "<svg onload=\"window.__xss='svg'\"></svg>",
)


def test_html_in_messages_is_shown_as_text_and_never_runs(
    app_url: str, browsers: tuple[WebDriver, WebDriver]
) -> None:
    mallory, victim = browsers
    join(mallory, app_url, "<b>mallory</b>")
    join(victim, app_url, "victim")
    for payload in PAYLOADS:
        say(mallory, payload)
    wait_for(victim, lambda d: len(message_texts(d)) == len(PAYLOADS), "all payloads arrived")
    assert message_texts(victim) == [("<b>mallory</b>", payload) for payload in PAYLOADS]
    for driver in browsers:
        assert driver.execute_script("return window.__xss === undefined"), "a payload executed"
        messages = driver.find_element(By.ID, "messages")
        assert messages.find_elements(By.CSS_SELECTOR, "img, script, svg, b") == []


def test_alert_webhook_posts_appear_in_an_open_chat_page(
    app_url: str, browsers: tuple[WebDriver, WebDriver]
) -> None:
    viewer, _ = browsers
    join(viewer, app_url, "oncall")
    summary = "<i>Broadcast p99 above 250 ms</i>"
    response = post_alerts(app_url, grafana_notification(grafana_alert(summary)))
    assert response.status_code == 200, response.text
    line = wait_for(
        viewer, lambda d: d.find_elements(By.CSS_SELECTOR, "#messages li.alert.firing"), "alert line shown"
    )[0]
    assert summary in line.text and "FIRING" in line.text
    link = line.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == grafana_alert(summary)["panelURL"]
    assert line.find_elements(By.TAG_NAME, "i") == []
    post_alerts(app_url, grafana_notification(grafana_alert(summary, status="resolved")))
    wait_for(viewer, lambda d: d.find_elements(By.CSS_SELECTOR, "#messages li.alert.resolved"), "resolved")
    viewer.save_screenshot(str(SCREENSHOTS["chat"]))


def test_dashboards_page_embeds_exactly_the_rendered_panels(
    app_url: str, stub_grafana: str, browsers: tuple[WebDriver, WebDriver]
) -> None:
    entries = json.loads(DEFAULT_EMBEDS_PATH.read_text(encoding="utf-8"))
    assert entries, "embeds.json lists no panel: run `python -m scripts.render`"
    viewer_params = {"orgId": "1", "from": "now-1h", "to": "now", "theme": "light", "refresh": "30s"}
    panel_paths = [urlsplit(e["path"]) for e in entries]
    expected_paths = [
        f"{p.path}?{urlencode({**dict(parse_qsl(p.query)), **viewer_params})}" for p in panel_paths
    ]
    driver, _ = browsers
    _StubGrafana.requested.clear()
    driver.get(f"{app_url}/dashboards")
    frames = driver.find_elements(By.CSS_SELECTOR, "iframe.grafana-panel")
    assert [frame.get_attribute("src") for frame in frames] == [stub_grafana + p for p in expected_paths]
    assert [frame.get_attribute("title") for frame in frames] == [e["title"] for e in entries]
    # The browser really loaded every panel (CSP frame-src let the Grafana origin through).
    for frame in frames:
        driver.execute_script("arguments[0].scrollIntoView()", frame)
    poll_until(lambda: set(expected_paths) <= set(_StubGrafana.requested), WAIT_S, interval_s=0.1)
    assert set(expected_paths) <= set(_StubGrafana.requested)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(SCREENSHOTS["dashboards"]))


# DNS rebinding: the attacker's name resolves to 127.0.0.1, so a page of http://evil.example:PORT is
# same-origin with whatever answers on 127.0.0.1:PORT. Chromium's resolver rule plays the attacker's DNS.
REBINDING_NAME = "evil.example"
# From a page: open the chat's websocket and read a same-origin URL; reports what the page could do.
PROBE_SCRIPT = """
const [wsUrl, readUrl, done] = arguments;
const result = {};
let pending = 2;
const finish = () => { if (--pending === 0) done(result); };
const ws = new WebSocket(wsUrl);
ws.onopen = () => { result.ws = "open"; ws.close(); };
ws.onclose = (event) => { result.ws = result.ws || "refused (" + event.code + ")"; finish(); };
fetch(readUrl)
  .then((response) => response.text().then((text) => { result.read = [response.status, text.slice(0, 60)]; }))
  .catch((error) => { result.read = [0, String(error)]; })
  .finally(finish);
"""


@pytest.fixture(scope="module")
def rebinding_browser() -> Iterator[WebDriver]:
    driver = _chromium(f"--host-resolver-rules=MAP {REBINDING_NAME} 127.0.0.1")
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        _quit(driver)


def probe(driver: WebDriver, page_origin: str) -> dict[str, Any]:
    """Load `page_origin`/healthz and, from that page, try the websocket and a read of /metrics."""
    driver.get(f"{page_origin}/healthz")
    ws_origin = page_origin.replace("http://", "ws://", 1)
    return driver.execute_async_script(PROBE_SCRIPT, f"{ws_origin}/ws", f"{page_origin}/metrics")


def test_a_page_on_a_rebinding_name_can_neither_open_the_chat_nor_read_it(
    app_url: str, rebinding_browser: WebDriver
) -> None:
    port = urlsplit(app_url).port
    before = scrape(app_url)
    # Control: the same probe from the app's own origin opens the websocket and reads /metrics.
    own = probe(rebinding_browser, app_url)
    assert own["ws"] == "open" and own["read"][0] == 200, own
    # The attacker's page: http://evil.example:PORT, whose name now resolves to 127.0.0.1. Its Origin
    # equals its Host, which the old check let in; the Host allowlist refuses both the page and the socket.
    rebound = probe(rebinding_browser, f"http://{REBINDING_NAME}:{port}")
    assert rebound["ws"].startswith("refused"), rebound
    assert rebound["read"] == [400, "host not allowed\n"], rebound
    assert "host not allowed" in rebinding_browser.page_source
    after = scrape(app_url)
    accepted = ("chat_connections_total", {"result": "accepted"})
    refused = ("chat_door_refusals_total", {"reason": "host_refused"})
    assert metric(after, accepted[0], **accepted[1]) == metric(before, accepted[0], **accepted[1]) + 1
    # The page, the websocket and the read (and a favicon, if Chromium asks): refused at the door.
    assert metric(after, refused[0], **refused[1]) >= metric(before, refused[0], **refused[1]) + 3
