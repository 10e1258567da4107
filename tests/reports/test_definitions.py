"""The definitions, on a fixture with hand-computed answers, driven through the desktop's real
services on a settable clock: opened, away reply, note, first human reply, snooze of 30
minutes, close, reopen, second reply, close; with and without business hours; in two time
zones (the heat map's buckets move, the figures do not)."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group

from agent_desktop import workflow
from agent_desktop.notes import note_create
from agent_desktop.services import reply_send
from campaigns import services as builder
from campaigns.models import Campaign
from campaigns.roles import ADMIN_GROUP
from reports import figures
from reports.models import ConversationCycle
from reports.period import scope_from
from tests.reports.conftest import customer_writes


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
    desk = builder.facebook_page_entry_point_create(campaign=berlin, name="Berlin page")
    finn = new_contact("6500000000000103", entry_point_=desk)
    clock.set(at(2, 7, 30))  # 08:30 in Berlin: closed, the away reply goes out
    customer_writes(finn, at(2, 7, 30))
    clock.set(at(2, 8, 10))  # 09:10 in Berlin: 10 business minutes (40 on the wall)
    reply_send(contact=fresh(finn), agent=agent, text="Good morning Finn")
    clock.set(at(2, 16, 30))  # 17:30 in Berlin: open 09:00-17:00 in between = 8 h
    workflow.contact_close(contact=fresh(finn), agent=agent)
    clock.set(at(10, 12))  # a week later, when the lead reads the report
    return {"campaign": campaign, "berlin": berlin}


def report(user, **params):
    scope = scope_from({"since": "2026-11-01", "until": "2026-11-08", **params}, user)
    return figures.summary(scope), scope


def test_cycles_hold_the_hand_computed_durations(history, agent):
    rows = list(
        ConversationCycle.objects.order_by("opened_at").values_list(
            "opened_at", "first_response_seconds", "snoozed_seconds", "resolution_seconds",
            "reopened", "business_hours", "first_responder", "closed_by", "assignee",
        )
    )  # fmt: skip
    assert rows == [
        (at(2, 7, 30), 600, 0, 28800, False, True, agent.pk, agent.pk, agent.pk),
        (at(2, 10), 240, 1800, 1200, False, False, agent.pk, agent.pk, agent.pk),
        (at(2, 12), 600, 0, 1800, True, False, agent.pk, agent.pk, agent.pk),
        (at(3, 23, 30), 120, 0, 1200, False, False, agent.pk, agent.pk, agent.pk),
    ]


def test_always_open_campaign_figures(history, lead):
    summary, _ = report(lead, campaign=str(history["campaign"].pk), tz="UTC")
    assert summary["conversations_opened"] == 3
    assert summary["conversations_reopened"] == 1
    assert summary["conversations_closed"] == 3
    assert (summary["messages_in"], summary["messages_out"]) == (4, 4)  # notes are not messages
    # [120, 240, 600]: median 240; p90 at rank 1.8 = 240 + 0.8 x 360
    assert summary["first_response_seconds"] == {"median": 240, "p90": 528}
    # [1200, 1200, 1800]: p90 at rank 1.8 = 1200 + 0.8 x 600
    assert summary["resolution_seconds"] == {"median": 1200, "p90": 1680}
    assert summary["first_response_within_target"] == round(2 / 3, 4)
    assert summary["csat"] == {"responses": 0, "average": None}


def test_business_hours_campaign_counts_only_open_time_and_ignores_the_away_reply(history, lead):
    summary, _ = report(lead, campaign=str(history["berlin"].pk))
    assert summary["tz"] == "Europe/Berlin"  # the campaign's clock by default
    assert summary["conversations_opened"] == summary["conversations_closed"] == 1
    assert summary["messages_out"] == 2  # the away reply is a message out, not a response
    assert summary["first_response_seconds"] == {"median": 600, "p90": 600}
    assert summary["resolution_seconds"] == {"median": 28800, "p90": 28800}
    assert summary["first_response_within_target"] == 1.0


def test_all_campaigns_together(history, lead):
    summary, _ = report(lead, tz="UTC")
    assert summary["conversations_opened"] == 4
    # [120, 240, 600, 600]: median 420; p90 at rank 2.7 = 600
    assert summary["first_response_seconds"] == {"median": 420, "p90": 600}
    assert summary["first_responses"] == 4 and summary["first_responses_within_target"] == 3


@pytest.mark.parametrize(
    "tz, buckets",
    [
        ("UTC", {(0, 7): 1, (0, 10): 1, (0, 12): 1, (1, 23): 1}),
        ("Asia/Tokyo", {(0, 16): 1, (0, 19): 1, (0, 21): 1, (2, 8): 1}),  # UTC+9
    ],
)
def test_heat_map_buckets_follow_the_time_zone(history, lead, tz, buckets):
    _, scope = report(lead, tz=tz)
    grid = figures.heat_map(scope)
    found = {(day, hour): n for day, row in enumerate(grid) for hour, n in enumerate(row) if n}
    assert found == buckets


def test_the_agents_table(history, lead, agent):
    _, scope = report(lead, tz="UTC")
    assert figures.agents(scope) == [
        {
            "user": agent.pk,
            "name": "Alex",
            "conversations": 4,
            "replies": 5,  # Dana 3, Eli 1, Finn 1
            "first_response_seconds_median": 420,
            "csat_average": None,
        }
    ]


def test_a_period_in_another_zone_moves_its_edges(history, lead):
    """Eli wrote on Tuesday 23:30 UTC: Wednesday in Tokyo, so not in Tokyo's Tuesday."""
    tuesday_utc, _ = report(lead, since="2026-11-03", until="2026-11-03", tz="UTC")
    tuesday_tokyo, _ = report(lead, since="2026-11-03", until="2026-11-03", tz="Asia/Tokyo")
    assert tuesday_utc["conversations_opened"] == 1
    assert tuesday_tokyo["conversations_opened"] == 0
