"""Automatic assignment under real concurrency: workers in threads, each with its own database
connection, give out the same waiting conversations at the same moment. Nobody goes over
capacity and no conversation gets two owners. Runs on the configured database (CI: SQLite, then
PostgreSQL, where the Person row lock does the work)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from agent_desktop import assignment, presence
from agent_desktop.models import Activity, Contact, Notification

CAPACITY = 3
WAITING = 12
WORKERS = 8


@pytest.fixture
def auto_campaign(transactional_db, campaign):
    campaign.auto_assign = True
    campaign.save()
    return campaign


@pytest.fixture
def two_agents(auto_campaign, django_user_model):
    users = [django_user_model.objects.create_user(name) for name in ("sam", "kim")]
    auto_campaign.agents.add(*users)
    for user in users:
        presence.capacity_set(user=user, capacity=CAPACITY)
        presence.heartbeat(user=user, active=True)
    return users


def all_at_once(jobs):
    """Run each job in its own thread (own connection), released together; returns results."""
    start = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(n):
        try:
            start.wait()
            results[n] = jobs[n]()
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_workers_giving_out_the_same_waiting_conversations_never_overfill_an_agent(
    two_agents, auto_campaign, make_contact, counts
):
    waiting = [make_contact(f"65{n:014d}") for n in range(WAITING)]

    given = all_at_once([lambda: assignment.assign_waiting(auto_campaign)] * WORKERS)

    for agent in two_agents:
        assert agent.assigned_contacts.filter(status="assigned").count() == CAPACITY
    assert sum(given) == 2 * CAPACITY
    assigned = Contact.objects.exclude(assigned_to=None)
    assert assigned.count() == 2 * CAPACITY
    # One ASSIGNED activity and one notification per conversation given: never given twice.
    activities = Activity.objects.filter(kind="assigned")
    assert sorted(activities.values_list("contact", flat=True)) == sorted(
        assigned.values_list("pk", flat=True)
    )
    assert Notification.objects.filter(kind="assigned").count() == 2 * CAPACITY
    assert Contact.objects.filter(pk__in=[c.pk for c in waiting], assigned_to=None).count() == (
        WAITING - 2 * CAPACITY
    )
    counts(
        f"concurrent automatic assignment ({connection.vendor})",
        workers=WORKERS,
        waiting=WAITING,
        given=sum(given),
        capacity_each=CAPACITY,
    )


def test_conversations_given_at_the_same_moment_count_each_other(two_agents, make_contact):
    """Each worker gives a different conversation: all of them see room for it at once, and
    only the lock on the agent's row keeps them from all taking the last places."""
    waiting = [make_contact(f"67{n:014d}") for n in range(WAITING)]

    given = all_at_once([lambda c=contact: assignment.assign_next(c) for contact in waiting])

    assert (
        sorted(user.username for user in given if user) == ["kim"] * CAPACITY + ["sam"] * CAPACITY
    )
    for agent in two_agents:
        assert agent.assigned_contacts.count() == CAPACITY


def test_an_assignment_racing_a_claim_leaves_one_owner(
    two_agents, auto_campaign, make_contact, django_user_model
):
    sam, kim = two_agents
    claimer = django_user_model.objects.create_user("olga")
    auto_campaign.agents.add(claimer)
    contacts = [make_contact(f"66{n:014d}") for n in range(CAPACITY)]

    jobs = []
    for contact in contacts:
        client = APIClient()  # one per thread
        client.force_login(claimer)
        jobs.append(lambda c=contact: assignment.assign_next(c))
        jobs.append(
            lambda c=contact, client=client: client.post(f"/api/contacts/{c.pk}/claim/").status_code
        )
    results = all_at_once(jobs)

    for n, contact in enumerate(contacts):
        contact.refresh_from_db()
        assigned_by_app, claim_status = results[2 * n], results[2 * n + 1]
        kinds = list(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
        if claim_status == 200:  # the claim came first: the app left it alone
            assert (contact.assigned_to, assigned_by_app, kinds) == (claimer, None, ["claimed"])
        else:
            assert claim_status == 409
            assert contact.assigned_to == assigned_by_app
            assert contact.assigned_to in (sam, kim)
            assert kinds == ["assigned"]
