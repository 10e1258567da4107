"""The live view: who waits, who is late for the first-response target, each member's presence
and load, for the campaigns a user supervises; polls cost a bounded number of queries and an
unchanged answer is a bodiless 204."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from agent_desktop import workflow
from agent_desktop.models import Contact
from agent_desktop.services import reply_send
from campaigns.people import person_of
from campaigns.roles import SUPERVISOR_GROUP
from tests.conftest import PASSWORD
from tests.reports.conftest import customer_writes

POLL = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def supervisor(campaign):
    user = User.objects.create_user("sue", password=PASSWORD, first_name="Sue")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    return user


def online(user):
    person = person_of(user)
    person.last_seen_at = person.last_active_at = timezone.now()
    person.save()


def test_waiting_late_and_members_are_shown(client, supervisor, agent, campaign, new_contact):
    now = timezone.now()
    campaign.first_response_target_seconds = 300
    campaign.save()
    late = new_contact("6500000000000901")
    customer_writes(late, now - timedelta(minutes=12))
    fresh = new_contact("6500000000000902")
    customer_writes(fresh, now - timedelta(minutes=1))
    answered = new_contact("6500000000000903")
    customer_writes(answered, now - timedelta(minutes=30))
    workflow.contact_claim(contact=Contact.objects.get(pk=answered.pk), agent=agent)
    reply_send(contact=Contact.objects.get(pk=answered.pk), agent=agent, text="Hi")
    online(agent)

    client.force_login(supervisor)
    page = client.get("/reports/live/")
    assert page.status_code == 200
    live = page.context["live"]
    assert live.waiting == 2
    assert 12 * 60 <= live.longest_wait_seconds < 13 * 60
    assert [row.contact_id for row in live.late] == [late.pk]  # answered and fresh are not late
    by_name = {m.name: m for m in live.members}
    assert (by_name["Alex"].presence, by_name["Alex"].open_count) == ("online", 1)
    assert by_name["Sue"].presence == "offline"
    html = page.content.decode()
    assert f'href="/desktop/contacts/{late.pk}/"' in html
    assert 'hx-trigger="every 5s"' in html


def test_an_unchanged_poll_is_a_204_and_a_change_answers_the_partial(
    client, supervisor, campaign, new_contact
):
    client.force_login(supervisor)
    first = client.get("/reports/live/", {"campaign": campaign.pk}, **POLL)
    assert first.status_code == 200
    fingerprint = first.context["fingerprint"]
    again = client.get("/reports/live/", {"campaign": campaign.pk, "fp": fingerprint}, **POLL)
    assert (again.status_code, again.content) == (204, b"")
    customer_writes(new_contact("6500000000000911"), timezone.now())
    changed = client.get("/reports/live/", {"campaign": campaign.pk, "fp": fingerprint}, **POLL)
    assert changed.status_code == 200
    assert changed.context["live"].waiting == 1
    assert b"<html" not in changed.content  # the partial only


def test_the_queries_do_not_grow_with_the_conversations_or_the_team(
    client, supervisor, campaign, new_contact, django_assert_max_num_queries
):
    client.force_login(supervisor)
    old = timezone.now() - timedelta(hours=1)

    def add(count, start):
        for n in range(start, start + count):
            customer_writes(new_contact(f"65000000001{n:05d}"), old)
            member = User.objects.create_user(f"member{n}", first_name=f"M{n}")
            campaign.agents.add(member)
            online(member)

    add(3, 0)
    with django_assert_max_num_queries(12) as few:
        assert client.get("/reports/live/", **POLL).status_code == 200
    add(30, 100)
    with django_assert_max_num_queries(12) as many:
        response = client.get("/reports/live/", **POLL)
    assert response.context["live"].late_count == 33
    assert len(few) == len(many)


def test_agents_are_refused_and_supervisors_see_only_their_campaigns(
    client, agent, supervisor, other_campaign
):
    client.force_login(agent)
    assert client.get("/reports/live/").status_code == 403
    client.force_login(supervisor)
    page = client.get("/reports/live/", {"campaign": other_campaign.pk})
    assert other_campaign not in page.context["campaigns"]
    assert page.context["live"].campaign != other_campaign
