"""The desktop marks conversations whose customer wrote outside business hours, and shows the
away reply as the app's own automatic message."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agent_desktop import services
from agent_desktop.models import Contact, Message
from campaigns.business_hours import validate_schedule

CLOSED_EVERY_DAY = {"timezone": "UTC", "days": {}}
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BADGE = 'data-testid="outside-hours">Outside business hours</span>'


@pytest.fixture
def closed_campaign(campaign):
    campaign.business_hours = validate_schedule(CLOSED_EVERY_DAY)
    campaign.away_message = "We're closed."
    campaign.save()
    return campaign


def test_a_customer_who_wrote_outside_hours_is_marked_in_the_list_and_the_header(
    agent_client, closed_campaign, make_contact
):
    contact = make_contact(first_name="Nora")
    listing = agent_client.get(reverse("agent_desktop:home")).content.decode()
    assert BADGE in listing
    page = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert page.count(BADGE) == 2  # its row and the conversation's header


def test_inside_hours_or_without_business_hours_there_is_no_mark(
    agent_client, campaign, make_contact
):
    contact = make_contact()
    assert BADGE not in agent_client.get(reverse("agent_desktop:home")).content.decode()
    campaign.business_hours = validate_schedule(
        {"timezone": "UTC", "days": {day: [["00:00", "24:00"]] for day in WEEK}}
    )
    campaign.save()
    page = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert BADGE not in page


def test_the_mark_costs_no_query_per_row(
    agent_client, closed_campaign, entry_point, django_assert_max_num_queries
):
    def fill(count, start):
        now = timezone.now()
        Contact.objects.bulk_create(
            Contact(
                channel="messenger",
                entry_point=entry_point,
                external_id=f"71{start + i:014d}",
                last_message_at=now - timedelta(seconds=i),
                last_inbound_at=now - timedelta(seconds=i),
            )
            for i in range(count)
        )

    queries = {}
    # Who the agent is (their campaigns) is read once, then kept in the cache with the tokens.
    agent_client.get(reverse("agent_desktop:home"))
    for total, start in ((5, 0), (50, 5)):
        fill(total - start, start)
        with django_assert_max_num_queries(15) as captured:
            page = agent_client.get(reverse("agent_desktop:home")).content.decode()
        assert page.count(BADGE) == total
        queries[total] = len(captured)
    assert queries[5] == queries[50], queries


def test_the_away_reply_shows_as_an_automatic_reply_that_is_never_retried(
    agent_client, agent, closed_campaign, make_contact
):
    contact = make_contact()
    reply = Message.objects.create(
        contact=contact,
        direction="out",
        source=Message.Source.AUTOMATIC,
        status=Message.Status.FAILED,
        error="Not sent: the customer wrote more than 24 hours ago.",
        text="We're closed.",
        sent_at=timezone.now(),
    )
    page = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert 'data-testid="automatic-reply">Automatic reply</span>' in page
    assert "Not sent: the customer wrote more than 24 hours ago." in page
    assert 'data-testid="retry"' not in page
    with pytest.raises(services.ActionRefused, match="automatic reply is not sent again"):
        services.reply_retry(message=reply, agent=agent)
    reply.refresh_from_db()
    assert reply.status == "failed"
