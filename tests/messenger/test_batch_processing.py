"""Deliveries processed in batches (what the webhook's tasks do): the same outcome as one by one,
in far fewer statements, and one bad delivery holds no other back."""

import json
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agent_desktop.models import Contact, Message
from messenger import processing, services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, page_body, text_item
from tests.conftest import PAGE
from tests.processes import wait_until

PAGE_ID = PAGE["page_id"]
NOW_MS = int(timezone.now().timestamp() * 1000)


def store(page, body):
    raw = encode_like_facebook(body).decode()
    return WebhookDelivery.objects.create(facebook_page=page, body=raw)


def customer_posts(page, customers=4, posts=3, per_post=2):
    """`posts` deliveries per customer, `per_post` messages each, in timestamp order."""
    deliveries, t = [], NOW_MS
    for post in range(posts):
        for c in range(customers):
            items = []
            for n in range(per_post):
                t += 1
                items.append(text_item(PAGE_ID, f"70000{c}", f"c{c} p{post} n{n}", timestamp=t))
            deliveries.append(store(page, page_body(PAGE_ID, *items)))
    return deliveries


def test_a_batch_stores_what_one_by_one_would(connected_page, django_capture_on_commit_callbacks):
    deliveries = customer_posts(connected_page)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.process_deliveries([d.pk for d in deliveries]) == []
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Contact.objects.count() == 4 and Message.objects.count() == 24
    assert len(callbacks) == 1  # one task fetches the new contacts' profiles
    for c in range(4):
        contact = Contact.objects.get(external_id=f"70000{c}")
        assert contact.unread_count == 6 and contact.status == "new"
        assert contact.last_message_preview == f"c{c} p2 n1"
        texts = list(contact.messages.values_list("text", flat=True))
        assert texts == [f"c{c} p{p} n{n}" for p in range(3) for n in range(2)]
        assert contact.last_inbound_at == contact.messages.last().sent_at
    print(
        f"batch: {len(deliveries)} deliveries, {Contact.objects.count()} contacts, "
        f"{Message.objects.count()} messages"
    )


def test_a_batch_takes_a_few_statements_per_contact_not_per_event(
    connected_page, django_assert_max_num_queries
):
    deliveries = customer_posts(connected_page, customers=5, posts=4, per_post=3)
    # 60 events: the one-by-one path took about eight statements per event.
    with django_assert_max_num_queries(5 * 3 + 12):
        services.process_deliveries([d.pk for d in deliveries])
    assert Message.objects.count() == 60


def test_messages_stored_already_are_not_stored_again_in_a_batch(connected_page):
    deliveries = customer_posts(connected_page, customers=2, posts=2, per_post=2)
    services.process_delivery(deliveries[0].pk)  # processed before: its messages are stored
    again = store(connected_page, encode_body(deliveries[1]))  # Facebook's redelivery
    services.process_deliveries([d.pk for d in deliveries[1:]] + [again.pk])
    assert Message.objects.count() == 8
    assert Contact.objects.get(external_id="700000").unread_count == 4
    assert Contact.objects.get(external_id="700001").unread_count == 4
    assert not WebhookDelivery.objects.exclude(status="processed").exists()


def encode_body(delivery):
    return json.loads(delivery.body)


def test_deliveries_processed_already_are_skipped(connected_page):
    (delivery,) = customer_posts(connected_page, customers=1, posts=1)
    services.process_deliveries([delivery.pk])
    services.process_deliveries([delivery.pk, 999_999])  # a task run twice; a deleted delivery
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and Message.objects.count() == 2


def test_a_closed_contact_reopens_in_a_batch(connected_page, agent):
    first, second = customer_posts(connected_page, customers=2, posts=1)
    services.process_deliveries([first.pk, second.pk])
    Contact.objects.filter(external_id="700000").update(status="closed")
    Contact.objects.filter(external_id="700001").update(status="closed", assigned_to=agent)
    later = customer_posts(connected_page, customers=2, posts=1)
    services.process_deliveries([d.pk for d in later])
    assert Contact.objects.get(external_id="700000").status == "new"
    assert Contact.objects.get(external_id="700001").status == "assigned"


def test_one_failing_delivery_holds_no_other_back(connected_page, monkeypatch):
    deliveries = customer_posts(connected_page, customers=3, posts=1)
    bad = deliveries[1]
    real_pages_for = processing._pages_for

    def pages_for(receiving_page, events):
        # Fault injection: a delivery whose processing raises (a bug, a database error).
        if any(e.psid == "700001" for e in events):
            raise RuntimeError("boom")
        return real_pages_for(receiving_page, events)

    monkeypatch.setattr(processing, "_pages_for", pages_for)
    assert services.process_deliveries([d.pk for d in deliveries]) == [bad.pk]
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {
        deliveries[0].pk: "processed",
        bad.pk: "received",
        deliveries[2].pk: "processed",
    }
    bad.refresh_from_db()
    assert bad.last_error == "RuntimeError: boom" and bad.attempts == 1
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"700000", "700002"}
    outcomes = list(statuses.values())
    print(
        f"batch with a failing delivery: {len(outcomes)} deliveries, "
        f"{outcomes.count('processed')} processed, {outcomes.count('received')} left to try again"
    )


SHARED = [f"{n:02d}" for n in range(1, 34)] + ["40", "41"]


