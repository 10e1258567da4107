"""Reports' fixtures: a settable clock for the desktop's services, and a customer who writes."""

from datetime import UTC, datetime
from itertools import count

import pytest
from django.utils import timezone

from agent_desktop.models import Activity, Contact
from agent_desktop.services import IncomingMessage, record_inbound
from campaigns import services as builder

_mids = count(1)


class Clock:
    """What `timezone.now()` answers while a test runs (the services and Activity.at read it)."""

    def __init__(self):
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def set(self, moment):
        self.now = moment
        return moment


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    # A field's callable default is looked up once and kept: point it at the clock too.
    monkeypatch.setattr(Activity._meta.get_field("at"), "_get_default", clock)
    return clock


def customer_writes(contact, at, text="hello"):
    """The customer's message as a channel stores it (the real channel-neutral service)."""
    return record_inbound(
        contact=contact,
        incoming=IncomingMessage(sent_at=at, text=text, mid=f"m_report_{next(_mids)}"),
    )


@pytest.fixture
def new_contact(entry_point):
    def make(psid, *, entry_point_=None):
        return Contact.objects.create(
            channel="messenger", entry_point=entry_point_ or entry_point, external_id=psid
        )

    return make


@pytest.fixture
def other_entry_point(other_campaign):
    return builder.facebook_page_entry_point_create(campaign=other_campaign, name="Other page")
