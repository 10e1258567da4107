"""The away reply: a customer who writes outside the campaign's business hours gets the away
message once per conversation, as a plain response inside the 24-hour window, never tagged.
Deliveries are processed as a worker would; replies go to the fake Graph API over HTTP."""

import logging
import threading
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from agent_desktop import workflow
from agent_desktop.models import Contact, Message
from campaigns.business_hours import validate_schedule
from messenger import outbound, services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, page_body, text_item
from tests.conftest import PAGE
from tests.messenger.conftest import PSID

AWAY = "Thanks for writing! We're closed now and answer from Monday 09:00."
CLOSED_EVERY_DAY = {"timezone": "UTC", "days": {}}
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPEN_ALL_WEEK = {"timezone": "UTC", "days": {day: [["00:00", "24:00"]] for day in WEEK}}


def set_hours(campaign, schedule, away_message=AWAY):
    campaign.business_hours = validate_schedule(schedule) if schedule else None
    campaign.away_message = away_message
    campaign.save()


def body(text, *, at=None):
    timestamp = int(at.timestamp() * 1000) if at else None
    return page_body(PAGE["page_id"], text_item(PAGE["page_id"], PSID, text, timestamp=timestamp))


def write(deliver, text="Hello?", *, at=None):
    return deliver(body(text, at=at))


def away_replies():
    return list(Message.objects.filter(source=Message.Source.AUTOMATIC).order_by("pk"))


def send_queued():
    """What the worker's send task does for each queued outgoing message."""
    for pk in Message.objects.filter(direction="out", status="queued").values_list("pk", flat=True):
        outbound.send_message(pk)


def hours_closed_only_around(moment):
    """Open all week except the hour of `moment` (UTC), which is closed."""
    day = WEEK[moment.weekday()]
    ranges = []
    if moment.hour > 0:
        ranges.append(["00:00", f"{moment.hour:02d}:00"])
    if moment.hour < 23:
        ranges.append([f"{moment.hour + 1:02d}:00", "24:00"])
    return {"timezone": "UTC", "days": {**OPEN_ALL_WEEK["days"], day: ranges}}


def hours_open_only_around(moment):
    """Closed all week except the hour of `moment` (UTC)."""
    day = WEEK[moment.weekday()]
    hour = f"{moment.hour:02d}:00"
    closes = "24:00" if moment.hour == 23 else f"{moment.hour + 1:02d}:00"
    return {"timezone": "UTC", "days": {day: [[hour, closes]]}}


def test_a_customer_writing_outside_hours_twice_gets_the_away_reply_once(
    deliver, campaign, fake_graph
):
    set_hours(campaign, CLOSED_EVERY_DAY)
    write(deliver, "Is anyone there?")
    write(deliver, "Hello?")
    send_queued()

    (reply,) = away_replies()
    assert (reply.direction, reply.text, reply.sent_by) == ("out", AWAY, None)
    assert reply.status == "sent" and reply.mid
    assert reply.details["messaging_type"] == "RESPONSE" and "tag" not in reply.details
    (sent,) = fake_graph.sent_messages(PSID)
    assert sent["message"]["text"] == AWAY
    assert (sent["messaging_type"], sent["tag"]) == ("RESPONSE", None)
    contact = Contact.objects.get(external_id=PSID)
    assert contact.away_replied_at is not None
    # The list still shows what the customer said, and the customer's messages stay unread.
    assert (contact.last_message_preview, contact.unread_count) == ("Hello?", 2)


def test_a_customer_writing_inside_hours_gets_no_away_reply(deliver, campaign, fake_graph):
    set_hours(campaign, OPEN_ALL_WEEK)
    write(deliver)
    send_queued()
    assert away_replies() == []
    assert fake_graph.sent_messages() == []


def test_without_business_hours_or_without_an_away_message_nothing_is_sent(
    deliver, campaign, fake_graph
):
    set_hours(campaign, None)
    write(deliver, "first")
    set_hours(campaign, CLOSED_EVERY_DAY, away_message="")
    write(deliver, "second")
    send_queued()
    assert away_replies() == []
    assert fake_graph.sent_messages() == []
    assert Contact.objects.get(external_id=PSID).away_replied_at is None


