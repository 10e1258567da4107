"""Processing stored deliveries into contacts and messages (the worker's job, run in-process)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agent_desktop.models import Contact, Message
from messenger import services
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import page_body, text_item
from tests.conftest import PAGE
from tests.messenger.conftest import PSID

PAGE_ID = PAGE["page_id"]


def contact():
    return Contact.objects.get(external_id=PSID)


def test_a_text_message_makes_a_contact_and_a_message(deliver, payload, connected_page):
    delivery = deliver(payload("01"))
    assert delivery.status == "processed" and delivery.event_kinds == ["message"]
    customer = contact()
    assert customer.entry_point == connected_page.entry_point
    assert customer.channel == "messenger" and customer.status == "new"
    assert customer.unread_count == 1
    assert customer.last_message_preview == "Hi, I need help with my order #4521"
    assert customer.name == "Messenger user ·1234"  # until the profile arrives
    (message,) = customer.messages.all()
    assert (message.direction, message.kind, message.status) == ("in", "text", "received")
    assert message.mid.startswith("m_kX3vQ9")
    assert message.sent_at.isoformat() == "2026-01-01T00:00:00+00:00"
    connected_page.refresh_from_db()
    assert connected_page.last_event_at == delivery.received_at


def test_the_same_delivery_processed_twice_yields_one_message(deliver, payload):
    body = payload("01")
    first = deliver(body)
    services.process_delivery(first.pk)
    deliver(body)  # Facebook's retry: the same event in another delivery
    assert Message.objects.count() == 1
    assert contact().unread_count == 1


@pytest.mark.parametrize(
    ("name", "kind", "attachment_types"),
    [
        ("02", "text", []),
        ("03", "text", []),
        ("04", "attachment", ["image"]),
        ("05", "attachment", ["image", "image"]),
        ("06", "attachment", ["video"]),
        ("07", "attachment", ["audio"]),
        ("08", "attachment", ["file"]),
        ("09", "attachment", ["location"]),
        ("10", "attachment", ["fallback"]),
        ("11", "attachment", ["fallback"]),
        ("12", "attachment", ["image"]),
        ("13", "attachment", ["template"]),
    ],
)
def test_messages_of_every_shape_are_stored_with_their_attachments(
    deliver, payload, name, kind, attachment_types
):
    deliver(payload(name))
    (message,) = Message.objects.all()
    assert message.kind == kind
    assert [a["type"] for a in message.attachments] == attachment_types


def test_quick_replies_and_replies_keep_their_details(deliver, payload):
    deliver(payload("02"))
    quick_reply = Message.objects.get()
    assert (
        quick_reply.details["quick_reply_payload"]
        == payload("02")["entry"][0]["messaging"][0]["message"]["quick_reply"]["payload"]
    )
    Message.objects.all().delete()
    deliver(payload("03"))
    assert Message.objects.get().details["reply_to_mid"].startswith("m_")


def test_an_echo_of_our_own_send_confirms_it(deliver, payload, connected_page):
    deliver(payload("01"))
    echo = payload("14")
    mid = echo["entry"][0]["messaging"][0]["message"]["mid"]
    ours = Message.objects.create(
        contact=contact(),
        direction="out",
        status="queued",
        text="Hello!",
        mid=mid,
        source="agent",
        sent_at=timezone.now(),
    )
    deliver(echo)
    ours.refresh_from_db()
    assert ours.status == "sent"
    assert Message.objects.filter(direction="out").count() == 1


def test_an_echo_from_the_page_inbox_is_stored_as_outgoing(deliver, payload):
    deliver(payload("15"))
    (message,) = Message.objects.all()
    assert (message.direction, message.source, message.status) == ("out", "page", "sent")
    assert message.text == "Replying from Business Suite"
    assert contact().unread_count == 0


def test_delivery_and_read_receipts_move_our_messages(deliver, payload):
    deliver(payload("14"))  # our message, known through its echo
    (message,) = Message.objects.all()
    assert message.status == "sent"
    deliver(payload("17"))
    message.refresh_from_db()
    assert message.status == "delivered"
    deliver(payload("19"))
    message.refresh_from_db()
    assert message.status == "read"
    deliver(payload("17"))  # a late delivery receipt never moves it back
    message.refresh_from_db()
    assert message.status == "read"


def test_a_watermark_only_delivery_covers_earlier_messages(deliver, payload):
    deliver(payload("14"))
    deliver(payload("18"))
    assert Message.objects.get().status == "delivered"


def test_postbacks_referrals_and_reactions_are_shown_once(deliver, payload):
    for name in ("20", "22", "27", "28", "20", "22", "27"):
        deliver(payload(name))
    kinds = sorted(Message.objects.values_list("kind", flat=True))
    assert kinds == ["postback", "reaction", "reaction", "referral"]
    postback = Message.objects.get(kind="postback")
    assert postback.text == "Talk to an agent" and postback.details["payload"] == "HANDOFF_HUMAN"
    assert contact().unread_count == 1  # only the postback is the customer writing


def test_standby_events_are_stored_and_show_another_app_answers(deliver, payload):
    deliver(payload("29"))
    assert contact().channel_details["answered_elsewhere"] is True
    assert Message.objects.get().details["standby"] is True
    deliver(payload("30"))  # thread control passed to us
    assert contact().channel_details["answered_elsewhere"] is False


def test_several_entries_and_events_in_one_post_in_order(deliver, payload):
    delivery = deliver(payload("40"))
    assert delivery.status == "processed"
    texts = list(Message.objects.values_list("text", flat=True))
    assert texts[:2] == ["first", "second"]
    assert "998877665544332 is not served here" in delivery.last_error


def test_an_entry_of_another_page_of_the_same_app_goes_to_that_page(
    deliver, payload, connected_page, campaign
):
    other = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Other page")
    other_page = other.facebook_page
    other_page.app_id, other_page.page_id = PAGE["app_id"], "998877665544332"
    other_page.save()
    deliver(payload("40"))
    assert Contact.objects.filter(entry_point=other).exists()


def test_unknown_objects_and_kinds_are_ignored_not_failed(deliver, payload):
    assert deliver({"object": "instagram", "entry": []}).status == "ignored"
    assert deliver("[1, 2]").status == "ignored"
    assert deliver(payload("24")).status == "ignored"  # chat plugin: user_ref only
    assert Message.objects.count() == 0


def test_a_closed_contact_reopens_when_the_customer_writes(deliver):
    deliver(page_body(PAGE_ID, text_item(PAGE_ID, PSID, "one")))
    Contact.objects.update(status="closed")
    deliver(page_body(PAGE_ID, text_item(PAGE_ID, PSID, "two")))
    assert contact().status == "new"


def test_events_arriving_in_reverse_order_show_in_timestamp_order(deliver):
    t = int(timezone.now().timestamp() * 1000)
    for offset, text in [(2000, "third"), (1000, "second"), (0, "first")]:
        deliver(page_body(PAGE_ID, text_item(PAGE_ID, PSID, text, timestamp=t + offset)))
    assert list(contact().messages.values_list("text", flat=True)) == ["first", "second", "third"]
    assert contact().last_message_preview == "third"


def test_a_delivery_that_keeps_failing_ends_as_failed(connected_page):
    delivery = WebhookDelivery.objects.create(facebook_page=connected_page, body="{}")
    for attempt in range(1, services.MAX_PROCESSING_ATTEMPTS + 1):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=attempt)
        retry = services.record_processing_failure(delivery.pk, RuntimeError("boom"))
        assert retry is (attempt < services.MAX_PROCESSING_ATTEMPTS)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.last_error == "RuntimeError: boom"
    connected_page.refresh_from_db()
    assert f"Webhook delivery {delivery.pk} could not be processed" in connected_page.last_error


def test_an_admin_processes_a_failed_delivery_again_without_doubling(
    admin_client, deliver, payload, django_capture_on_commit_callbacks
):
    delivery = deliver(payload("01"))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=5)
    admin_client.force_login(User.objects.create_superuser("root", password="x"))
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/messenger/webhookdelivery/",
            {"action": "process_again", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302 and len(callbacks) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("received", 0)
    services.process_delivery(delivery.pk)  # what the enqueued task does
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert Message.objects.count() == 1


def test_the_sweep_enqueues_deliveries_left_unprocessed_once_per_period(
    connected_page, django_capture_on_commit_callbacks
):
    stale = WebhookDelivery.objects.create(facebook_page=connected_page, body="{}")
    fresh = WebhookDelivery.objects.create(facebook_page=connected_page, body="{}")
    done = WebhookDelivery.objects.create(
        facebook_page=connected_page, body="{}", status="processed"
    )
    old = timezone.now() - timedelta(minutes=5)
    WebhookDelivery.objects.filter(pk__in=[stale.pk, done.pk]).update(received_at=old)
    assert services.sweep_stale_deliveries() == 1
    stale.refresh_from_db()
    assert stale.swept_at is not None
    fresh.refresh_from_db()
    assert fresh.swept_at is None
    assert services.sweep_stale_deliveries() == 0  # not again within the period
