"""Reports across channels: a website chat visitor's conversation is a cycle like a Messenger
customer's (the channel-neutral services open it), and the channel filter tells them apart."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from agent_desktop.models import Contact
from agent_desktop.services import reply_send
from reports.models import ConversationCycle
from tests.reports.conftest import customer_writes
from tests.webchat.conftest import SHOP, Widget
from webchat import services as webchat_setup


@pytest.fixture
def widget(campaign):
    cache.clear()  # the visitor API's rate limits start fresh
    entry_point = webchat_setup.web_chat_entry_point_create(campaign=campaign, name="Shop chat")
    chat = entry_point.web_chat
    chat.allowed_origins = [SHOP]
    chat.save()
    return Widget(chat.widget_key)


def test_a_website_chat_and_a_messenger_conversation_each_count_under_their_channel(
    widget, new_contact, agent, admin_user, clock
):
    customer_writes(new_contact("6500000000000801"), clock.now)
    widget.start(name="Vera")
    widget.say("Is this in stock?")
    visitor = Contact.objects.get(channel="webchat")
    reply_send(contact=visitor, agent=agent, text="Yes!")

    assert sorted(ConversationCycle.objects.values_list("channel", flat=True)) == [
        "messenger",
        "webchat",
    ]
    api = APIClient()
    api.force_authenticate(admin_user)
    by_channel = {
        channel: api.get(
            f"/api/reports/summary/?since=2026-11-02&until=2026-11-02&channel={channel}"
        ).json()
        for channel in ("messenger", "webchat")
    }
    assert by_channel["messenger"]["conversations_opened"] == 1
    assert by_channel["messenger"]["first_response_seconds"]["median"] is None
    assert by_channel["webchat"]["conversations_opened"] == 1
    assert by_channel["webchat"]["messages_in"] == by_channel["webchat"]["messages_out"] == 1
    assert by_channel["webchat"]["first_response_seconds"]["median"] == 0  # the clock stood still
