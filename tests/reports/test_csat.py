"""The satisfaction survey on Messenger, end to end: the customer writes (a signed webhook
through the real endpoint), the agent closes, the survey goes to the fake Graph API over HTTP,
the customer's tap comes back as a signed webhook, and the reports count it."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from agent_desktop import workflow
from agent_desktop.models import Contact, Message
from messenger import outbound, services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import (
    encode_like_facebook,
    new_mid,
    page_body,
    signature_headers,
    text_item,
)
from messenger.setup import webhook_path
from reports.models import ConversationCycle
from tests.conftest import PAGE
from tests.messenger.conftest import PSID
from tests.webchat.conftest import SHOP, Widget
from webchat import services as webchat_setup

QUESTION = "How did we do today?"


@pytest.fixture
def csat_campaign(campaign):
    campaign.csat_enabled = True
    campaign.csat_question = QUESTION
    campaign.save()
    return campaign


def webhook(client, page, body):
    """Post a body signed like Facebook to the page's webhook, then process what was stored
    (as the worker does once the request's transaction commits)."""
    raw = encode_like_facebook(body)
    headers = signature_headers(raw, PAGE["app_secret"])
    response = client.post(
        webhook_path(page),
        data=raw,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    assert response.status_code == 200
    for pk in WebhookDelivery.objects.filter(status="received").values_list("pk", flat=True):
        services.process_delivery(pk)


def customer_writes(client, page, text, *, at=None):
    timestamp = int(at.timestamp() * 1000) if at else None
    webhook(
        client,
        page,
        page_body(PAGE["page_id"], text_item(PAGE["page_id"], PSID, text, timestamp=timestamp)),
    )


def tap(title, payload):
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE["page_id"]},
        "timestamp": int(timezone.now().timestamp() * 1000),
        "message": {"mid": new_mid(), "text": title, "quick_reply": {"payload": payload}},
    }


def customer_taps(client, page, title, payload):
    webhook(client, page, page_body(PAGE["page_id"], tap(title, payload)))


def send_queued():
    for pk in Message.objects.filter(direction="out", status="queued").values_list("pk", flat=True):
        outbound.send_message(pk)


def close(contact, user):
    workflow.contact_close(contact=Contact.objects.get(pk=contact.pk), agent=user)
    send_queued()


def summary(client):
    response = client.get("/api/reports/summary/", {"period": "7d"})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_close_inside_the_window_sends_the_survey_and_a_tap_rates_its_cycle(
    client, admin_client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "My order is late")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)

    (survey,) = fake_graph.sent_messages(PSID)
    assert (survey["messaging_type"], survey["tag"]) == ("RESPONSE", None)
    assert survey["message"]["text"] == QUESTION
    cycle = ConversationCycle.objects.get(contact=contact)
    replies = survey["message"]["quick_replies"]
    assert [r["payload"] for r in replies] == [f"CSAT:{cycle.pk}:{n}" for n in range(1, 6)]
    assert cycle.csat_status == "sent"

    customer_taps(client, connected_page, replies[4]["title"], replies[4]["payload"])

    cycle.refresh_from_db()
    assert (cycle.csat_rating, cycle.csat_status) == (5, "answered")
    contact.refresh_from_db()
    # The tap did not reopen the conversation nor open a new cycle.
    assert contact.status == Contact.Status.CLOSED
    assert ConversationCycle.objects.filter(contact=contact).count() == 1
    # The desk shows it: a line in the timeline, a fact in Customer Info.
    page = admin_client.get(f"/desktop/contacts/{contact.pk}/")
    html = page.content.decode()
    assert 'data-testid="csat-rating"' in html and "Rated 5/5" in html
    assert 'data-testid="info-csat"' in html
    # The survey and its answer end the closed conversation: no "New conversation" divider.
    assert 'data-testid="conversation-divider"' not in html
    figures = summary(admin_client)
    assert figures["csat"] == {"responses": 1, "average": 5.0}
    assert figures["csat_sent"] == 1
    assert figures["csat_skipped"] == {"window_closed": 0, "channel": 0}


def test_the_first_answer_wins_and_a_foreign_or_malformed_payload_is_ignored(
    client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)
    cycle = ConversationCycle.objects.get(contact=contact)
    other = ConversationCycle.objects.create(
        contact=Contact.objects.create(
            channel="messenger", entry_point=contact.entry_point, external_id="999"
        ),
        campaign=csat_campaign,
        entry_point=contact.entry_point,
        channel="messenger",
        opened_at=timezone.now(),
        closed_at=timezone.now(),
        csat_status="sent",
    )

    customer_taps(client, connected_page, "5", f"CSAT:{other.pk}:5")  # another customer's
    customer_taps(client, connected_page, "9", f"CSAT:{cycle.pk}:9")  # no such rating
    customer_taps(client, connected_page, "x", "CSAT:abc:3")
    cycle.refresh_from_db()
    other.refresh_from_db()
    assert (cycle.csat_status, cycle.csat_rating, other.csat_rating) == ("sent", None, None)

    customer_taps(client, connected_page, "2", f"CSAT:{cycle.pk}:2")
    customer_taps(client, connected_page, "4", f"CSAT:{cycle.pk}:4")
    cycle.refresh_from_db()
    assert (cycle.csat_status, cycle.csat_rating) == ("answered", 2)


def test_a_second_tap_on_the_survey_adds_no_second_rated_line(
    client, admin_client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)
    cycle = ConversationCycle.objects.get(contact=contact)

    customer_taps(client, connected_page, "2", f"CSAT:{cycle.pk}:2")
    customer_taps(client, connected_page, "4", f"CSAT:{cycle.pk}:4")  # changes nothing

    ratings = Message.objects.filter(contact=contact, details__has_key="csat_rating")
    assert list(ratings.values_list("text", flat=True)) == ["2"]
    html = admin_client.get(f"/desktop/contacts/{contact.pk}/").content.decode()
    assert html.count('data-testid="csat-rating"') == 1
    assert "Rated 2/5" in html and "Rated 4/5" not in html  # the timeline and Customer Info
    cycle.refresh_from_db()
    assert (cycle.csat_status, cycle.csat_rating) == ("answered", 2)


