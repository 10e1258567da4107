"""Website chat end to end, in Chromium: the sample shop on an origin of its own embeds the widget
from the app with the one-line snippet, under a strict Content-Security-Policy. A visitor writes
from the bubble while a Messenger customer writes through the sandbox; the agent sees both in one
list, each with its badge, answers the visitor, and both sides see the read states. A page on an
origin the chat does not allow loads the widget, which gets a 403 and shows nothing."""

import pytest
from playwright.sync_api import expect

from tests.browser import webchat_shop
from tests.browser.conftest import customer_says, log_in
from tests.browser.webchat_shop import (
    LAUNCHER,
    WIDGET_HOST,
    answer_to,
    demo_chat,
    raw_responses,
    visitor_context,
    watch,
    window_screenshot,
)
from webchat.services import DEMO_NAME

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop_server = webchat_shop.shop_server  # the fixture


def test_a_visitor_and_a_messenger_customer_reach_the_agent_side_by_side(
    chromium, live_server, demo, shop_server, screenshot, assert_accessible
):
    key = demo_chat([]).widget_key
    shop = shop_server(key)
    demo_chat([shop])

    visitor = visitor_context(chromium)
    admin, agent = (
        chromium.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
        for _ in range(2)
    )
    try:
        page = visitor.new_page()
        page.set_default_timeout(15_000)
        seen = watch(page)
        admin_page, agent_page = admin.new_page(), agent.new_page()
        for staff_page in (admin_page, agent_page):
            staff_page.set_default_timeout(15_000)

        # The visitor opens the bubble on the shop, gives a name and writes.
        page.goto(shop + "/")
        launcher = page.get_by_role("button", name=LAUNCHER)
        expect(launcher).to_have_attribute("aria-expanded", "false")
        launcher.click()
        dialog = page.get_by_role("dialog", name=DEMO_NAME)
        expect(dialog).to_be_visible()
        expect(dialog.get_by_label("Name")).to_be_focused()
        dialog.get_by_label("Name").fill("Vera Visitor")
        dialog.get_by_role("button", name="Start chat").click()
        box = dialog.get_by_label("Your message")
        expect(box).to_be_focused()
        box.fill("Is the copper kettle in stock?")
        box.press("Enter")
        mine = dialog.locator(".msg.mine").filter(has_text="Is the copper kettle in stock?")
        expect(mine.get_by_test_id("message-state")).to_have_text("Sent")
        assert_accessible(page, "the shop with the chat open")
        window_screenshot(page, "webchat_visitor_1366")

        # A Messenger customer writes too (the sandbox's simulator, as the admin).
        log_in(admin_page, "demo-admin", demo["demo-admin"])
        customer_says(admin_page, "Marco", "Where is my parcel?")

        # The agent sees both in one list, each with its channel's badge.
        log_in(agent_page, "demo-agent", demo["demo-agent"])
        rows = agent_page.get_by_test_id("contact-row")
        web_row = rows.filter(has_text="Vera Visitor")
        messenger_row = rows.filter(has_text="Marco")
        expect(web_row.get_by_title("Website chat")).to_be_visible()
        expect(messenger_row.get_by_title("Facebook Messenger")).to_be_visible()
        expect(web_row.get_by_title("Facebook Messenger")).to_have_count(0)

        # Opening the visitor's conversation shows where they are, and marks their message read.
        web_row.click()
        info = agent_page.locator("#customer-info")
        expect(info).to_contain_text(f"{shop}/")
        expect(info).to_contain_text("de-DE")
        expect(info).to_contain_text("Europe/Berlin")
        expect(mine.get_by_test_id("message-state")).to_have_text("Read")

        agent_page.get_by_label("Reply to Vera Visitor").fill("Hello Vera, it ships today!")
        agent_page.get_by_role("button", name="Send", exact=True).click()
        reply = agent_page.get_by_test_id("message").filter(has_text="Hello Vera, it ships today!")
        # The visitor's panel is open: the widget shows the reply and reports it read.
        theirs = dialog.locator(".msg.theirs").filter(has_text="Hello Vera, it ships today!")
        expect(theirs).to_be_visible()
        expect(reply.get_by_test_id("message-status")).to_have_text("✓✓ Read")
        screenshot(agent_page, "webchat_desk")
        window_screenshot(page, "webchat_visitor_1366_reply")

        # Escape closes the panel and gives the focus back to the launcher.
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_be_focused()

        # A new page load keeps the visitor and the conversation (no name asked again).
        page.reload()
        page.get_by_role("button", name=LAUNCHER).click()
        expect(dialog.locator(".msg.theirs")).to_contain_text(["Hello Vera, it ships today!"])
        expect(mine.get_by_test_id("message-state")).to_have_text("Read")
        expect(dialog.get_by_label("Name")).to_be_hidden()
        expect(dialog.get_by_label("Your message")).to_be_focused()

        # A tablet keeps the floating panel; a phone gets it full screen.
        page.set_viewport_size({"width": 768, "height": 1024})
        box = dialog.bounding_box()
        assert box["x"] > 0 and box["x"] + box["width"] < 768
        assert_accessible(page, "the shop with the chat open at 768 px")
        window_screenshot(page, "webchat_visitor_768")
        page.set_viewport_size({"width": 390, "height": 844})
        box = dialog.bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
        # Full screen, Tab stays inside the panel: from its last control back to its first.
        dialog.get_by_role("button", name="Send").focus()
        page.keyboard.press("Tab")
        expect(dialog.get_by_role("button", name="Close chat")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(dialog.get_by_role("button", name="Send")).to_be_focused()
        assert_accessible(page, "the shop with the chat open at 390 px")
        window_screenshot(page, "webchat_visitor_390")

        assert seen["violations"] == [] and seen["errors"] == []
        assert all(status < 400 for _, _, status in seen["api"]), seen["api"]
    finally:
        for context in (visitor, admin, agent):
            context.close()


def test_a_website_the_chat_does_not_allow_gets_a_403_and_no_launcher(
    chromium, live_server, demo, shop_server
):
    key = demo_chat([]).widget_key
    allowed, other = shop_server(key), shop_server(key)
    demo_chat([allowed])

    context = visitor_context(chromium)
    try:
        page = context.new_page()
        seen = watch(page)
        answers = raw_responses(page)
        with page.expect_event("requestfailed", lambda r: "/config/" in r.url) as refused:
            page.goto(other + "/")
        assert refused.value.url == f"{live_server.url}/webchat/{key}/config/"
        config = answer_to(page, answers, refused.value.url)
        assert config[1] == 403 and "access-control-allow-origin" not in config[2]
        expect(page.get_by_role("heading", name="Tools that last")).to_be_visible()
        expect(page.locator(WIDGET_HOST)).to_have_count(0)
        # The script itself loaded from the app, and threw nothing into the shop's page.
        assert any(a[0].endswith("/static/webchat/widget.js") and a[1] == 200 for a in answers)
        assert seen["errors"] == [] and seen["violations"] == []

        # The same key on the allowed origin shows the launcher.
        page.goto(allowed + "/")
        expect(page.get_by_role("button", name=LAUNCHER)).to_be_visible()
    finally:
        context.close()
