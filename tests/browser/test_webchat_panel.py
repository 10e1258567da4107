"""The website-chat panel of the builder in the browser: phone, tablet and desktop widths,
keyboard use, the copy button, form errors shown back, axe-core clean. Screenshots go to
test-artifacts/screenshots/webchat_panel_*.png to be looked at."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from webchat import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1366, 900)}


@pytest.fixture
def chat_entry_point(campaign, settings):
    settings.SANDBOX = True
    settings.WEBCHAT_SAMPLE_PAGE_URL = "http://127.0.0.1:8001/"
    entry_point = services.web_chat_entry_point_create(campaign=campaign, name="Acme website chat")
    entry_point.web_chat.allowed_origins = ["https://shop.example.com"]
    entry_point.web_chat.save()
    return entry_point


def panel(entry_point):
    return f"/campaigns/entry-points/{entry_point.pk}/"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_panel_at_every_width(
    page, admin_user, chat_entry_point, width, screenshot, assert_accessible
):
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    log_in(page, admin_user.username)
    page.goto(panel(chat_entry_point))
    snippet = page.get_by_test_id("embed-snippet")
    expect(snippet).to_have_value(
        f'<script src="{page.url.split("/campaigns")[0]}/static/webchat/widget.js" '
        f'data-widget-key="{chat_entry_point.web_chat.widget_key}" async></script>'
    )
    expect(page.get_by_test_id("sample-page")).to_have_attribute("href", "http://127.0.0.1:8001/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow} px wider than the window"
    assert_accessible(page, f"website chat panel at {width}")
    screenshot(page, f"webchat_panel_{width}")


def test_keyboard_copy_and_errors_shown_back(
    page, admin_user, chat_entry_point, screenshot, assert_accessible
):
    log_in(page, admin_user.username)
    page.goto(panel(chat_entry_point))
    copy = page.get_by_role("button", name="Copy the embed snippet")
    copy.focus()
    page.keyboard.press("Enter")
    expect(copy).to_have_text("Copied ✓")
    assert page.evaluate("navigator.clipboard.readText()").endswith("async></script>")

    origins = page.get_by_label("Allowed websites")
    origins.fill("https://shop.example.com/checkout")
    origins.focus()
    page.keyboard.press("Tab")  # through the colour to the greeting, by keyboard
    page.keyboard.press("Tab")
    expect(page.get_by_label("Greeting")).to_be_focused()
    page.keyboard.type(" Ask us anything.")
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("alert").filter(has_text="an origin has no path")).to_be_visible()
    expect(origins).to_have_value("https://shop.example.com/checkout")
    assert_accessible(page, "website chat panel with errors")
    screenshot(page, "webchat_panel_errors")

    origins.fill("https://shop.example.com\nhttp://localhost:8001")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Website chat saved.")).to_be_visible()
    expect(page.get_by_test_id("webchat-status")).to_have_text("Live on 2 websites")
