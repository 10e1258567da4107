"""Ownership under real concurrency: agents in threads, each with its own database connection,
claim (or answer) the same contact at the same moment; the database lets exactly one through.
Runs on the configured database (CI: SQLite, then PostgreSQL)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from agent_desktop.models import Activity, Contact, Message

AGENTS = 8


@pytest.fixture
def agents(transactional_db, django_user_model, campaign):
    users = [
        django_user_model.objects.create_user(f"agent{n}", first_name=f"Agent {n}")
        for n in range(AGENTS)
    ]
    campaign.agents.add(*users)
    return users


def all_at_once(users, request):
    """Each user's client sends `request(client)` in its own thread, released together; returns
    [(user, response)]."""
    clients = []
    for user in users:
        client = APIClient()
        client.force_login(user)
        clients.append(client)
    start = threading.Barrier(len(users))
    results = [None] * len(users)

    def run(n):
        try:
            start.wait()
            results[n] = (users[n], request(clients[n]))
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_of_concurrent_claims_exactly_one_wins_and_the_rest_are_told_who(
    agents, make_contact, counts
):
    contact = make_contact()
    results = all_at_once(agents, lambda c: c.post(f"/api/contacts/{contact.pk}/claim/"))
    winners = [user for user, response in results if response.status_code == 200]
    assert len(winners) == 1, [r.status_code for _, r in results]
    winner = winners[0]
    refused = [response for _, response in results if response.status_code != 200]
    assert {r.status_code for r in refused} == {409}
    for response in refused:
        assert response.json() == {
            "detail": f"{winner.first_name} is already answering this customer.",
            "assigned_to": winner.pk,
        }
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == ("assigned", winner)
    assert list(Activity.objects.values_list("kind", "actor")) == [("claimed", winner.pk)]
    counts(
        f"concurrent claims ({connection.vendor})",
        claims=len(results),
        won_200=len(winners),
        refused_409=len(refused),
    )


def test_of_concurrent_replies_to_an_unassigned_contact_one_goes_out(
    agents, make_contact, connected_page, counts
):
    contact = make_contact(entry_point_=connected_page.entry_point)
    results = all_at_once(
        agents,
        lambda c: c.post(
            f"/api/contacts/{contact.pk}/messages/", {"text": "I'm on it"}, format="json"
        ),
    )
    sent = [user for user, response in results if response.status_code == 201]
    assert len(sent) == 1, [r.status_code for _, r in results]
    refused = [response for _, response in results if response.status_code != 201]
    # Refused as they saw it: claimed meanwhile (409), or already someone else's (403).
    assert {r.status_code for r in refused} <= {403, 409}
    assert {r.json()["assigned_to"] for r in refused} == {sent[0].pk}
    replies = Message.objects.filter(direction="out")
    assert list(replies.values_list("sent_by", flat=True)) == [sent[0].pk]
    assert Contact.objects.get(pk=contact.pk).assigned_to == sent[0]
    counts(
        f"concurrent replies ({connection.vendor})",
        replies=len(results),
        sent_201=len(sent),
        refused=len(refused),
    )