def test_closed_or_open_is_decided_at_the_time_the_customer_wrote(deliver, campaign, fake_graph):
    wrote_at = timezone.now() - timedelta(hours=2)
    set_hours(campaign, hours_closed_only_around(wrote_at))  # open now, closed then
    write(deliver, "sent while closed", at=wrote_at)
    assert len(away_replies()) == 1

    Message.objects.all().delete()
    Contact.objects.update(away_replied_at=None)
    set_hours(campaign, hours_open_only_around(wrote_at))  # closed now, open then
    write(deliver, "sent while open", at=wrote_at)
    assert away_replies() == []


def test_a_backlog_older_than_24_hours_gets_no_away_reply_and_says_why(
    deliver, campaign, fake_graph, caplog
):
    set_hours(campaign, CLOSED_EVERY_DAY)
    with caplog.at_level(logging.INFO, logger="agent_desktop.away_replies"):
        write(deliver, at=timezone.now() - timedelta(hours=25))
    send_queued()
    assert away_replies() == []
    assert fake_graph.sent_messages() == []
    assert "more than 24 hours ago" in caplog.text
    # Nothing was used up: the customer's next message outside hours gets it.
    write(deliver, "still there?")
    assert len(away_replies()) == 1


def test_an_away_reply_whose_send_comes_after_24_hours_fails_and_is_never_tagged(
    deliver, campaign, fake_graph
):
    set_hours(campaign, CLOSED_EVERY_DAY)
    write(deliver)
    # The send task ran late (a worker outage): by now the customer wrote 30 hours ago, when a
    # person's reply would go with the HUMAN_AGENT tag.
    Contact.objects.update(last_inbound_at=timezone.now() - timedelta(hours=30))
    fake_graph.customer_wrote(PSID, timezone.now() - timedelta(hours=30))
    assert outbound.reply_window(Contact.objects.get()).tag == "HUMAN_AGENT"
    send_queued()

    (reply,) = away_replies()
    assert reply.status == "failed"
    assert reply.error == outbound.AUTOMATIC_OUTSIDE_WINDOW
    assert fake_graph.sent_messages() == []


def test_a_closed_conversation_gets_the_away_reply_again_when_the_customer_writes_again(
    deliver, campaign, fake_graph, admin_user
):
    set_hours(campaign, CLOSED_EVERY_DAY)
    write(deliver, "first question")
    contact = Contact.objects.get(external_id=PSID)
    workflow.contact_close(contact=contact, agent=admin_user)
    assert Contact.objects.get(pk=contact.pk).away_replied_at is None
    write(deliver, "another question")
    write(deliver, "and one more")
    send_queued()
    assert [m.status for m in away_replies()] == ["sent", "sent"]
    assert [s["message"]["text"] for s in fake_graph.sent_messages(PSID)] == [AWAY, AWAY]
    assert Contact.objects.get(pk=contact.pk).status == "new"  # reopened by the customer


def test_processing_the_same_delivery_again_sends_no_second_away_reply(
    deliver, campaign, fake_graph, admin_user
):
    set_hours(campaign, CLOSED_EVERY_DAY)
    delivery = write(deliver)
    # Even with the conversation closed since (so the once-flag is clear), a replayed delivery
    # stores no message, and so sends nothing.
    workflow.contact_close(contact=Contact.objects.get(), agent=admin_user)
    services.process_delivery(delivery.pk)
    assert len(away_replies()) == 1


def test_two_messages_processed_at_the_same_moment_get_one_away_reply(
    transactional_db, campaign, connected_page, fake_graph, counts
):
    """Two workers, each its own connection and transaction, process a delivery of the same
    customer at once: the conditional UPDATE lets exactly one queue the reply."""
    set_hours(campaign, CLOSED_EVERY_DAY)
    deliveries = [
        WebhookDelivery.objects.create(
            facebook_page=connected_page,
            body=encode_like_facebook(body(f"message {n}")).decode(),
        )
        for n in range(4)
    ]
    start = threading.Barrier(len(deliveries))
    failures = []

    def work(delivery):
        try:
            start.wait()
            services.process_delivery(delivery.pk)
        except Exception as exc:  # reported below: a thread's exception would be lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(d,)) for d in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Message.objects.filter(direction="in").count() == len(deliveries)
    assert len(away_replies()) == 1
    counts(
        f"concurrent away replies ({connection.vendor})",
        deliveries=len(deliveries),
        away_replies=len(away_replies()),
    )
