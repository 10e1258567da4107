"""Replay and routing: a body signed for one entry point creates nothing under another, entries
of pages we don't serve are kept as ignored, concurrent and repeated deliveries store each
customer and message once (the database's unique constraints decide), and events delivered out
of order show in timestamp order."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop.models import Contact, Message
from messenger import services
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import (
    encode_like_facebook,
    page_body,
    post_signed,
    signature_headers,
    text_item,
)
from tests.conftest import PAGE, connect_page
from tests.messenger.conftest import load_payload
from tests.processes import wait_until

PAGE_ID = PAGE["page_id"]
# Another brand's page, on another Facebook app (so another App Secret).
OTHER_APP_PAGE = {
    "page_id": "223344556677889",
    "name": "Other Brand",
    "access_token": "EAAGotherBrandPageAccessToken9876543210zyx",
    "app_id": "6543210987654321",
    "app_secret": "fedcba9876543210fedcba9876543210",
}
# A second page of our own app (Facebook sends one app's events for all its pages to one URL).
SAME_APP_PAGE = {
    **PAGE,
    "page_id": "334455667788990",
    "name": "Acme Outlet",
    "access_token": "EAAGacmeOutletPageAccessToken0123456789ab",
}


def connect(fake_graph, campaign, name, page):
    fake_graph.add_page(**page)
    entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name=name)
    return connect_page(entry_point, page)


def post(client, page, body, secret):
    return client.post(
        page_setup.webhook_path(page),
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature_headers(body, secret)["X-Hub-Signature-256"]},
    )


def process_all():
    for delivery_id in WebhookDelivery.objects.filter(status="received").values_list(
        "pk", flat=True
    ):
        services.process_delivery(delivery_id)


RECORDED = ["01", "02", "04", "06", "08", "09", "12", "14", "17", "19", "20", "27", "29", "40"]


def test_a_body_signed_for_one_entry_point_creates_nothing_under_another(
    client, connected_page, fake_graph, other_campaign, counts
):
    other = connect(fake_graph, other_campaign, "Other brand page", OTHER_APP_PAGE)
    bodies = [encode_like_facebook(load_payload(name)) for name in RECORDED]
    statuses = [post(client, other, body, PAGE["app_secret"]).status_code for body in bodies]
    assert statuses == [403] * len(bodies)
    # The same bodies, correctly signed for entry point A, are fine there.
    assert [post(client, connected_page, b, PAGE["app_secret"]).status_code for b in bodies] == [
        200
    ] * len(bodies)
    process_all()
    under_b = {
        "deliveries": WebhookDelivery.objects.filter(facebook_page=other).count(),
        "contacts": Contact.objects.filter(entry_point=other.entry_point).count(),
        "messages": Message.objects.filter(contact__entry_point=other.entry_point).count(),
    }
    assert under_b == {"deliveries": 0, "contacts": 0, "messages": 0}
    assert Contact.objects.filter(entry_point=connected_page.entry_point).exists()
    counts(
        "replayed to another entry point",
        tried=len(statuses),
        rejected=statuses.count(403),
        stored_under_B=under_b["deliveries"],
        contacts_under_B=under_b["contacts"],
    )


def test_a_body_of_one_page_posted_to_a_sibling_page_of_the_same_app_goes_to_its_own_page(
    client, connected_page, fake_graph, campaign, counts
):
    """One app, two pages: the signature is the app's, so the sibling's URL accepts the body,
    but its entries are routed by `entry[].id` to the page they belong to."""
    sibling = connect(fake_graph, campaign, "Outlet page", SAME_APP_PAGE)
    bodies = [encode_like_facebook(load_payload(name)) for name in ("01", "04", "20")]
    statuses = [post(client, sibling, body, PAGE["app_secret"]).status_code for body in bodies]
    assert statuses == [200] * len(bodies)
    process_all()
    under_the_sibling = Contact.objects.filter(entry_point=sibling.entry_point).count()
    under_their_own_page = Contact.objects.filter(entry_point=connected_page.entry_point).count()
    assert (under_the_sibling, under_their_own_page) == (0, 1)
    counts(
        "posted to a sibling page of the same app",
        tried=len(statuses),
        accepted=statuses.count(200),
        contacts_under_the_sibling=under_the_sibling,
        contacts_under_their_own_page=under_their_own_page,
    )


def test_entries_of_pages_we_do_not_serve_are_stored_as_ignored(
    client, connected_page, fake_graph, other_campaign, counts
):
    other = connect(fake_graph, other_campaign, "Other brand page", OTHER_APP_PAGE)
    psid = "6599999999999999"
    bodies = [
        page_body("998877665544332", text_item("998877665544332", psid, "nobody serves this")),
        # Our own page on another app: an app must not inject events into another app's page.
        page_body(other.page_id, text_item(other.page_id, psid, "not this app's page")),
    ]
    statuses = [
        post(client, connected_page, encode_like_facebook(b), PAGE["app_secret"]).status_code
        for b in bodies
    ]
    assert statuses == [200, 200]
    process_all()
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.status for d in deliveries] == ["ignored", "ignored"]
    assert all("is not served here" in d.last_error for d in deliveries)
    contacts, messages = Contact.objects.count(), Message.objects.count()
    assert (contacts, messages) == (0, 0)
    counts(
        "entries of pages we don't serve",
        tried=len(statuses),
        stored=len(deliveries),
        ignored=sum(d.status == "ignored" for d in deliveries),
        contacts=contacts,
        messages=messages,
    )


def test_uniqueness_is_a_database_constraint_not_a_look_up(connected_page):
    """Two workers can both look and both find nothing; only a unique index stops the second."""
    with connection.cursor() as cursor:
        tables = {
            table: connection.introspection.get_constraints(cursor, table)
            for table in ("agent_desktop_message", "agent_desktop_contact")
        }
    unique_columns = {
        table: {tuple(c["columns"]) for c in constraints.values() if c["unique"]}
        for table, constraints in tables.items()
    }
    assert {("mid",), ("event_key",)} <= unique_columns["agent_desktop_message"]
    assert ("entry_point_id", "external_id") in unique_columns["agent_desktop_contact"]
    contact = Contact.objects.create(
        channel="messenger", entry_point=connected_page.entry_point, external_id="65001"
    )
    row = {"contact": contact, "direction": "in", "mid": "m_once", "sent_at": timezone.now()}
    Message.objects.bulk_create([Message(**row)])  # no look-up: straight INSERTs
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.bulk_create([Message(**row)])
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.bulk_create(
            [
                Contact(
                    channel="messenger", entry_point=connected_page.entry_point, external_id="65001"
                )
            ]
        )


def test_events_delivered_in_reverse_order_show_in_timestamp_order(
    client, connected_page, agent, counts
):
    psid = "6512345678901234"
    start = int(timezone.now().timestamp() * 1000) - 60_000
    texts = [f"part {n}" for n in range(1, 7)]
    statuses = []
    for n, text in reversed(list(enumerate(texts))):  # the last one arrives first
        body = page_body(PAGE_ID, text_item(PAGE_ID, psid, text, timestamp=start + n * 1000))
        statuses.append(
            post(client, connected_page, encode_like_facebook(body), PAGE["app_secret"]).status_code
        )
    assert statuses == [200] * len(texts)
    arrival = list(WebhookDelivery.objects.order_by("pk"))
    assert [json.loads(d.body)["entry"][0]["messaging"][0]["message"]["text"] for d in arrival] == (
        texts[::-1]
    )
    for delivery in arrival:  # processed in arrival order: the last one first
        services.process_delivery(delivery.pk)
    contact = Contact.objects.get()
    client.force_login(agent)
    html = client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    conversation = html[html.index('data-testid="messages"') :]
    shown = [text for text in texts if text in conversation]
    in_page = sorted(shown, key=conversation.index)
    api = APIClient()
    api.force_authenticate(agent)
    in_api = [m["text"] for m in api.get(f"/api/contacts/{contact.pk}/messages/").json()["results"]]
    assert in_page == in_api == texts
    contact.refresh_from_db()
    assert contact.last_message_preview == texts[-1]
    counts(
        "delivered in reverse order",
        posted=statuses.count(200),
        stored=Message.objects.filter(contact=contact).count(),
        in_timestamp_order_on_the_desktop=len(in_page),
        in_timestamp_order_in_the_api=len(in_api),
    )


# --- On real processes: the app in its own server, a Celery worker -------------------------
def signed_post(url, body):
    response = post_signed(url, body, PAGE["app_secret"])
    assert response.status_code == 200, response.text
    return response


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_first_messages_from_one_customer_give_one_contact(
    live_server, connected_page, start_worker, counts
):
    start_worker(concurrency=2)
    url = live_server.url + page_setup.webhook_path(connected_page)
    bodies = [
        page_body(PAGE_ID, text_item(PAGE_ID, "9100000000000001", f"hello {n}")) for n in range(20)
    ]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answered = list(pool.map(lambda body: signed_post(url, body), bodies))
    wait_until(lambda: Message.objects.count() == 20, message="20 messages")
    contacts = list(Contact.objects.all())
    assert len(contacts) == 1
    assert contacts[0].unread_count == 20
    counts(
        "concurrent first messages",
        posted=len(answered),
        contacts=len(contacts),
        messages=Message.objects.count(),
    )


@pytest.mark.django_db(transaction=True)
def test_the_same_body_five_times_in_a_row_and_at_once_gives_one_message(
    live_server, connected_page, start_worker, counts
):
    start_worker(concurrency=2)
    url = live_server.url + page_setup.webhook_path(connected_page)
    in_a_row = page_body(PAGE_ID, text_item(PAGE_ID, "9200000000000002", "again"))
    at_once = page_body(PAGE_ID, text_item(PAGE_ID, "9200000000000002", "together"))
    answered = [signed_post(url, in_a_row) for _ in range(5)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        answered += pool.map(lambda _: signed_post(url, at_once), range(5))
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="processed").count() == 10,
        message="10 deliveries processed",
    )
    assert sorted(Message.objects.values_list("text", flat=True)) == ["again", "together"]
    assert Contact.objects.get().unread_count == 2
    counts(
        "duplicates",
        posted=len(answered),
        stored_deliveries=WebhookDelivery.objects.count(),
        messages=Message.objects.count(),
    )
