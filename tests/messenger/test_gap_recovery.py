"""Gap recovery end to end: customers write while Facebook has dropped the page's webhook; the
recovery subscribes the page again and stores exactly the missed messages, once, marked
recovered, through the fake Graph API over real HTTP (the sandbox's, served by the app, for the
simulator's scenario)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agent_desktop.models import Contact, Message
from config.celery import app as celery_app
from messenger import graph, health, recovery, services, tasks
from messenger import setup as page_setup
from messenger.models import FacebookPage, PageRecovery, WebhookDelivery
from messenger.sandbox import simulator
from messenger.sandbox.demo import DEMO_PAGE
from messenger.setup import webhook_path
from tests.conftest import PAGE

PAGE_ID = PAGE["page_id"]


def process_all():
    for delivery in WebhookDelivery.objects.filter(status="received"):
        services.process_delivery(delivery.pk)


def recovered_texts():
    return sorted(Message.objects.filter(details__recovered=True).values_list("text", flat=True))


# --- The whole story, through the sandbox's simulator and its fake Graph API -------------------
@pytest.fixture
def demo_page(demo_page, sandbox):
    """The demo page (tests/conftest.py), subscribed to our app as Connect automatically does."""
    sandbox.set_page_subscription(DEMO_PAGE["page_id"], health.WEBHOOK_FIELDS)
    return demo_page


@pytest.mark.django_db(transaction=True)
def test_messages_sent_while_facebook_dropped_the_webhook_are_recovered_once(
    live_server, sandbox, demo_page
):
    webhook_url = live_server.url + webhook_path(demo_page)
    maria = simulator.make_customer(first_name="Maria", last_name="Schmidt")
    jonas = simulator.make_customer(first_name="Jonas", last_name="Okafor")

    def write(customer, text):
        simulator.send(
            page=demo_page, webhook_url=webhook_url, customer=customer, kind="text", text=text
        )

    write(maria, "Before the gap")
    process_all()
    assert Message.objects.count() == 1
    # As if it came 20 minutes ago: the periodic check asks only pages quiet that long.
    gap_started = timezone.now() - timedelta(minutes=20)
    FacebookPage.objects.filter(pk=demo_page.pk).update(last_event_at=gap_started)
    time.sleep(1.1)  # Graph's times are to the second: the gap's messages come after it

    sandbox.drop_subscription(DEMO_PAGE["page_id"])  # Facebook disabled the webhook
    write(maria, "Anyone there?")
    write(maria, "Hello??")
    write(jonas, "I am new here")
    assert WebhookDelivery.objects.count() == 1  # nothing reached the webhook

    queued = []
    assert recovery.check_for_gaps(queued.append)["gaps"] == 1
    assert queued == [demo_page.pk]
    assert tasks.recover_page(demo_page.pk) == {"recovered": 3, "error": ""}

    run = PageRecovery.objects.get()
    assert run.error == "" and run.resubscribed_at is not None
    assert run.gap_started == gap_started
    assert run.recovered_count == 3
    apps = graph.GraphClient.for_page(demo_page).get_subscribed_apps(DEMO_PAGE["page_id"])
    assert [app["id"] for app in apps] == [DEMO_PAGE["app_id"]]  # subscribed again
    assert recovered_texts() == ["Anyone there?", "Hello??", "I am new here"]
    assert Message.objects.get(text="Before the gap").details.get("recovered") is None
    jonas_contact = Contact.objects.get(external_id=jonas.psid)  # made as the webhook would
    assert jonas_contact.entry_point_id == demo_page.entry_point_id
    assert jonas_contact.unread_count == 1
    maria_contact = Contact.objects.get(external_id=maria.psid)
    assert maria_contact.last_message_preview == "Hello??"
    texts = list(maria_contact.messages.values_list("text", flat=True))
    assert texts == ["Before the gap", "Anyone there?", "Hello??"]

    story = health.check_page(demo_page)["recovery"]
    assert story.state == "ok"
    local = timezone.localtime
    assert story.detail == (
        f"Facebook disabled the webhook: no event arrived after {local(gap_started):%H:%M}; "
        f"subscribed again at {local(run.resubscribed_at):%H:%M}; 3 messages recovered."
    )

    again = recovery.recover_page(demo_page.pk)
    assert again.recovered_count == 0 and again.resubscribed_at is None
    assert Message.objects.count() == 4

    write(jonas, "After the gap")  # delivered by the webhook again
    assert WebhookDelivery.objects.count() == 2


# --- Paging and pacing, against the test's fake Graph API --------------------------------------
@pytest.fixture
def page_in_a_gap(connected_page, fake_graph):
    """A page whose last event was 30 minutes ago and whose subscription Facebook dropped."""
    FacebookPage.objects.filter(pk=connected_page.pk).update(
        last_event_at=timezone.now() - timedelta(minutes=30)
    )
    connected_page.refresh_from_db()
    fake_graph.drop_subscription(PAGE_ID)
    return connected_page


def test_recovery_pages_through_conversations_and_messages_at_facebooks_pace(
    page_in_a_gap, fake_graph
):
    now = datetime.now(UTC)
    fake_graph.customer_sent(PAGE_ID, "3001", mid="m_old", text="old", at=now - timedelta(hours=2))
    for n in range(5):
        fake_graph.customer_sent(
            PAGE_ID, "3001", mid=f"m_a{n}", text=f"a{n}", at=now - timedelta(minutes=20 - n)
        )
    fake_graph.customer_sent(PAGE_ID, "3002", mid="m_b", text="b", at=now - timedelta(minutes=9))
    fake_graph.customer_sent(PAGE_ID, "3003", mid="m_c", text="c", at=now - timedelta(minutes=8))
    fake_graph.customer_sent(
        PAGE_ID, "3004", mid="m_d", text="too old", at=now - timedelta(hours=3)
    )

    started = time.monotonic()
    run = recovery.recover_page(page_in_a_gap.pk, page_size=2)
    elapsed = time.monotonic() - started

    assert run.error == ""  # never refused with the rate-limit error
    assert recovered_texts() == ["a0", "a1", "a2", "a3", "a4", "b", "c"]
    assert run.recovered_count == 7
    # Conversations: 2 pages (the one updated 3 h ago ends the listing); 3001's messages: the
    # 2 embedded, then 2 more pages (the second reaches "old").
    assert run.graph_calls == 4
    assert elapsed >= (run.graph_calls - 1) * recovery.CALL_INTERVAL_SECONDS
    assert not Contact.objects.filter(external_id="3004").exists()


def test_page_replies_from_the_inbox_during_the_gap_are_recovered_as_the_pages(
    page_in_a_gap, fake_graph, agent
):
    now = datetime.now(UTC)
    fake_graph.customer_sent(PAGE_ID, "4001", mid="m_q", text="Open today?", at=now)
    client = graph.GraphClient.for_page(page_in_a_gap)
    client.send_message("4001", {"text": "Yes, until 6"}, "RESPONSE")

    run = recovery.recover_page(page_in_a_gap.pk)

    assert run.recovered_count == 2
    reply = Message.objects.get(text="Yes, until 6")
    assert (reply.direction, reply.source, reply.details["recovered"]) == ("out", "page", True)


def test_a_second_run_while_one_is_under_way_does_nothing(page_in_a_gap):
    running = PageRecovery.objects.create(facebook_page=page_in_a_gap, trigger="manual")
    assert recovery.recover_page(page_in_a_gap.pk) is None
    assert PageRecovery.objects.count() == 1
    PageRecovery.objects.filter(pk=running.pk).update(
        started_at=timezone.now() - recovery.STALE_RUN - timedelta(minutes=1)
    )
    assert recovery.close_stale_runs() == 1
    assert recovery.recover_page(page_in_a_gap.pk) is not None


def test_a_revoked_token_stops_the_run_with_a_plain_error(page_in_a_gap, fake_graph):
    fake_graph.expire_token(PAGE["access_token"])
    run = recovery.recover_page(page_in_a_gap.pk)
    assert run.error == "Facebook rejected the Page Access Token: paste a new one."
    assert run.finished_at is not None
    page_in_a_gap.refresh_from_db()
    assert page_in_a_gap.token_status == "invalid"
    assert health.check_page(page_in_a_gap)["recovery"].state == "error"


def test_the_periodic_check_queues_a_recovery_only_for_quiet_pages_facebook_unsubscribed(
    connected_page, fake_graph, campaign
):
    quiet = timezone.now() - recovery.QUIET_BEFORE_CHECK - timedelta(minutes=1)
    FacebookPage.objects.filter(pk=connected_page.pk).update(last_event_at=quiet)
    fake_graph.set_page_subscription(PAGE_ID, health.WEBHOOK_FIELDS)
    never_live = page_setup.facebook_page_entry_point_create(campaign=campaign, name="New page")
    queued = []

    assert recovery.check_for_gaps(queued.append) == {"checked": 1, "gaps": 0, "failed": 0}
    fake_graph.drop_subscription(PAGE_ID)
    assert recovery.check_for_gaps(queued.append) == {"checked": 1, "gaps": 1, "failed": 0}
    assert queued == [connected_page.pk]
    assert never_live.facebook_page.pk not in queued

    # Events arriving: the page is subscribed, nothing to ask.
    FacebookPage.objects.filter(pk=connected_page.pk).update(last_event_at=timezone.now())
    assert recovery.check_for_gaps(queued.append) == {"checked": 0, "gaps": 0, "failed": 0}


def test_a_message_without_text_is_recovered_as_an_attachment_to_open_in_the_inbox(
    page_in_a_gap, fake_graph
):
    fake_graph.customer_sent(PAGE_ID, "8001", mid="m_photo", text="")
    assert recovery.recover_page(page_in_a_gap.pk).recovered_count == 1
    photo = Message.objects.get(mid="m_photo")
    assert (photo.kind, photo.attachments) == ("attachment", [{"type": "attachment", "url": ""}])


def test_a_manual_run_fetches_the_last_day_even_when_events_came_since(connected_page, fake_graph):
    """After an outage Facebook retried for a while and then dropped what it could not
    deliver, without unsubscribing: new events moved the last event past the gap."""
    fake_graph.set_page_subscription(PAGE_ID, health.WEBHOOK_FIELDS)
    FacebookPage.objects.filter(pk=connected_page.pk).update(last_event_at=timezone.now())
    fake_graph.customer_sent(
        PAGE_ID, "5001", mid="m_lost", text="lost", at=datetime.now(UTC) - timedelta(hours=5)
    )
    run = recovery.recover_page(connected_page.pk, trigger=PageRecovery.Trigger.MANUAL)
    assert run.recovered_count == 1 and run.resubscribed_at is None
    assert "Recover pressed at" in health.check_page(connected_page)["recovery"].detail


def test_recover_on_the_health_card_queues_a_run(
    admin_client, connected_page, fake_graph, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    url = reverse("messenger_builder:recover", args=[connected_page.entry_point_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 200
    assert b'data-testid="recovery-queued"' in response.content
    assert sent == [
        ("messenger.tasks.recover_page", {"args": [connected_page.pk, "manual"], "retry": False})
    ]


def test_the_desk_notes_a_recovered_message(page_in_a_gap, fake_graph, admin_client):
    fake_graph.customer_sent(PAGE_ID, "6001", mid="m_r", text="Still there?")
    recovery.recover_page(page_in_a_gap.pk)
    contact = Contact.objects.get(external_id="6001")
    html = admin_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert 'data-testid="recovered"' in html and "Still there?" in html


def test_a_rate_limit_refusal_is_waited_out_once(page_in_a_gap, fake_graph):
    """Facebook counts the page's calls from every app and server: a refusal can come anyway."""
    fake_graph.customer_sent(PAGE_ID, "9001", mid="m_wait", text="Hello")
    fake_graph.fail_next("613_rate_limit", path_contains="/conversations")
    started = time.monotonic()
    run = recovery.recover_page(page_in_a_gap.pk)
    assert run.error == "" and run.recovered_count == 1
    assert time.monotonic() - started >= recovery.RATE_LIMIT_WAIT_SECONDS
