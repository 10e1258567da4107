"""Reports' fixtures: a settable clock for the desktop's services, a customer who writes, and
the definitions' history (conversations with hand-computed answers)."""

from datetime import UTC, datetime
from itertools import count

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from agent_desktop import workflow
from agent_desktop.models import Activity, Contact
from agent_desktop.notes import note_create
from agent_desktop.services import IncomingMessage, record_inbound, reply_send
from campaigns.models import Campaign
from campaigns.roles import ADMIN_GROUP
from messenger import setup as page_setup

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
    return page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Other page")


# --- The definitions' history (tests/reports/test_definitions.py) -----------------------------
def fresh(contact):
    """The contact as the next request reads it."""
    contact.refresh_from_db()
    return contact


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # 2 November 2026 is a Monday


BERLIN_9_TO_5 = {
    "timezone": "Europe/Berlin",  # UTC+1 in November
    "days": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [], "sun": []},
    "holidays": [],
}


@pytest.fixture
def lead(admin_user):
    admin_user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    return admin_user


@pytest.fixture
def history(clock, campaign, entry_point, agent, new_contact):
    """Campaign "Spring sale" (always open, target 5 min): Dana's conversation, closed and
    reopened, and Eli's. Campaign "Berlin desk" (9 to 5, target 15 min): Finn's."""
    dana, eli = new_contact("6500000000000101"), new_contact("6500000000000102")

    clock.set(at(2, 10))
    customer_writes(dana, at(2, 10))  # opens cycle 1 at 10:00
    clock.set(at(2, 10, 1))
    note_create(contact=dana, author=agent, text="checking the order")  # a note: no response
    clock.set(at(2, 10, 4))
    reply_send(contact=fresh(dana), agent=agent, text="Hi Dana")  # first response: 240 s
    clock.set(at(2, 10, 5))
    reply_send(contact=fresh(dana), agent=agent, text="Looking")  # not the first: changes nothing
    clock.set(at(2, 10, 10))
    workflow.contact_snooze(contact=fresh(dana), agent=agent, until=at(2, 11))
    clock.set(at(2, 10, 40))
    customer_writes(dana, at(2, 10, 40))  # wakes it: 30 min snoozed
    clock.set(at(2, 10, 50))
    workflow.contact_close(contact=fresh(dana), agent=agent)  # 50 min - 30 min = 1200 s
    clock.set(at(2, 12))
    customer_writes(dana, at(2, 12))  # reopens: cycle 2 at 12:00
    clock.set(at(2, 12, 10))
    reply_send(contact=fresh(dana), agent=agent, text="Back again?")  # 600 s: over the target
    clock.set(at(2, 12, 30))
    workflow.contact_close(contact=fresh(dana), agent=agent)  # 1800 s

    clock.set(at(3, 23, 30))
    customer_writes(eli, at(3, 23, 30))
    clock.set(at(3, 23, 32))
    reply_send(contact=fresh(eli), agent=agent, text="Hi Eli")  # 120 s
    clock.set(at(3, 23, 50))
    workflow.contact_close(contact=fresh(eli), agent=agent)  # 1200 s

    berlin = Campaign.objects.create(
        name="Berlin desk",
        business_hours=BERLIN_9_TO_5,
        away_message="We answer from 9:00.",
        first_response_target_seconds=900,
    )
    berlin.agents.add(agent)
    desk = page_setup.facebook_page_entry_point_create(campaign=berlin, name="Berlin page")
    finn = new_contact("6500000000000103", entry_point_=desk)
    clock.set(at(2, 7, 30))  # 08:30 in Berlin: closed, the away reply goes out
    customer_writes(finn, at(2, 7, 30))
    clock.set(at(2, 8, 10))  # 09:10 in Berlin: 10 business minutes (40 on the wall)
    reply_send(contact=fresh(finn), agent=agent, text="Good morning Finn")
    clock.set(at(2, 16, 30))  # 17:30 in Berlin: open 09:00-17:00 in between = 8 h
    workflow.contact_close(contact=fresh(finn), agent=agent)
    clock.set(at(10, 12))  # a week later, when the lead reads the report
    return {"campaign": campaign, "berlin": berlin}
