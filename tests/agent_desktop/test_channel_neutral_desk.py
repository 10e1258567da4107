"""The desktop draws a contact's channel from the kinds registry (campaigns.kinds): a second
kind's contact shows its own badge, Customer Info lines and notice, and nothing of Messenger's."""

from dataclasses import dataclass

import pytest
from django.urls import reverse

from agent_desktop import channels
from agent_desktop.channels import ContactNotice
from campaigns import kinds

DESKTOP = reverse("agent_desktop:home")
TEST_KIND = kinds.EntryPointKind(
    name="test_chat",
    label="Test chat",
    channel="testchat",
    channel_label="Test chat",
    badge_label="Test",
    badge_icon="includes/messenger_icon.html",  # any icon template: the test reads the labels
    badge_title="Test chat widget",
    hooks={
        "customer_info": "tests.agent_desktop.test_channel_neutral_desk.customer_info",
        "contact_notice": "tests.agent_desktop.test_channel_neutral_desk.contact_notice",
        "reply_window": "tests.agent_desktop.test_channel_neutral_desk.reply_window",
        "sender_action": "tests.agent_desktop.test_channel_neutral_desk.sender_action",
    },
)
NOTICE = ContactNotice(badge="Muted", title="The visitor left", text="The visitor left the page.")


@dataclass(frozen=True)
class AlwaysOpen:
    can_reply: bool = True
    closes_at: None = None
    tag: None = None
    reason: str = "The visitor is on the page."


def reply_window(contact):
    return AlwaysOpen()


SENDER_ACTIONS = []


def sender_action(contact_id, action):
    SENDER_ACTIONS.append((contact_id, action))


def customer_info(contact):
    return [("Page URL", contact.channel_details.get("page_url", ""))]


def contact_notice(contact):
    return NOTICE if contact.channel_details.get("left") else None


@pytest.fixture
def test_kind(monkeypatch):
    monkeypatch.setitem(kinds._KINDS, TEST_KIND.name, TEST_KIND)
    return TEST_KIND


def test_each_contact_shows_its_own_channels_badge(agent_client, make_contact, test_kind):
    make_contact("6500000000000001", first_name="Maria")
    make_contact("v-42", first_name="Visitor", channel="testchat")
    html = agent_client.get(DESKTOP).content.decode()
    assert html.count('title="Facebook Messenger"') == 1
    assert html.count('title="Test chat widget"') == 1
    assert '<span class="sr-only">Test chat</span>' in html
    assert "When customers write" not in html  # the list is not empty


def test_customer_info_of_another_channel_has_its_lines_and_none_of_messengers(
    agent_client, make_contact, test_kind
):
    visitor = make_contact(
        "v-42",
        first_name="Visitor",
        channel="testchat",
        locale="fr_FR",
        timezone=2,
        channel_details={"page_url": "https://shop.example/cart", "left": True},
    )
    html = agent_client.get(reverse("agent_desktop:contact", args=[visitor.pk])).content.decode()
    for text in [
        "<dt>Page URL</dt><dd>https://shop.example/cart</dd>",
        "fr_FR",
        "UTC+2",  # locale and time zone are every channel's
        'title="The visitor left" data-testid="channel-notice">Muted</span>',
        "The visitor left the page.",
        "Test chat widget</span>",  # Customer Info's labelled badge
    ]:
        assert text in html, text
    for messenger_only in ["PSID", "Facebook Page", "Refresh profile", "Fetching the profile"]:
        assert messenger_only not in html, messenger_only


def test_the_empty_queue_names_every_installed_channel(agent_client, test_kind):
    html = agent_client.get(DESKTOP).content.decode()
    installed = [kind.channel_label for kind in kinds.all_kinds() if kind is not test_kind]
    assert f"When customers write to your campaigns on {', '.join(installed)} or Test chat" in html


def test_a_channel_without_a_profile_fetch_is_not_asked_for_one(
    agent_client, make_contact, test_kind
):
    visitor = make_contact("v-42", channel="testchat")
    assert channels.fetches_profiles(visitor) is False
    url = reverse("agent_desktop:refresh_profile", args=[visitor.pk])
    response = agent_client.post(url, follow=True)
    assert response.status_code == 200
    assert "for the latest profile" not in response.content.decode()


def test_a_messenger_contact_answered_elsewhere_says_so(agent_client, make_contact):
    contact = make_contact(channel_details={"answered_elsewhere": True})
    html = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert 'title="Another app owns this conversation" data-testid="channel-notice">Other app' in (
        html
    )
    assert "Another app (for example the Page inbox) owns this conversation now" in html
