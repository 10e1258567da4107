"""Team workflow through the API: who may claim, release, transfer, close, reopen, snooze and
reply; 403 on a colleague's contact, 409 when the contact moved on; every change an activity."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop import workflow
from agent_desktop.models import Activity, Contact, Message
from agent_desktop.services import IncomingMessage, record_inbound
from campaigns.roles import SUPERVISOR_GROUP, user_role


@pytest.fixture
def colleague(django_user_model, campaign):
    user = django_user_model.objects.create_user("sam", first_name="Sam")
    campaign.agents.add(user)
    return user


@pytest.fixture
def supervisor(django_user_model, campaign):
    user = django_user_model.objects.create_user("dana", first_name="Dana")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    return user


@pytest.fixture
def as_user():
    def client_for(user):
        client = APIClient()
        client.force_login(user)
        return client

    return client_for


def post(client, contact, action, data=None):
    return client.post(f"/api/contacts/{contact.pk}/{action}/", data or {}, format="json")


def kinds(contact):
    return list(Activity.objects.filter(contact=contact).values_list("kind", flat=True))


def state(contact):
    contact.refresh_from_db()
    return contact.status, contact.assigned_to_id


def test_claim_is_200_for_unassigned_or_mine_and_409_naming_the_holder(
    as_user, make_contact, agent, colleague
):
    contact = make_contact()
    assert post(as_user(agent), contact, "claim").status_code == 200
    again = post(as_user(agent), contact, "claim")
    assert (again.status_code, again.json()["assigned_to"]) == (200, agent.pk)
    refused = post(as_user(colleague), contact, "claim")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Alex is already answering this customer.",
        "assigned_to": agent.pk,
    }
    assert state(contact) == ("assigned", agent.pk)
    assert kinds(contact) == ["claimed"]


@pytest.mark.parametrize("action", ["release", "close", "reopen", "pending", "messages"])
def test_an_agent_is_refused_403_on_a_colleagues_contact(
    as_user, make_contact, agent, colleague, action
):
    contact = make_contact(assigned_to=colleague, status="assigned")
    if action == "reopen":
        Contact.objects.filter(pk=contact.pk).update(status="closed")
    before = state(contact)
    response = post(as_user(agent), contact, action, {"text": "I'll take it"})
    assert response.status_code == 403
    assert response.json()["assigned_to"] == colleague.pk
    assert "Sam is answering this customer" in response.json()["detail"]
    assert state(contact) == before
    assert not Message.objects.filter(direction="out").exists()
    assert kinds(contact) == []


def test_transfer_and_snooze_are_refused_403_on_a_colleagues_contact(
    as_user, make_contact, agent, colleague, supervisor
):
    contact = make_contact(assigned_to=colleague, status="assigned")
    assert post(as_user(agent), contact, "transfer", {"to": supervisor.pk}).status_code == 403
    until = (timezone.now() + timedelta(hours=1)).isoformat()
    assert post(as_user(agent), contact, "snooze", {"until": until}).status_code == 403
    assert state(contact) == ("assigned", colleague.pk)


def test_transfer_offers_only_campaign_members_other_than_the_holder(
    as_user, make_contact, agent, colleague, other_campaign_agent
):
    contact = make_contact()
    client = as_user(agent)
    assert post(client, contact, "claim").status_code == 200
    for refused_to in (agent, other_campaign_agent):
        response = post(client, contact, "transfer", {"to": refused_to.pk})
        assert response.status_code == 400, refused_to
        assert "to" in response.json()
    moved = post(client, contact, "transfer", {"to": colleague.pk})
    assert (moved.status_code, moved.json()["assigned_to"]) == (200, colleague.pk)
    activity = as_user(colleague).get(f"/api/contacts/{contact.pk}/activity/").json()
    assert [(a["kind"], a["actor"], a["target"]) for a in activity] == [
        ("claimed", agent.pk, None),
        ("transferred", agent.pk, colleague.pk),
    ]


def test_a_supervisor_takes_over_and_it_is_recorded(
    as_user, make_contact, agent, colleague, supervisor
):
    contact = make_contact(assigned_to=colleague, status="assigned")
    client = as_user(supervisor)
    # A plain claim is 409 for everyone; taking over is asked for.
    assert post(client, contact, "claim").status_code == 409
    taken = post(client, contact, "claim", {"take_over": True})
    assert (taken.status_code, taken.json()["assigned_to"]) == (200, supervisor.pk)
    # An agent can't take over.
    assert post(as_user(agent), contact, "claim", {"take_over": True}).status_code == 409
    # A supervisor may close a colleague's contact: recorded as a takeover, then the close.
    contact.refresh_from_db()
    assert post(as_user(agent), contact, "claim").status_code == 409
    Contact.objects.filter(pk=contact.pk).update(assigned_to=agent)
    assert post(client, contact, "close").status_code == 200
    activity = client.get(f"/api/contacts/{contact.pk}/activity/").json()
    assert [(a["kind"], a["actor"], a["target"]) for a in activity] == [
        ("taken_over", supervisor.pk, colleague.pk),
        ("taken_over", supervisor.pk, agent.pk),
        ("closed", supervisor.pk, None),
    ]
    assert set(activity[0]) >= {"kind", "actor", "target", "at"}


def test_a_supervisor_acts_only_in_the_campaigns_they_belong_to(
    as_user, make_contact, colleague, django_user_model, other_campaign, campaign
):
    outsider = django_user_model.objects.create_user("olive")
    outsider.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    other_campaign.agents.add(outsider)
    assert user_role(outsider) == "supervisor"
    contact = make_contact(assigned_to=colleague, status="assigned")
    assert post(as_user(outsider), contact, "close").status_code == 404
    campaign.agents.add(outsider)
    assert post(as_user(outsider), contact, "close").status_code == 200
    assert state(contact) == ("closed", colleague.pk)


def test_an_admin_replies_to_a_colleagues_contact_as_a_takeover(
    as_user, make_contact, admin_user, colleague, django_capture_on_commit_callbacks
):
    contact = make_contact(assigned_to=colleague, status="assigned")
    with django_capture_on_commit_callbacks():
        response = post(as_user(admin_user), contact, "messages", {"text": "Taking this one"})
    assert response.status_code == 201
    assert state(contact) == ("assigned", admin_user.pk)
    assert kinds(contact) == ["taken_over"]


def test_a_reply_to_an_unassigned_contact_claims_it_and_to_a_closed_one_is_409(
    as_user, make_contact, agent, django_capture_on_commit_callbacks
):
    contact = make_contact()
    with django_capture_on_commit_callbacks():
        assert post(as_user(agent), contact, "messages", {"text": "Hi"}).status_code == 201
    assert state(contact) == ("assigned", agent.pk)
    assert post(as_user(agent), contact, "close").status_code == 200
    refused = post(as_user(agent), contact, "messages", {"text": "One more thing"})
    assert refused.status_code == 409
    assert "reopen" in refused.json()["detail"]
    assert Message.objects.filter(direction="out").count() == 1
    assert kinds(contact) == ["claimed", "closed"]


def test_close_and_reopen(as_user, make_contact, agent):
    contact = make_contact()
    client = as_user(agent)
    assert post(client, contact, "reopen").status_code == 409  # open already
    post(client, contact, "claim")
    closed = post(client, contact, "close")
    assert (closed.status_code, closed.json()["status"], closed.json()["unread_count"]) == (
        200,
        "closed",
        0,
    )
    assert post(client, contact, "close").status_code == 409
    reopened = post(client, contact, "reopen")
    assert (reopened.status_code, reopened.json()["status"]) == (200, "assigned")
    assert kinds(contact) == ["claimed", "closed", "reopened"]


def test_pending_and_snooze_then_the_customer_writes(as_user, make_contact, agent):
    contact = make_contact()
    client = as_user(agent)
    post(client, contact, "claim")
    pending = post(client, contact, "pending")
    assert (pending.status_code, pending.json()["status"]) == (200, "pending")
    until = timezone.now() + timedelta(hours=2)
    assert post(client, contact, "snooze", {"until": "not a time"}).status_code == 400
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert post(client, contact, "snooze", {"until": past}).status_code == 400
    snoozed = post(client, contact, "snooze", {"until": until.isoformat()}).json()
    assert snoozed["status"] == "snoozed"
    assert snoozed["snoozed_until"].startswith(until.strftime("%Y-%m-%dT%H:%M"))
    assert client.get("/api/contacts/", {"status": "snoozed"}).json()["count"] == 1

    record_inbound(contact=contact, incoming=IncomingMessage(sent_at=timezone.now(), text="Hi?"))
    assert state(contact) == ("assigned", agent.pk)
    contact.refresh_from_db()
    assert contact.snoozed_until is None
    activity = client.get(f"/api/contacts/{contact.pk}/activity/").json()
    assert [(a["kind"], a["actor"], a["target"]) for a in activity] == [
        ("claimed", agent.pk, None),
        ("snoozed", agent.pk, "pending"),
        ("snoozed", agent.pk, until.isoformat(timespec="minutes")),
        ("reopened", None, None),
    ]


def test_a_customer_reopens_a_closed_conversation_once(make_contact, agent):
    contact = make_contact(assigned_to=agent, status="closed")
    for n in range(2):
        record_inbound(
            contact=contact,
            incoming=IncomingMessage(sent_at=timezone.now(), text=f"hello {n}", mid=f"m_re_{n}"),
        )
    assert state(contact) == ("assigned", agent.pk)
    reopened = Activity.objects.get(contact=contact)
    assert (reopened.kind, reopened.actor, workflow.activity_text(reopened)) == (
        "reopened",
        None,
        "reopened by customer",
    )


def test_snoozed_contacts_wake_when_their_time_comes(make_contact, agent):
    due = make_contact("6500000000000011", status="snoozed", assigned_to=agent)
    later = make_contact("6500000000000012", status="snoozed")
    now = timezone.now()
    Contact.objects.filter(pk=due.pk).update(snoozed_until=now - timedelta(seconds=1))
    Contact.objects.filter(pk=later.pk).update(snoozed_until=now + timedelta(hours=1))
    from agent_desktop.tasks import wake_snoozed_contacts

    assert wake_snoozed_contacts.apply().get() == 1
    assert state(due) == ("assigned", agent.pk)
    assert state(later) == ("snoozed", None)
    assert workflow.activity_text(Activity.objects.get()) == "reopened: snooze ended"


def test_release_is_only_for_the_holder(as_user, make_contact, agent, colleague):
    contact = make_contact()
    post(as_user(agent), contact, "claim")
    assert post(as_user(colleague), contact, "release").status_code == 403
    released = post(as_user(agent), contact, "release")
    assert (released.status_code, released.json()["status"]) == (200, "new")
    assert released.json()["assigned_to"] is None
    assert kinds(contact) == ["claimed", "released"]


def test_activity_is_404_for_another_campaigns_contact(as_user, make_contact, other_campaign_agent):
    contact = make_contact()
    assert (
        as_user(other_campaign_agent).get(f"/api/contacts/{contact.pk}/activity/").status_code
        == 404
    )
    for action in ("reopen", "pending", "snooze"):
        assert post(as_user(other_campaign_agent), contact, action).status_code == 404


def test_the_schema_lists_the_workflow_endpoints(as_user, agent):
    paths = as_user(agent).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for action in ("claim", "release", "close", "transfer", "reopen", "snooze", "pending"):
        assert f"/api/contacts/{{id}}/{action}/" in paths
    assert "/api/contacts/{id}/activity/" in paths
