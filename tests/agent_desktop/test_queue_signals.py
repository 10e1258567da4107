"""Unread counts per filter tab and the queue activity notifications are raised from, as the
desktop's page and its list poll serve them."""

import json
import re

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from agent_desktop import queue_signals
from agent_desktop.models import Contact

LIST = reverse("agent_desktop:list")
HX = {"HTTP_HX_REQUEST": "true"}


def recent_of(html):
    raw = re.search(r'data-recent-inbound="([^"]*)"', html).group(1)
    return json.loads(raw.replace("&quot;", '"'))


def test_each_tab_counts_its_conversations_with_unread_messages(
    agent, make_contact, other_entry_point
):
    colleague = get_user_model().objects.create_user("sam")
    make_contact("6500000000000001", assigned_to=agent, status="assigned")
    read = make_contact("6500000000000002", assigned_to=agent, status="assigned")
    Contact.objects.filter(pk=read.pk).update(unread_count=0)
    make_contact("6500000000000003")  # unassigned, unread
    make_contact("6500000000000004", assigned_to=colleague, status="assigned")
    make_contact("6500000000000005", status="closed")  # closed: counted nowhere
    make_contact("6500000000000006", entry_point_=other_entry_point)  # not the agent's campaign

    unread = {tab["key"]: tab["unread"] for tab in queue_signals.filter_tabs(agent)}

    assert unread == {"all": 3, "mine": 1, "unassigned": 1, "closed": None}


def test_recent_inbound_is_the_agents_own_and_unassigned_open_contacts_newest_first(
    agent, make_contact
):
    colleague = get_user_model().objects.create_user("sam")
    mine = make_contact("6500000000000001", first_name="Mia", assigned_to=agent, minutes_ago=9)
    waiting = make_contact("6500000000000002", first_name="Wes", minutes_ago=1)
    make_contact("6500000000000003", assigned_to=colleague, status="assigned")
    make_contact("6500000000000004", status="closed")

    recent = queue_signals.recent_inbound(agent)

    assert [(r["id"], r["name"], r["mine"]) for r in recent] == [
        (waiting.pk, "Wes", False),
        (mine.pk, "Mia", True),
    ]
    assert recent[0]["at"] == waiting.last_inbound_at.isoformat()


def test_the_page_shows_the_counts_and_the_activity(agent_client, make_contact):
    make_contact("6500000000000001", first_name="Maria")
    html = agent_client.get(reverse("agent_desktop:home")).content.decode()
    unassigned = re.search(r'data-filter="unassigned"[^>]*>(.*?)</a>', html, re.S).group(1)
    assert '1<span class="sr-only"> with unread messages' in unassigned
    assert [entry["name"] for entry in recent_of(html)] == ["Maria"]


def test_a_new_customer_message_changes_what_the_poll_answers(agent_client, make_contact):
    contact = make_contact("6500000000000001", first_name="Maria")
    first = agent_client.get(LIST, **HX)
    fingerprint = first.context["list_fingerprint"]
    assert agent_client.get(LIST, {"fp": fingerprint}, **HX).status_code == 204

    # A second message from a contact already unread changes neither row order nor the counts,
    # but it is news to notify about.
    later = timezone.now()
    Contact.objects.filter(pk=contact.pk).update(last_inbound_at=later)
    again = agent_client.get(LIST, {"fp": fingerprint}, **HX)
    assert again.status_code == 200
    assert recent_of(again.content.decode())[0]["at"] == later.isoformat()


def test_the_empty_centre_follows_the_list_when_no_conversation_is_open(agent_client, make_contact):
    page = agent_client.get(reverse("agent_desktop:home")).content.decode()
    assert "No contacts here yet" in page
    assert '"centre": "empty"' in page  # the list poll asks for the centre too

    make_contact("6500000000000001", first_name="Maria")
    polled = agent_client.get(LIST, {"centre": "empty", "fp": "old"}, **HX).content.decode()

    assert 'id="conversation-empty"' in polled and 'hx-swap-oob="true"' in polled
    assert "Pick a contact to open the conversation" in polled
    assert 'id="filter-tabs" class="tabs"' in polled
    # Links in the list keep the filter, never what the poll sends.
    row_link = re.search(r'class="contact-row[^"]*" href="([^"]*)"', polled).group(1)
    assert "fp=" not in row_link and "centre=" not in row_link


def test_an_open_conversation_is_never_replaced_by_the_empty_state(agent_client, make_contact):
    contact = make_contact("6500000000000001", first_name="Maria")
    page = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert '"centre": "empty"' not in page
    polled = agent_client.get(LIST, {"fp": "old"}, **HX).content.decode()
    assert "conversation-empty" not in polled
