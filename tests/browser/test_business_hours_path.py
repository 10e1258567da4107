"""The admin sets business hours that are closed now and an away reply in the campaign form; a
customer in the simulator writes twice and gets the away reply once; the agent sees the
conversation marked "Outside business hours". Runs on the demo data with a real worker, as
`make run` does."""

import pytest
from playwright.sync_api import expect

from messenger.sandbox import simulator
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AWAY = "Thanks for your message! We're closed right now and answer on the next working day."
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
WIDTHS = (390, 768, 1366)


def away_replies_sent():
    return [s for s in simulator.sandbox_graph().sent_messages() if s["message"]["text"] == AWAY]


def test_a_customer_writing_outside_business_hours_gets_the_away_reply_once(
    chromium, live_server, demo, screenshot, assert_accessible
):
    admin = chromium.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    agent = chromium.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    try:
        admin_page, agent_page = admin.new_page(), agent.new_page()
        admin_page.set_default_timeout(15_000)
        agent_page.set_default_timeout(15_000)

        # The admin sets hours that are closed every day (so: closed now, whenever this runs).
        log_in(admin_page, "demo-admin", demo["demo-admin"])
        admin_page.get_by_role("link", name="Demo campaign").click()
        admin_page.get_by_role("link", name="Edit", exact=True).click()
        admin_page.get_by_label("Use business hours").check()
        admin_page.get_by_label("Time zone").select_option("Europe/Berlin")
        admin_page.get_by_label("Tuesday opens").fill("18:00")
        admin_page.get_by_label("Tuesday closes").fill("08:00")
        admin_page.get_by_label("Holidays").fill("2026-12-25\n2026-12-26")
        admin_page.get_by_label("Away message").fill(AWAY)
        expect(admin_page.get_by_test_id("away-count")).to_have_text(
            f"{len(AWAY)} / 1999 characters"
        )
        admin_page.get_by_role("button", name="Save campaign").click()

        # A range that closes before it opens is shown on its day, with what was typed.
        tuesday = admin_page.get_by_test_id("business-hours").get_by_role("alert")
        expect(tuesday).to_contain_text("Tuesday: Closes (08:00) before it opens (18:00).")
        expect(admin_page.get_by_label("Tuesday opens")).to_have_value("18:00")
        assert_accessible(admin_page, "campaign form with an error")
        screenshot(admin_page, "hours_form_error_1366")

        for day in WEEKDAYS:
            admin_page.get_by_label(f"{day} opens").fill("")
            admin_page.get_by_label(f"{day} closes").fill("")
        for width in WIDTHS:
            admin_page.set_viewport_size({"width": width, "height": 900})
            assert_accessible(admin_page, f"campaign form at {width} px")
            screenshot(admin_page, f"hours_form_{width}")
        admin_page.set_viewport_size({"width": 1366, "height": 900})
        admin_page.get_by_role("button", name="Save campaign").click()
        expect(admin_page.get_by_test_id("hours-summary")).to_contain_text(
            "Closed every day · Europe/Berlin · 2 holidays"
        )
        expect(admin_page.get_by_test_id("away-summary")).to_have_text("On")
        assert_accessible(admin_page, "campaign page with its settings")
        screenshot(admin_page, "hours_campaign_summary")

        # A customer writes twice in the simulator.
        admin_page.get_by_role("link", name="Acme Support page").click()
        admin_page.get_by_role("link", name="Try it").click()
        admin_page.get_by_label("First name").fill("Maria")
        admin_page.get_by_label("Last name").fill("Schmidt")
        admin_page.get_by_role("button", name="Start chatting").click()
        for sent, text in enumerate(("Hello, are you open?", "A question about my order."), 1):
            admin_page.get_by_label("Message as Maria Schmidt").fill(text)
            admin_page.get_by_role("button", name="Send", exact=True).click()
            expect(admin_page.get_by_test_id("sim-sent")).to_have_count(sent)
        expect(admin_page.get_by_test_id("sim-reply").filter(has_text=AWAY)).to_be_visible()

        # The agent sees both messages, the one automatic reply, and the mark.
        log_in(agent_page, "demo-agent", demo["demo-agent"])
        row = agent_page.get_by_test_id("contact-row").filter(has_text="Maria Schmidt")
        expect(row.get_by_test_id("outside-hours")).to_have_text("Outside business hours")
        row.click()
        header = agent_page.get_by_test_id("conversation-header")
        expect(header.get_by_test_id("outside-hours")).to_be_visible()
        messages = agent_page.get_by_test_id("messages")
        # Both customer messages are stored, so the away reply was decided for each of them.
        expect(messages.locator(".bubble-row.in")).to_have_count(2)
        automatic = messages.get_by_test_id("message").filter(has_text=AWAY)
        expect(automatic).to_have_count(1)
        expect(automatic.get_by_test_id("automatic-reply")).to_have_text("Automatic reply")
        expect(automatic.get_by_test_id("message-status")).to_have_text("✓✓ Read")
        assert_accessible(agent_page, "desktop with an away reply")
        screenshot(agent_page, "hours_desktop_badge")

        (sent,) = away_replies_sent()  # the fake Graph API got exactly one
        assert (sent["messaging_type"], sent["tag"]) == ("RESPONSE", None)
        expect(admin_page.get_by_test_id("sim-reply")).to_have_count(1)
        screenshot(admin_page, "hours_simulator")
    finally:
        admin.close()
        agent.close()
