"""CSAT under real concurrency: threads, each with its own database connection, released
together (SQLite here, PostgreSQL with DATABASE_URL). Of many answers to one survey at once,
exactly one is kept, and the timeline's rating is the one kept."""

import pytest

from agent_desktop import workflow
from agent_desktop.models import Contact, Message
from messenger import services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, new_mid, page_body
from reports.models import ConversationCycle
from tests.conftest import PAGE
from tests.messenger.conftest import PSID
from tests.reports.test_csat import QUESTION, customer_writes, send_queued
from tests.webchat.conftest import SHOP, Widget
from tests.webchat.test_concurrency import all_at_once
from webchat import services as webchat_setup

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 6


@pytest.fixture
def csat_campaign(campaign):
    campaign.csat_enabled, campaign.csat_question = True, QUESTION
    campaign.save()
    return campaign


def tap(cycle_id, rating):
    item = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE["page_id"]},
        "message": {
            "mid": new_mid(),
            "text": str(rating),
            "quick_reply": {"payload": f"CSAT:{cycle_id}:{rating}"},
        },
    }
    return encode_like_facebook(page_body(PAGE["page_id"], item)).decode()


def test_taps_processed_at_once_keep_one_rating(
    client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    workflow.contact_close(contact=contact, agent=admin_user)
    send_queued()
    cycle = ConversationCycle.objects.get(contact=contact)
    deliveries = [
        WebhookDelivery.objects.create(facebook_page=connected_page, body=tap(cycle.pk, n % 5 + 1))
        for n in range(THREADS)
    ]

    all_at_once([lambda pk=d.pk: services.process_delivery(pk) for d in deliveries])

    cycle.refresh_from_db()
    assert cycle.csat_status == "answered" and cycle.csat_rating in range(1, 6)
    assert Contact.objects.get(pk=contact.pk).status == Contact.Status.CLOSED
    assert ConversationCycle.objects.filter(contact=contact).count() == 1


def test_answers_posted_at_once_from_the_widget_keep_one(csat_campaign, admin_user):
    entry_point = webchat_setup.web_chat_entry_point_create(campaign=csat_campaign, name="Chat")
    entry_point.web_chat.allowed_origins = [SHOP]
    entry_point.web_chat.save()
    widget = Widget(entry_point.web_chat.widget_key)
    widget.start()
    widget.say("hello")
    contact = Contact.objects.get(channel="webchat")
    workflow.contact_close(contact=contact, agent=admin_user)
    cycle = ConversationCycle.objects.get(contact=contact)

    def answer(rating):
        def job():
            one = Widget(widget.key)
            one.token = widget.token
            return one.post("survey/", {"cycle": cycle.pk, "rating": rating}).status_code

        return job

    codes = all_at_once([answer(n % 5 + 1) for n in range(THREADS)])

    assert sorted(codes) == [204] + [404] * (THREADS - 1)
    cycle.refresh_from_db()
    (rating_message,) = Message.objects.filter(contact=contact, details__has_key="csat_rating")
    assert cycle.csat_rating == rating_message.details["csat_rating"]