def snapshot():
    contacts = Contact.objects.order_by("external_id").values_list(
        "external_id",
        "unread_count",
        "status",
        "last_message_preview",
        "last_message_at",
        "last_inbound_at",
        "channel_details",
    )
    messages = Message.objects.values_list(
        "contact__external_id", "mid", "direction", "source", "kind", "text", "status"
    )
    return list(contacts), sorted(messages, key=str)


def test_every_shared_payload_in_one_batch_gives_what_one_by_one_gives(payload, connected_page):
    for name in SHARED:
        services.process_delivery(store(connected_page, payload(name)).pk)
    one_by_one = snapshot()
    Message.objects.all().delete()
    Contact.objects.all().delete()
    deliveries = [store(connected_page, payload(name)) for name in SHARED]
    services.process_deliveries([d.pk for d in deliveries])
    assert snapshot() == one_by_one
    # Many payloads share their mids: the batch meets the duplicates one by one met.
    assert len(one_by_one[1]) >= 10 and len({kind for *_, kind, _, _ in one_by_one[1]}) >= 6
    print(
        f"shared payloads: {len(SHARED)} in one batch, {len(one_by_one[1])} messages as one by one"
    )


def test_one_task_takes_every_delivery_waiting_batch_after_batch(connected_page):
    deliveries = customer_posts(connected_page, customers=3, posts=2)
    assert services.process_deliveries(batch_size=2) == []  # a wake-up, naming none
    assert not WebhookDelivery.objects.exclude(status="processed").exists()
    assert Message.objects.count() == 12 and len(deliveries) == 6


def test_a_task_hands_over_after_its_time(connected_page):
    customer_posts(connected_page, customers=3, posts=2)
    services.process_deliveries(batch_size=2, max_seconds=0)  # one batch, then a new task
    assert WebhookDelivery.objects.filter(status="processed").count() == 2
    assert WebhookDelivery.objects.filter(status="received", attempts=0).count() == 4


@pytest.mark.django_db(transaction=True)  # the late delivery is stored by another connection
def test_a_task_takes_deliveries_stored_while_it_lingers(connected_page):
    customer_posts(connected_page, customers=1, posts=1)

    def store_once_the_task_lingers():
        wait_until(
            lambda: WebhookDelivery.objects.filter(status="processed").exists(),
            interval=0.01,
            message="the first delivery processed",
        )
        store(connected_page, page_body(PAGE_ID, text_item(PAGE_ID, "700009", "late")))
        connection.close()

    thread = threading.Thread(target=store_once_the_task_lingers)
    thread.start()
    # Lingering (and going on) far longer than the thread needs to store its delivery.
    services.process_deliveries(linger_seconds=2, max_seconds=2)
    thread.join()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    assert Message.objects.filter(text="late").exists()


def echo_item(psid, mid, timestamp):
    """A reply the page sent from its inbox (not this app), as Facebook echoes it."""
    return {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": psid},
        "timestamp": timestamp,
        "message": {"mid": mid, "is_echo": True, "app_id": 99, "text": f"reply to {psid}"},
    }


def receipt_item(psid, kind, watermark, mids=()):
    receipt = {"watermark": watermark, **({"mids": list(mids)} if mids else {})}
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, kind: receipt}


def test_receipts_of_a_batch_move_each_customers_own_replies_in_two_statements(connected_page):
    customers = ["700000", "700001", "700002", "700003"]
    t = NOW_MS
    first = [
        store(connected_page, page_body(PAGE_ID, text_item(PAGE_ID, c, "hi"))) for c in customers
    ]
    replies = [
        store(connected_page, page_body(PAGE_ID, echo_item(c, f"m_reply_{c}", t + 10)))
        for c in customers
    ]
    services.process_deliveries([d.pk for d in first + replies])
    receipts = [
        receipt_item("700000", "delivery", t, mids=["m_reply_700000"]),  # by mid
        receipt_item("700001", "read", t + 20),
        receipt_item("700001", "delivery", t + 20),  # after the read: it stays read
        receipt_item("700002", "delivery", t + 5),  # a watermark before the reply
        # Another customer's mid: it moves nothing of theirs (receipts are per customer).
        receipt_item("700003", "delivery", t + 5, mids=["m_reply_700002"]),
    ]
    batch = [store(connected_page, page_body(PAGE_ID, item)) for item in receipts]
    with CaptureQueriesContext(connection) as queries:
        services.process_deliveries([d.pk for d in batch])
    statuses = dict(Message.objects.filter(direction="out").values_list("mid", "status"))
    assert statuses == {
        "m_reply_700000": "delivered",
        "m_reply_700001": "read",
        "m_reply_700002": "sent",
        "m_reply_700003": "sent",
    }
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "agent_desktop_message"')]
    assert len(updates) == 2  # delivered, then read: not one per receipt


def test_a_receipt_covers_a_reply_whose_echo_comes_after_it_in_the_batch(connected_page):
    t = NOW_MS
    customers_first = store(connected_page, page_body(PAGE_ID, text_item(PAGE_ID, "700000", "hi")))
    services.process_deliveries([customers_first.pk])
    receipt = store(connected_page, page_body(PAGE_ID, receipt_item("700000", "delivery", t + 20)))
    echo = store(connected_page, page_body(PAGE_ID, echo_item("700000", "m_reply", t + 10)))
    services.process_deliveries([receipt.pk, echo.pk])
    # The watermark says every message sent up to it was delivered, whatever came first.
    assert Message.objects.get(mid="m_reply").status == "delivered"
