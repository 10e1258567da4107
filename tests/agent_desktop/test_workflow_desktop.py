"""Team workflow in the desktop: the buttons each person is offered, refusals with their reason,
the timeline's activities and a divider per conversation."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from agent_desktop import workflow
from agent_desktop.models import Activity, Contact, Message
from agent_desktop.services import IncomingMessage, record_inbound
from campaigns.roles import SUPERVISOR_GROUP


@pytest.fixture
def colleague(django_user_model, campaign):
    user = django_user_model.objects.create_user("sam", first_name="Sam")
    campaign.agents.add(user)
    return user


LABELS = ["Claim", "Take over", "Release", "Transfer", "Pending", "Snooze", "Close", "Reopen"]


def url(contact, action=None):
    if action is None:
        return reverse("agent_desktop:contact", args=[contact.pk])
    return reverse("agent_desktop:action", args=[contact.pk, action])


def buttons(client, contact):
    html = client.get(url(contact)).content.decode()
    actions = html.split('data-testid="workflow-actions"', 1)[1].split("</div>", 1)[0]
    return [label for label in LABELS if f">{label}</button>" in actions]


def test_the_buttons_follow_who_holds_the_contact(
    client, make_contact, agent, colleague, django_user_model, campaign
):
    contact = make_contact()
    client.force_login(agent)
    assert buttons(client, contact) == ["Claim", "Transfer", "Pending", "Snooze", "Close"]
    Contact.objects.filter(pk=contact.pk).update(assigned_to=agent, status="assigned")
    assert buttons(client, contact) == [
        "Release",
        "Transfer",
        "Pending",
        "Snooze",
        "Close",
    ]
    Contact.objects.filter(pk=contact.pk).update(assigned_to=colleague)
    assert buttons(client, contact) == ["Claim"]  # pressing it says who holds it
    html = client.get(url(contact)).content.decode()
    assert "Sam is answering this customer: only they, a supervisor or an admin" in html

    dana = django_user_model.objects.create_user("dana", first_name="Dana")
    dana.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(dana)
    client.force_login(dana)
    assert buttons(client, contact) == [
        "Take over",
        "Release",
        "Transfer",
        "Pending",
        "Snooze",
        "Close",
    ]
    Contact.objects.filter(pk=contact.pk).update(status="closed")
    assert buttons(client, contact) == ["Reopen"]


def test_transfer_lists_members_other_than_the_holder(client, make_contact, agent, colleague):
    contact = make_contact(assigned_to=agent, status="assigned")
    client.force_login(agent)
    html = client.get(url(contact)).content.decode()
    options = html.split('id="transfer-to"', 1)[1].split("</select>", 1)[0]
    assert ">Sam · ○ offline · 0/10 open</option>" in options and ">Alex" not in options


def test_a_reply_on_a_colleagues_conversation_is_refused_with_the_reason(
    client, make_contact, agent, colleague
):
    contact = make_contact(assigned_to=colleague, status="assigned")
    client.force_login(agent)
    response = client.post(reverse("agent_desktop:reply", args=[contact.pk]), {"text": "Me!"})
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="composer-error"' in html and "Sam is answering this customer" in html
    assert "Me!</textarea>" in html  # the text is kept
    assert not Message.objects.filter(direction="out").exists()


def test_snooze_and_pending_from_the_desktop(client, make_contact, agent):
    contact = make_contact(assigned_to=agent, status="assigned")
    client.force_login(agent)
    client.post(url(contact, "snooze"), {"until": "4h"})
    contact.refresh_from_db()
    assert contact.status == "snoozed"
    expected = timezone.now() + timedelta(hours=4)
    assert abs((contact.snoozed_until - expected).total_seconds()) < 60
    response = client.post(url(contact, "snooze"), {"until": "forever"}, follow=True)
    assert "Choose how long to snooze." in response.content.decode()
    client.post(url(contact, "pending"))
    contact.refresh_from_db()
    assert contact.status == "pending"
    html = client.get(reverse("agent_desktop:home")).content.decode()
    assert ">Pending</span>" in html  # the row says so; "All open" still lists it


def test_the_timeline_shows_activities_and_a_divider_per_conversation(
    client, make_contact, agent, colleague
):
    contact = make_contact()
    client.force_login(agent)
    for action, data in (("claim", {}), ("transfer", {"to": colleague.pk})):
        client.post(url(contact, action), data)
    contact.refresh_from_db()  # a stale copy would be refused: it no longer says who holds it
    workflow.contact_close(contact=contact, agent=colleague)
    record_inbound(
        contact=contact, incoming=IncomingMessage(sent_at=timezone.now(), text="Me again")
    )
    html = client.get(url(contact)).content.decode().split('data-testid="messages"', 1)[1]
    order = [
        "hello from 6500000000000001",
        "Alex claimed",
        "Alex transferred to Sam",
        "closed by Sam",
        'data-testid="conversation-divider"',
        "Me again",
        "reopened by customer",
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    assert html.count('data-testid="conversation-divider"') == 1
    assert Activity.objects.filter(contact=contact).count() == 4
