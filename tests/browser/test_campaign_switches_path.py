"""An admin deactivates the demo campaign: the builder says so on its pages, the next message
from the customer simulator shows in the delivery log as ignored ("campaign inactive") and no
contact reaches the agent's desktop; after reactivating, one press replays it into a
conversation. The audit log shows who did it. Banner and audit pages are axe-clean at 390, 768
and 1366 px (screenshots in test-artifacts/screenshots/)."""

import pytest
from playwright.sync_api import expect

from agent_desktop.models import Contact
from messenger.models import WebhookDelivery
from tests.browser.conftest import log_in
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 768, 1366)


def check_at_every_width(page, name, assert_accessible, screenshot):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"{name} at {width} px")
        overflow = page.evaluate(
            "(() => { const main = document.querySelector('main');"
            " return main.scrollWidth - main.clientWidth; })()"
        )
        assert overflow <= 0, f"{name} is {overflow} px too wide at {width} px"
        screenshot(page, f"40_switches_{name}_{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def reload_until(page, text):
    """Reload the (not live) page until the worker's outcome shows on it."""

    def shows():
        page.reload()
        return text in page.content()

    wait_until(shows, timeout=30, interval=0.5, message=f"“{text}” on {page.url}")


def test_a_deactivated_campaign_keeps_messages_out_of_the_desktop_until_replayed(
    chromium, live_server, demo, assert_accessible, screenshot
):
    admin = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    agent = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        admin_page, agent_page = admin.new_page(), agent.new_page()
        admin_page.set_default_timeout(15_000)
        agent_page.set_default_timeout(15_000)

        log_in(admin_page, "demo-admin", demo["demo-admin"])
        admin_page.get_by_role("link", name="Demo campaign").click()
        admin_page.get_by_role("button", name="Deactivate").click()
        banner = admin_page.get_by_test_id("inactive-banner")
        expect(banner).to_contain_text("“Demo campaign” is inactive.")
        expect(admin_page.get_by_role("button", name="Add Facebook Page")).to_have_count(0)
        expect(admin_page.get_by_test_id("no-new-entry-points")).to_be_visible()
        check_at_every_width(admin_page, "1_campaign_banner", assert_accessible, screenshot)

        admin_page.get_by_role("link", name="Acme Support page").click()
        admin_page.wait_for_load_state("networkidle")  # the health card
        expect(admin_page.get_by_test_id("inactive-banner")).to_be_visible()
        check_at_every_width(admin_page, "2_entry_point_banner", assert_accessible, screenshot)
        entry_point_url = admin_page.url

        # The customer writes while the campaign is inactive.
        admin_page.get_by_role("link", name="Try it").click()
        admin_page.get_by_label("First name").fill("Maria")
        admin_page.get_by_label("Last name").fill("Schmidt")
        admin_page.get_by_role("button", name="Start chatting").click()
        admin_page.get_by_label("Message as Maria Schmidt").fill("Hello, anyone there?")
        admin_page.get_by_role("button", name="Send", exact=True).click()
        expect(admin_page.get_by_test_id("sim-sent")).to_have_count(1)

        admin_page.goto(entry_point_url + "deliveries/")
        reload_until(admin_page, "campaign inactive")
        row = admin_page.get_by_test_id("delivery-log").locator("tbody tr").first
        expect(row).to_contain_text("Ignored")
        expect(row).to_contain_text("campaign inactive")
        expect(admin_page.get_by_test_id("ignored-while-inactive")).to_contain_text(
            "Activate the campaign to replay it"
        )
        check_at_every_width(admin_page, "3_delivery_log_ignored", assert_accessible, screenshot)
        assert not Contact.objects.filter(first_name="Maria").exists()

        log_in(agent_page, "demo-agent", demo["demo-agent"])
        expect(agent_page.get_by_role("heading", name="Agent desktop")).to_be_visible()
        expect(agent_page.get_by_test_id("contact-row").filter(has_text="Maria")).to_have_count(0)

        # Active again: the kept delivery is replayed into a conversation.
        admin_page.get_by_test_id("inactive-banner").get_by_role(
            "button", name="Activate campaign"
        ).click()
        expect(admin_page.get_by_test_id("inactive-banner")).to_have_count(0)
        admin_page.goto(entry_point_url + "deliveries/")
        admin_page.get_by_role("button", name="Replay it").click()
        expect(admin_page.get_by_test_id("flash-messages")).to_contain_text(
            "1 delivery queued to be processed again"
        )
        expect(agent_page.get_by_test_id("contact-row").filter(has_text="Maria")).to_be_visible()
        assert WebhookDelivery.objects.filter(status="processed").exists()

        admin_page.get_by_role("link", name="Audit log").click()
        log = admin_page.get_by_test_id("audit-log")
        expect(log).to_contain_text("Campaign deactivated")
        expect(log).to_contain_text("Campaign activated")
        expect(log).to_contain_text("Deliveries replayed")
        check_at_every_width(admin_page, "4_audit_log", assert_accessible, screenshot)
        admin_page.get_by_label("Action").select_option("campaign_deactivated")
        admin_page.get_by_role("button", name="Filter").click()
        expect(log.locator("tbody tr")).to_have_count(1)
        expect(log).to_contain_text("demo-admin")
        check_at_every_width(admin_page, "5_audit_log_filtered", assert_accessible, screenshot)
    finally:
        admin.close()
        agent.close()


def test_an_admin_moves_a_page_connected_elsewhere_after_reading_what_it_does(
    page, admin_user, connected_page, other_campaign, assert_accessible, screenshot
):
    from messenger import setup as page_setup
    from tests.conftest import PAGE

    second = page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Brand page")
    log_in(page, admin_user.username)
    page.goto(second.get_absolute_url())
    page.get_by_label("Facebook App ID").fill(PAGE["app_id"])
    page.get_by_label("App Secret").fill(PAGE["app_secret"])
    page.get_by_label("Page Access Token").fill(PAGE["access_token"])
    page.get_by_role("button", name="Save and check").click()
    move = page.get_by_test_id("move-page")
    expect(page.get_by_role("alert").first).to_contain_text(
        "already connected to campaign “Spring sale”, entry point “Acme page”"
    )
    expect(move).to_contain_text("archives “Acme page” of campaign “Spring sale”")
    check_at_every_width(page, "6_page_connected_elsewhere", assert_accessible, screenshot)

    move.get_by_role("button", name="Move the page here").click()
    expect(page.get_by_test_id("flash-messages")).to_contain_text("Connected to the Facebook Page")
    connected_page.entry_point.refresh_from_db()
    assert connected_page.entry_point.is_archived
