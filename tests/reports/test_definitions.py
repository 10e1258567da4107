"""The definitions, on a fixture with hand-computed answers, driven through the desktop's real
services on a settable clock: opened, away reply, note, first human reply, snooze of 30
minutes, close, reopen, second reply, close; with and without business hours; in two time
zones (the heat map's buckets move, the figures do not)."""

import pytest

from reports import figures
from reports.models import ConversationCycle
from reports.period import scope_from
from tests.reports.conftest import at


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