def test_two_taps_in_one_delivery_store_the_first_only(
    client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)
    cycle = ConversationCycle.objects.get(contact=contact)
    taps = [tap("3", f"CSAT:{cycle.pk}:3"), tap("1", f"CSAT:{cycle.pk}:1")]
    webhook(client, connected_page, page_body(PAGE["page_id"], *taps))

    ratings = Message.objects.filter(contact=contact, details__has_key="csat_rating")
    assert list(ratings.values_list("text", flat=True)) == ["3"]
    cycle.refresh_from_db()
    assert (cycle.csat_status, cycle.csat_rating) == ("answered", 3)


def test_a_text_right_after_the_rating_is_its_comment(
    client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)
    cycle = ConversationCycle.objects.get(contact=contact)
    customer_taps(client, connected_page, "3", f"CSAT:{cycle.pk}:3")
    customer_writes(client, connected_page, "Took a while to get an answer")
    cycle.refresh_from_db()
    assert (cycle.csat_rating, cycle.csat_comment) == (3, "Took a while to get an answer")


def test_a_tap_on_an_old_survey_after_the_conversation_reopened_rates_its_own_cycle(
    client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)
    first = ConversationCycle.objects.get(contact=contact)
    customer_writes(client, connected_page, "One more question")  # reopens: a second cycle
    assert ConversationCycle.objects.filter(contact=contact).count() == 2

    customer_taps(client, connected_page, "4", f"CSAT:{first.pk}:4")

    first.refresh_from_db()
    second = ConversationCycle.objects.exclude(pk=first.pk).get(contact=contact)
    assert (first.csat_rating, second.csat_rating, second.closed_at) == (4, None, None)


def test_a_close_outside_the_24h_window_sends_nothing_and_is_counted_as_skipped(
    client, admin_client, admin_user, csat_campaign, connected_page, fake_graph
):
    customer_writes(client, connected_page, "Hello?", at=timezone.now() - timedelta(hours=25))
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)

    assert fake_graph.sent_messages(PSID) == []
    assert not Message.objects.filter(direction="out").exists()
    assert ConversationCycle.objects.get(contact=contact).csat_status == "skipped_window"
    figures = summary(admin_client)
    assert figures["csat_skipped"]["window_closed"] == 1
    assert figures["csat_sent"] == 0
    page = admin_client.get("/reports/").content.decode()
    assert "0 of 0 surveys answered; 1 skipped (24 h window closed)" in page


def test_without_csat_nothing_is_sent(client, admin_user, campaign, connected_page, fake_graph):
    customer_writes(client, connected_page, "Hi")
    contact = Contact.objects.get(external_id=PSID)
    close(contact, admin_user)
    assert fake_graph.sent_messages(PSID) == []
    assert ConversationCycle.objects.get(contact=contact).csat_status == ""


# --- Website chat: the widget asks, through the real visitor API ----------------------------
@pytest.fixture
def widget(csat_campaign):
    cache.clear()  # the visitor API's rate limits start fresh
    entry_point = webchat_setup.web_chat_entry_point_create(
        campaign=csat_campaign, name="Shop chat"
    )
    chat = entry_point.web_chat
    chat.allowed_origins = [SHOP]
    chat.save()
    return Widget(chat.widget_key)


def test_the_widget_gets_the_survey_after_the_close_and_its_answer_is_counted(
    widget, admin_user, admin_client
):
    widget.start(name="Vera")
    widget.say("Is this in stock?")
    visitor = Contact.objects.get(channel="webchat")
    assert widget.get("messages/").json()["survey"] is None  # open: nothing asked yet

    workflow.contact_close(contact=visitor, agent=admin_user)
    cycle = ConversationCycle.objects.get(contact=visitor)
    assert widget.get("messages/").json()["survey"] == {"cycle": cycle.pk, "question": QUESTION}

    # Malformed answers: 400, nothing stored; another survey's id: 404.
    assert widget.post("survey/", {"cycle": cycle.pk, "rating": 6}).status_code == 400
    assert widget.post("survey/", {"cycle": cycle.pk, "rating": True}).status_code == 400
    assert widget.post("survey/", {"cycle": str(cycle.pk), "rating": 3}).status_code == 400
    assert widget.post("survey/", {"cycle": cycle.pk + 1, "rating": 3}).status_code == 404
    cycle.refresh_from_db()
    assert cycle.csat_status == "sent"

    answer = {"cycle": cycle.pk, "rating": 4, "comment": " Quick and kind "}
    assert widget.post("survey/", answer).status_code == 204
    assert widget.post("survey/", {**answer, "rating": 1}).status_code == 404  # answered

    cycle.refresh_from_db()
    assert (cycle.csat_rating, cycle.csat_comment, cycle.csat_status) == (
        4,
        "Quick and kind",
        "answered",
    )
    visitor.refresh_from_db()
    assert visitor.status == Contact.Status.CLOSED  # answering reopened nothing
    assert widget.get("messages/").json()["survey"] is None
    # Not shown to the visitor as a message of theirs.
    assert widget.get("messages/").json()["messages"][-1]["text"] == "Is this in stock?"
    html = admin_client.get(f"/desktop/contacts/{visitor.pk}/").content.decode()
    assert "Rated 4/5" in html
    assert summary(admin_client)["csat"] == {"responses": 1, "average": 4.0}
