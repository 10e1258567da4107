"""The sample shop in the browser tests of website chat: served on another origin than the live
server's, and what a visitor's browser sees there."""

import re
import threading

import pytest
from django.core.cache import cache

from tests.browser.conftest import SCREENSHOTS, _note_violation
from tests.processes import free_port
from webchat.models import WebChatSettings
from webchat.sample_shop.server import make_server
from webchat.services import DEMO_NAME

LAUNCHER = re.compile(r"^Chat: ")
WIDGET_HOST = "campaign-builder-chat"


@pytest.fixture
def shop_server(live_server):
    """Serves the sample shop for a widget key on a new port of 127.0.0.1 (another origin than
    the live server's); returns that origin."""
    # The visitor API's rate limits count per address in the cache, and every browser test's
    # visitor comes from 127.0.0.1: each test starts with fresh windows.
    cache.clear()
    servers = []

    def serve(widget_key):
        server = make_server(
            free_port(), app_origin=live_server.url, widget_key=lambda: widget_key, quiet=True
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def demo_chat(allowed_origins):
    """The demo's website chat (seed_demo made it), allowed on these origins only."""
    chat = WebChatSettings.objects.get(entry_point__name=DEMO_NAME)
    chat.allowed_origins = allowed_origins
    chat.save(update_fields=["allowed_origins"])
    return chat


def visitor_context(chromium, width=1366, height=900):
    """A visitor's own browser: German, in Berlin, so Customer Info has something to show."""
    return chromium.new_context(
        viewport={"width": width, "height": height}, locale="de-DE", timezone_id="Europe/Berlin"
    )


def watch(page):
    """The page's CSP violations and uncaught errors, and the visitor API's answers."""
    seen = {"violations": [], "errors": [], "api": []}
    page.on("console", lambda message: _note_violation(message, seen["violations"]))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on(
        "response",
        lambda response: (
            "/webchat/" in response.url
            and seen["api"].append((response.request.method, response.url, response.status))
        ),
    )
    return seen


def raw_responses(page):
    """[[url, status, headers]] of the page's requests as the network answered them, read
    through the DevTools protocol: Playwright's "response" event never fires for a response
    the browser refused to hand to the page (CORS), which is what this test is about."""
    urls, answers, unnamed = {}, [], {}

    def sent(event):
        url = urls[event["requestId"]] = event["request"]["url"]
        for answer in unnamed.pop(event["requestId"], []):
            answer[0] = url

    def answered(event):
        # [url, status, headers]; the answer can come before its request's event: named then.
        url = urls.get(event["requestId"])
        headers = {k.lower(): v for k, v in event["headers"].items()}
        answer = [url or "", event["statusCode"], headers]
        answers.append(answer)
        if url is None:
            unnamed.setdefault(event["requestId"], []).append(answer)

    cdp = page.context.new_cdp_session(page)
    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceivedExtraInfo", answered)
    cdp.send("Network.enable")
    return answers


def answer_to(page, answers, url, timeout_ms=5000):
    """The one answer to `url` in `answers` (raw_responses), waiting for it: the DevTools event
    can come after Playwright's own for the same request (e.g. "requestfailed"). Waiting in the
    page lets Playwright dispatch the events meanwhile."""
    for _ in range(timeout_ms // 50):
        found = [answer for answer in answers if answer[0] == url]
        if found:
            (answer,) = found
            return answer
        page.wait_for_timeout(50)
    raise AssertionError(f"no answer to {url} was seen: {answers}")


def window_screenshot(page, name):
    """What the visitor sees in the window (a full-page shot would stretch the fixed panel)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
