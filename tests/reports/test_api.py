"""GET /api/reports/summary/ and /api/reports/agents/: the contract's shapes, who sees what,
and bad parameters answered 400 with a clear `detail`."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.roles import SUPERVISOR_GROUP
from reports.models import ConversationCycle


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def supervisor(campaign):
    user = User.objects.create_user("sue", first_name="Sue")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    return user


@pytest.fixture
def cycles(campaign, other_campaign, entry_point, other_entry_point, agent, new_contact):
    """One answered, closed conversation in each campaign, an hour ago."""
    now = timezone.now()
    made = []
    for n, point in enumerate([entry_point, other_entry_point]):
        contact = new_contact(f"65000000000003{n:02d}", entry_point_=point)
        made.append(
            ConversationCycle.objects.create(
                contact=contact,
                campaign=point.campaign,
                entry_point=point,
                channel="messenger",
                opened_at=now - timedelta(hours=1),
                first_response_at=now - timedelta(minutes=58),
                first_responder=agent,
                first_response_seconds=120 * (n + 1),
                closed_at=now - timedelta(minutes=30),
                assignee=agent,
                resolution_seconds=1800,
            )
        )
    return made


SUMMARY_KEYS = {
    "conversations_opened",
    "conversations_closed",
    "messages_in",
    "messages_out",
    "first_response_seconds",
    "resolution_seconds",
    "first_response_within_target",
    "csat",
}


def test_an_admin_gets_the_contract_shapes_over_every_campaign(admin_user, cycles, agent):
    summary = api_for(admin_user).get("/api/reports/summary/").json()
    assert set(summary) >= SUMMARY_KEYS
    assert summary["conversations_opened"] == summary["conversations_closed"] == 2
    assert summary["first_response_seconds"] == {"median": 180, "p90": 228}
    assert summary["resolution_seconds"] == {"median": 1800, "p90": 1800}
    assert summary["first_response_within_target"] == 1.0
    assert summary["csat"] == {"responses": 0, "average": None}
    agents = api_for(admin_user).get("/api/reports/agents/").json()
    assert agents == [
        {
            "user": agent.pk,
            "name": "Alex",
            "conversations": 2,
            "replies": 0,
            "first_response_seconds_median": 180,
            "csat_average": None,
        }
    ]


def test_a_supervisor_sees_their_campaign_only(supervisor, cycles, other_campaign):
    api = api_for(supervisor)
    summary = api.get("/api/reports/summary/").json()
    assert summary["conversations_opened"] == 1
    assert summary["first_response_seconds"]["median"] == 120  # not the other campaign's 240
    refused = api.get(f"/api/reports/summary/?campaign={other_campaign.pk}")
    assert refused.status_code == 400
    assert "campaign" in refused.json()["detail"]


@pytest.mark.parametrize("path", ["/api/reports/summary/", "/api/reports/agents/"])
def test_agents_are_refused_and_strangers_must_log_in(agent, path):
    assert api_for(agent).get(path).status_code == 403
    assert APIClient().get(path).status_code == 401


@pytest.mark.parametrize(
    "query, says",
    [
        ("since=2026-11-10&until=2026-11-01", "since must be before until"),
        ("tz=Mars/Olympus", "not a time zone"),
        ("since=2024-01-01&until=2026-01-01", "longer than a year"),
        ("since=yesterday-ish", "not a date"),
        ("campaign=abc", "campaign: give the campaign's id"),
        ("agent=999999", "no agent 999999"),
        ("period=forever", "period: one of"),
    ],
)
def test_bad_parameters_answer_400_saying_what_is_wrong(admin_user, query, says):
    response = api_for(admin_user).get(f"/api/reports/summary/?{query}")
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_filters_narrow_the_figures(admin_user, cycles, entry_point, agent, other_campaign_agent):
    api = api_for(admin_user)
    by_entry_point = api.get(f"/api/reports/summary/?entry_point={entry_point.pk}").json()
    assert by_entry_point["conversations_opened"] == 1
    by_other_agent = api.get(f"/api/reports/summary/?agent={other_campaign_agent.pk}").json()
    assert by_other_agent["conversations_opened"] == 0
    assert api.get("/api/reports/summary/?channel=webchat").json()["conversations_opened"] == 0
    assert api.get("/api/reports/summary/?label=vip").json()["conversations_opened"] == 0
    yesterday = api.get("/api/reports/summary/?period=yesterday").json()
    assert yesterday["conversations_opened"] == 0
