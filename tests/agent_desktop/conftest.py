from datetime import timedelta

import pytest
from django.utils import timezone

from agent_desktop.models import Contact, Message
from messenger import setup as page_setup


@pytest.fixture
def make_contact(entry_point):
    """A contact who wrote `minutes_ago`, with one incoming message."""

    def make(psid="6500000000000001", *, first_name="", entry_point_=None, minutes_ago=5, **fields):
        when = timezone.now() - timedelta(minutes=minutes_ago)
        fields.setdefault("channel", "messenger")
        contact = Contact.objects.create(
            entry_point=entry_point_ or entry_point,
            external_id=psid,
            first_name=first_name,
            last_message_at=when,
            last_inbound_at=when,
            last_message_preview=f"hello from {first_name or psid}",
            unread_count=1,
            **fields,
        )
        Message.objects.create(
            contact=contact,
            direction="in",
            text=f"hello from {first_name or psid}",
            mid=f"m_{psid}_1",
            sent_at=when,
        )
        return contact

    return make


@pytest.fixture
def other_entry_point(other_campaign):
    return page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Other page")
