"""Playwright driving Debian's Chromium (never a downloaded build). Screenshots go to
test-artifacts/screenshots/ (ignored by git) to be looked at."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from playwright.sync_api import expect

from messenger.sandbox import simulator
from tests.conftest import PASSWORD, skip_or_fail

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be usable.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        skip_or_fail(f"Chromium not found at {CHROMIUM} (install it: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    # The Content-Security-Policy must never have to block anything the app itself serves.
    violations = []
    page.on("console", lambda message: _note_violation(message, violations))
    yield page
    context.close()
    assert violations == [], "Content-Security-Policy violations or eval attempts in the page"


def _note_violation(message, violations):
    if message.type == "error" and (
        "Content Security Policy" in message.text or "evalDisallowed" in message.text
    ):
        violations.append(message.text)


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# axe-core (vendored from npm, tests only) checks a page for WCAG 2.1 A/AA violations. It is
# evaluated through the DevTools protocol, which the page's Content-Security-Policy does not block.
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, within=None):
    """The WCAG A/AA violations axe-core finds in the page as it is now (or within an axe-core
    context: a CSS selector, or {"include": [...], "exclude": [...]}), as readable lines."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "([tags, within]) => axe.run(within || document, {runOnly: {type: 'tag', values: tags}})",
        [WCAG_A_AA, within],
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


@pytest.fixture
def assert_accessible():
    """Fails with axe-core's findings when the page has any WCAG A/AA violation."""

    def check(page, where="", within=None):
        # On a page still loading its stylesheet axe-core cannot read the CSS rules and injects
        # a <style> of its own, which the Content-Security-Policy (rightly) blocks.
        page.wait_for_load_state("load")
        found = axe_violations(page, within)
        assert found == [], f"axe-core on {where or page.url}:\n" + "\n".join(found)

    return check


def log_in(page, username, password=PASSWORD):
    """Log in through the login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def demo(live_server, settings, process_env, start_worker, tmp_path):
    """The demo data and the in-app sandbox, as `make run` sets them up, and a worker (no beat:
    what happens here happens as it is triggered). Returns {username: password}."""
    settings.VAR_DIR = tmp_path  # the demo logins file of this test, not of `make run`
    settings.GRAPH_API_URL = f"{live_server.url}/sandbox/graph/v25.0"
    simulator.reset()  # a fresh sandbox, at this server's address
    call_command("seed_demo", base_url=live_server.url)
    process_env["TEST_GRAPH_API_URL"] = django_settings.GRAPH_API_URL
    start_worker(beat=False)
    logins = Path(django_settings.VAR_DIR, "demo-logins.txt").read_text().split()
    return dict(zip(logins[::2], logins[1::2], strict=True))


def customer_says(admin_page, first_name, text):
    """A new customer of the demo page writes once, through the sandbox's simulator."""
    admin_page.goto("/sandbox/simulator/")
    admin_page.get_by_label("First name").fill(first_name)
    admin_page.get_by_role("button", name="Start chatting").click()
    admin_page.get_by_label(f"Message as {first_name}").fill(text)
    admin_page.get_by_role("button", name="Send", exact=True).click()
    expect(admin_page.get_by_test_id("sim-sent")).to_have_count(1)
