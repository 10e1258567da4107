"""The caller's presence and capacity: GET/PATCH /api/me/, the desktop's heartbeat, the away
toggle of the desktop page, and presence in the transfer list."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop import presence, workflow
from campaigns.models import Person
from campaigns.people import OFFLINE_AFTER
from campaigns.roles import SUPERVISOR_GROUP


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_login(agent)
    return client


def test_me_answers_who_the_caller_is_with_presence_capacity_and_open_conversations(
    api, agent, campaign, make_contact
):
    workflow.contact_claim(contact=make_contact(), agent=agent)
    response = api.get("/api/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": agent.pk,
        "username": "alex",
        "first_name": "Alex",
        "last_name": "",
        "email": "",
        "role": "agent",
        "campaigns": [campaign.pk],
        "presence": "offline",
        "capacity": 10,
        "open_conversations": 1,
    }


def test_me_names_a_supervisors_role(api, agent):
    agent.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    assert api.get("/api/me/").json()["role"] == "supervisor"


def test_me_needs_a_login():
    assert APIClient().get("/api/me/").status_code in (401, 403)
    assert APIClient().post("/api/me/heartbeat/", {"active": True}).status_code in (401, 403)


def test_patch_me_sets_away_and_online_and_capacity(api, agent):
    api.post("/api/me/heartbeat/", {"active": True}, format="json")

    away = api.patch("/api/me/", {"presence": "away", "capacity": 3}, format="json")
    assert away.status_code == 200
    assert (away.json()["presence"], away.json()["capacity"]) == ("away", 3)
    person = Person.objects.get(user=agent)
    assert (person.away, person.capacity) == (True, 3)

    online = api.patch("/api/me/", {"presence": "online"}, format="json")
    assert (online.json()["presence"], online.json()["capacity"]) == ("online", 3)
    assert Person.objects.get(user=agent).away is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"presence": "offline"}, "presence"),
        ({"presence": "busy"}, "presence"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": 201}, "capacity"),
        ({"capacity": "lots"}, "capacity"),
    ],
)
def test_patch_me_refuses_bad_values_with_400_naming_the_field(api, agent, body, field):
    response = api.patch("/api/me/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    person = Person.objects.filter(user=agent).first()
    assert person is None or (person.capacity, person.away) == (10, False)


def test_patch_me_says_why_offline_cant_be_set(api):
    response = api.patch("/api/me/", {"presence": "offline"}, format="json")
    assert "Say away instead" in response.json()["presence"][0]


def test_capacity_zero_and_two_hundred_are_accepted(api):
    assert api.patch("/api/me/", {"capacity": 0}, format="json").json()["capacity"] == 0
    assert api.patch("/api/me/", {"capacity": 200}, format="json").json()["capacity"] == 200


def test_a_heartbeat_makes_the_caller_online_and_without_use_they_go_idle_away(api, agent):
    assert api.post("/api/me/heartbeat/", {"active": True}, format="json").json() == {
        "presence": "online"
    }
    person = Person.objects.get(user=agent)
    assert person.last_seen_at is not None and person.last_active_at == person.last_seen_at

    eleven_minutes_ago = timezone.now() - timedelta(minutes=11)
    Person.objects.filter(user=agent).update(last_active_at=eleven_minutes_ago)
    idle = api.post("/api/me/heartbeat/", {"active": False}, format="json")
    assert idle.json() == {"presence": "away"}
    person.refresh_from_db()
    assert person.last_active_at == eleven_minutes_ago  # a beat without use is no activity
    assert api.get("/api/me/").json()["presence"] == "away"

    back = api.post("/api/me/heartbeat/", {"active": True}, format="json")
    assert back.json() == {"presence": "online"}


def test_without_beats_for_a_minute_the_caller_is_offline(api, agent):
    api.post("/api/me/heartbeat/", {"active": True}, format="json")
    Person.objects.filter(user=agent).update(
        last_seen_at=timezone.now() - (OFFLINE_AFTER + timedelta(seconds=1))
    )
    assert api.get("/api/me/").json()["presence"] == "offline"


def test_a_heartbeat_refuses_a_non_boolean_active(api):
    response = api.post("/api/me/heartbeat/", {"active": "sometimes"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["active"]


def test_the_schema_lists_me_and_the_heartbeat(api):
    schema = api.get("/api/schema/?format=json").json()
    assert "patch" in schema["paths"]["/api/me/"]
    assert "post" in schema["paths"]["/api/me/heartbeat/"]


# --- The desktop page ----------------------------------------------------------------------
def test_the_desktop_shows_the_away_toggle_and_loads_the_heartbeat_script(agent_client):
    page = agent_client.get("/desktop/").content.decode()
    assert 'data-testid="away-toggle"' in page and 'aria-pressed="false"' in page
    assert 'data-beat="/desktop/presence/beat/"' in page
    assert "js/presence" in page


def test_the_desktop_tab_beats_through_its_own_url(agent_client, agent):
    assert agent_client.post("/desktop/presence/beat/", {"active": "1"}).json() == {
        "presence": "online"
    }
    eleven_minutes_ago = timezone.now() - timedelta(minutes=11)
    Person.objects.filter(user=agent).update(last_active_at=eleven_minutes_ago)
    assert agent_client.post("/desktop/presence/beat/", {"active": "0"}).json() == {
        "presence": "away"
    }
    assert agent_client.get("/desktop/presence/beat/").status_code == 405


def test_the_away_toggle_sets_away_and_back_and_returns_to_the_page(agent_client, agent):
    response = agent_client.post(
        "/desktop/presence/", {"presence": "away", "next": "/desktop/?filter=mine"}
    )
    assert (response.status_code, response["Location"]) == (302, "/desktop/?filter=mine")
    assert Person.objects.get(user=agent).away is True
    page = agent_client.get("/desktop/").content.decode()
    assert 'aria-pressed="true"' in page and 'name="presence" value="online"' in page

    agent_client.post("/desktop/presence/", {"presence": "online"})
    assert Person.objects.get(user=agent).away is False


def test_the_away_toggle_never_sends_elsewhere_and_says_what_was_wrong(agent_client, agent):
    response = agent_client.post(
        "/desktop/presence/", {"presence": "offline", "next": "https://evil.example/"}, follow=True
    )
    assert response.redirect_chain == [("/desktop/", 302)]
    assert "Choose online or away." in response.content.decode()
    assert Person.objects.filter(user=agent, away=True).count() == 0


def test_the_transfer_list_shows_each_members_presence_and_load(
    agent_client, agent, campaign, django_user_model, make_contact
):
    online = django_user_model.objects.create_user("kim", first_name="Kim")
    away = django_user_model.objects.create_user("lee", first_name="Lee")
    offline = django_user_model.objects.create_user("max", first_name="Max")
    campaign.agents.add(online, away, offline)
    presence.heartbeat(user=online, active=True)
    presence.capacity_set(user=online, capacity=4)
    workflow.contact_claim(contact=make_contact("6500000000000002"), agent=online)
    presence.heartbeat(user=away, active=True)
    presence.presence_set(user=away, presence="away")
    contact = make_contact()
    workflow.contact_claim(contact=contact, agent=agent)

    page = agent_client.get(f"/desktop/contacts/{contact.pk}/").content.decode()
    options = page.split('data-testid="transfer-to">')[1].split("</select>")[0]
    assert [line.split(">", 1)[1] for line in options.split("</option>")[:-1]] == [
        "Kim · ● online · 1/4 open",
        "Lee · ◐ away · 0/10 open",
        "Max · ○ offline · 0/10 open",
    ]
