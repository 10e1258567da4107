"""Two channels side by side in the desk, in a real browser: each contact wears its own kind's
badge (campaigns.kinds), and Customer Info shows the channel's own lines and notice."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import Contact, Message
from campaigns import kinds
from tests.agent_desktop.test_channel_neutral_desk import TEST_KIND
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1366, 768, 390)


def _contact(entry_point, external_id, first_name, channel, minutes_ago, **fields):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    contact = Contact.objects.create(
        entry_point=entry_point,
        channel=channel,
        external_id=external_id,
        first_name=first_name,
        last_message_at=when,
        last_inbound_at=when,
        last_message_preview=f"hello from {first_name}",
        unread_count=1,
        **fields,
    )
    Message.objects.create(
        contact=contact, direction="in", text=f"hello from {first_name}", sent_at=when
    )
    return contact


def test_a_messenger_contact_and_another_channels_contact_each_show_their_own(
    page, entry_point, agent, monkeypatch, screenshot, assert_accessible
):
    monkeypatch.setitem(kinds._KINDS, TEST_KIND.name, TEST_KIND)  # the live server's registry
    _contact(
        entry_point,
        "6500000000000001",
        "Maria",
        "messenger",
        5,
        channel_details={"gender": "female", "answered_elsewhere": True},
    )
    _contact(
        entry_point,
        "v-42",
        "Visitor",
        "testchat",
        1,
        locale="fr_FR",
        timezone=2,
        channel_details={"page_url": "https://shop.example/cart", "left": True},
    )
    log_in(page, agent.username)
    rows = page.get_by_test_id("contact-row")
    maria, visitor = rows.filter(has_text="Maria"), rows.filter(has_text="Visitor")
    expect(maria.get_by_title("Facebook Messenger")).to_be_visible()
    expect(maria.get_by_title("Another app owns this conversation")).to_have_text("Other app")
    expect(visitor.get_by_title("Test chat widget")).to_be_visible()
    expect(visitor.get_by_title("Facebook Messenger")).to_have_count(0)

    # Keyboard: the visitor's row opens with Enter.
    visitor.focus()
    page.keyboard.press("Enter")
    info = page.locator("#customer-info")
    expect(info).to_contain_text("https://shop.example/cart")
    expect(info).to_contain_text("UTC+2")
    expect(info).not_to_contain_text("PSID")
    expect(info.get_by_role("button", name="Refresh profile")).to_have_count(0)
    expect(page.get_by_test_id("channel-notice").last).to_contain_text("The visitor left")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"a second channel's conversation at {width} px")
        screenshot(page, f"desk_channels_visitor_{width}")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(maria.get_attribute("href"))
    info = page.locator("#customer-info")
    expect(info).to_contain_text("Female")
    expect(info).to_contain_text("6500000000000001")
    expect(info).to_contain_text("Acme page")
    expect(page.get_by_text("Another app (for example the Page inbox) owns")).to_be_visible()
    assert_accessible(page, "a Messenger conversation answered elsewhere")
    screenshot(page, "desk_channels_messenger_1366")
