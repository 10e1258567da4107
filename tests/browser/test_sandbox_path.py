"""From a `make run`-like start: the demo admin tries the demo page with the customer simulator,
the demo agent answers from the desktop, and each side sees the other live."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_demo_admin_tries_the_page_and_the_demo_agent_answers(
    chromium, live_server, demo, screenshot
):
    admin = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    agent = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        admin_page, agent_page = admin.new_page(), agent.new_page()
        admin_page.set_default_timeout(15_000)
        agent_page.set_default_timeout(15_000)

        log_in(admin_page, "demo-admin", demo["demo-admin"])
        admin_page.get_by_role("link", name="Demo campaign").click()
        admin_page.get_by_role("link", name="Acme Support page").click()
        health = admin_page.get_by_test_id("health")
        expect(health.get_by_test_id("check-token")).to_have_attribute("data-state", "ok")
        expect(health.get_by_test_id("check-subscribed")).to_have_attribute("data-state", "ok")
        expect(health.get_by_test_id("check-webhook_verified")).to_have_attribute(
            "data-state", "ok"
        )
        screenshot(admin_page, "20_health_card")

        admin_page.get_by_role("link", name="Try it").click()
        admin_page.get_by_label("First name").fill("Maria")
        admin_page.get_by_label("Last name").fill("Schmidt")
        admin_page.get_by_role("button", name="Start chatting").click()
        admin_page.get_by_label("Message as Maria Schmidt").fill("Hi! Is my order on its way?")
        admin_page.get_by_role("button", name="Send", exact=True).click()
        expect(admin_page.get_by_test_id("sim-sent")).to_have_count(1)

        log_in(agent_page, "demo-agent", demo["demo-agent"])
        row = agent_page.get_by_test_id("contact-row").filter(has_text="Maria Schmidt")
        expect(row).to_be_visible()
        row.click()
        agent_page.get_by_role("button", name="Claim").click()
        agent_page.get_by_label("Reply to Maria Schmidt").fill("Yes, it arrives tomorrow!")
        agent_page.get_by_role("button", name="Send").click()

        reply = admin_page.get_by_test_id("sim-reply").filter(has_text="Yes, it arrives tomorrow!")
        expect(reply).to_be_visible()
        screenshot(admin_page, "21_simulator")
        status = (
            agent_page.get_by_test_id("message")
            .filter(has_text="Yes, it arrives tomorrow!")
            .get_by_test_id("message-status")
        )
        expect(status).to_have_text("✓✓ Read")
        screenshot(agent_page, "22_agent_read")

        admin_page.goto(admin_page.url.split("/sandbox/")[0] + "/campaigns/")
        admin_page.get_by_role("link", name="Demo campaign").click()
        admin_page.get_by_role("link", name="Acme Support page").click()
        admin_page.get_by_role("link", name="Delivery log").click()
        expect(admin_page.get_by_test_id("delivery-log")).to_contain_text("Processed")
        expect(admin_page.get_by_test_id("delivery-log")).to_contain_text("read")
        screenshot(admin_page, "23_delivery_log")
    finally:
        admin.close()
        agent.close()
