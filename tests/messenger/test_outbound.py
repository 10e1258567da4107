"""Agents' replies sent through the Send API of the fake Graph API, over HTTP."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from agent_desktop.models import Contact, Message
from messenger import graph, outbound
from messenger.sandbox.facebook_webhooks import page_body
from messenger.tasks import send_message as send_task
from tests.conftest import PAGE
from tests.fixtures.files import HTML_PAGE, SCRIPT, image_bytes
from tests.processes import wait_until

PSID = "6512345678901234"
PNG = image_bytes("PNG")


@pytest.fixture
def customer(connected_page, fake_graph):
    """A customer who wrote five minutes ago (for us and for the fake Graph API alike)."""
    return make_customer(connected_page, fake_graph, wrote_ago=timedelta(minutes=5))


def make_customer(connected_page, fake_graph, *, wrote_ago, psid=PSID):
    wrote_at = None if wrote_ago is None else timezone.now() - wrote_ago
    if wrote_at is not None:
        fake_graph.customer_wrote(psid, wrote_at)
    return Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id=psid,
        last_inbound_at=wrote_at,
    )


def reply(contact, text="Your order shipped today.", **fields):
    return Message.objects.create(
        contact=contact,
        direction="out",
        status="queued",
        text=text,
        sent_at=timezone.now(),
        source="agent",
        **fields,
    )


def send_calls(fake_graph):
    return fake_graph.calls_to("POST", "/me/messages")


def reloaded(message):
    message.refresh_from_db()
    return message


def echo_of(mid, metadata, text="Your order shipped today."):
    return page_body(
        PAGE["page_id"],
        {
            "sender": {"id": PAGE["page_id"]},
            "recipient": {"id": PSID},
            "timestamp": int(timezone.now().timestamp() * 1000),
            "message": {
                "mid": mid,
                "is_echo": True,
                "app_id": int(PAGE["app_id"]),
                "metadata": metadata,
                "text": text,
            },
        },
    )


# --- The reply window ------------------------------------------------------------------------
def test_the_reply_window_is_a_response_inside_24_hours_and_human_agent_until_7_days():
    now = timezone.now()
    wrote = now - timedelta(hours=3)
    window = outbound.reply_window(Contact(channel="messenger", last_inbound_at=wrote), now=now)
    assert (window.can_reply, window.messaging_type, window.tag) == (True, "RESPONSE", None)
    assert window.closes_at == wrote + timedelta(hours=24)
    assert window.human_agent_until == wrote + timedelta(days=7)

    wrote = now - timedelta(hours=24)
    window = outbound.reply_window(Contact(channel="messenger", last_inbound_at=wrote), now=now)
    assert (window.can_reply, window.messaging_type, window.tag) == (
        True,
        "MESSAGE_TAG",
        "HUMAN_AGENT",
    )
    assert window.closes_at == wrote + timedelta(days=7)

    window = outbound.reply_window(
        Contact(channel="messenger", last_inbound_at=now - timedelta(days=7)), now=now
    )
    assert not window.can_reply and window.messaging_type is None
    assert "more than 7 days ago" in window.reason


def test_no_reply_window_is_open_before_the_customer_writes():
    window = outbound.reply_window(Contact(channel="messenger", last_inbound_at=None))
    assert not window.can_reply and window.closes_at is None
    assert "hasn't written" in window.reason


# --- Sending ---------------------------------------------------------------------------------
def test_a_reply_inside_24_hours_is_sent_as_a_response_and_keeps_its_mid(customer, fake_graph):
    message = reply(customer)
    outbound.send_message(message.pk)

    (accepted,) = fake_graph.sent_messages(PSID)
    message = reloaded(message)
    assert (message.status, message.mid, message.error) == ("sent", accepted["message_id"], "")
    (call,) = send_calls(fake_graph)
    assert call.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Your order shipped today.", "metadata": f"cb:{message.pk}"},
    }
    assert call.query["appsecret_proof"] == graph.appsecret_proof(
        PAGE["access_token"], PAGE["app_secret"]
    )
    assert "send_started_at" not in message.details


def test_a_reply_two_days_later_carries_the_human_agent_tag(connected_page, fake_graph):
    customer = make_customer(connected_page, fake_graph, wrote_ago=timedelta(days=2))
    message = reply(customer)
    outbound.send_message(message.pk)
    assert reloaded(message).status == "sent"
    (accepted,) = fake_graph.sent_messages(PSID)
    assert (accepted["messaging_type"], accepted["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert message.details["tag"] == "HUMAN_AGENT"


def test_a_reply_after_7_days_fails_without_asking_facebook(connected_page, fake_graph):
    customer = make_customer(connected_page, fake_graph, wrote_ago=timedelta(days=8))
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed" and message.mid is None
    assert message.error.startswith(
        "The customer last wrote more than 7 days ago; Messenger allows no reply after that."
    )
    assert send_calls(fake_graph) == []


def test_a_customer_who_never_wrote_is_not_messaged(connected_page, fake_graph):
    customer = make_customer(connected_page, fake_graph, wrote_ago=None)
    message = reply(customer)
    outbound.send_message(message.pk)
    assert reloaded(message).status == "failed"
    assert send_calls(fake_graph) == []


def test_a_text_longer_than_messenger_takes_fails_without_asking_facebook(customer, fake_graph):
    message = reply(customer, text="x" * 2001)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed" and "2001 characters" in message.error
    assert send_calls(fake_graph) == []


def test_the_longest_text_messenger_takes_is_sent(customer, fake_graph):
    message = reply(customer, text="x" * 1999)
    outbound.send_message(message.pk)
    assert reloaded(message).status == "sent"


def test_a_file_over_25_mb_fails_without_asking_facebook(customer, fake_graph):
    message = reply(customer, text="")
    message.upload.save("film.mp4", ContentFile(b"\0" * (25 * 1024 * 1024 + 1)))
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert message.error == "The file is larger than Messenger's 25 MB limit."
    assert fake_graph.calls_to("POST", "/me/message_attachments") == send_calls(fake_graph) == []


def test_a_picture_is_uploaded_and_then_sent_by_its_attachment_id(customer, fake_graph):
    message = reply(customer, text="", kind="attachment", attachments=[{"type": "image"}])
    message.upload.save("receipt.png", ContentFile(PNG))
    outbound.send_message(message.pk)

    (upload,) = fake_graph.uploaded_attachments()
    assert (upload["type"], upload["filename"], upload["content_type"]) == (
        "image",
        "receipt.png",
        "image/png",
    )
    assert upload["content"] == PNG
    (upload_call,) = fake_graph.calls_to("POST", "/me/message_attachments")
    assert upload_call.query["appsecret_proof"]
    (accepted,) = fake_graph.sent_messages(PSID)
    assert accepted["message"]["attachment"] == {
        "type": "image",
        "payload": {"attachment_id": upload["attachment_id"]},
    }
    message = reloaded(message)
    assert message.status == "sent" and message.mid == accepted["message_id"]


def test_a_document_goes_as_a_file_and_is_uploaded_only_once_across_retries(customer, fake_graph):
    message = reply(customer, text="", kind="attachment", attachments=[{"type": "file"}])
    message.upload.save("invoice.pdf", ContentFile(b"%PDF-1.4 invoice"))
    fake_graph.fail_next("1200_temporary_send_failure", path_contains="/me/messages")
    with pytest.raises(graph.Transient):
        outbound.send_message(message.pk)
    assert reloaded(message).status == "queued"
    outbound.send_message(message.pk)  # the retry

    (upload,) = fake_graph.uploaded_attachments()
    assert (upload["type"], upload["content_type"]) == ("file", "application/pdf")
    assert reloaded(message).status == "sent"


@pytest.mark.parametrize(
    ("name", "content", "label"),
    [
        ("p.gif", SCRIPT, "application/octet-stream"),
        ("photo.png", HTML_PAGE, "application/octet-stream"),
        ("clip.mp4", SCRIPT, "application/octet-stream"),
        ("p.js", SCRIPT, "text/javascript"),
    ],
)
def test_a_file_that_is_no_image_goes_as_a_file_whatever_it_was_called_or_declared(
    customer, fake_graph, name, content, label
):
    message = reply(
        customer, text="", kind="attachment", attachments=[{"type": "image", "name": name}]
    )
    message.upload.save("stored.bin", ContentFile(content))
    outbound.send_message(message.pk)

    (upload,) = fake_graph.uploaded_attachments()
    assert (upload["type"], upload["filename"], upload["content_type"]) == ("file", name, label)
    (accepted,) = fake_graph.sent_messages(PSID)
    assert accepted["message"]["attachment"]["type"] == "file"


def test_a_message_with_both_text_and_a_file_is_refused(customer, fake_graph):
    message = reply(customer, text="here it is", attachments=[{"type": "file"}])
    message.upload.save("invoice.pdf", ContentFile(b"%PDF-1.4"))
    outbound.send_message(message.pk)
    assert reloaded(message).status == "failed" and "either text or one file" in message.error
    assert fake_graph.calls_to("POST", "/me/message_attachments") == []


# --- Facebook says no ------------------------------------------------------------------------
def test_a_rejected_token_fails_the_reply_and_marks_the_page_invalid(
    customer, fake_graph, connected_page
):
    fake_graph.fail_next("190_463_token_expired", path_contains="/me/messages")
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert "paste a new Page Access Token" in message.error
    connected_page.refresh_from_db()
    assert connected_page.token_status == "invalid"
    assert "while sending a reply" in connected_page.last_error

    later = reply(customer, text="Anyone there?")
    outbound.send_message(later.pk)
    assert reloaded(later).status == "failed"
    assert len(send_calls(fake_graph)) == 1  # not asked again with the refused token


def test_facebooks_own_window_refusal_is_explained(connected_page, fake_graph):
    customer = make_customer(connected_page, fake_graph, wrote_ago=timedelta(hours=1))
    fake_graph.customer_wrote(PSID, timezone.now() - timedelta(days=8))  # Facebook knows better
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert "outside the 24-hour window" in message.error


def test_a_person_who_blocked_the_page_is_explained(customer, fake_graph):
    fake_graph.block(PSID)
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert message.error == (
        "This person isn't available on Messenger right now (they may have blocked the page)."
    )


def test_an_app_in_development_mode_answers_only_people_with_a_role(customer, fake_graph):
    fake_graph.add_page(**PAGE, app_live=False)
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert "development mode" in message.error and "App Review" in message.error

    fake_graph.add_role(PSID)
    again = reply(customer)
    outbound.send_message(again.pk)
    assert reloaded(again).status == "sent"


def test_a_missing_pages_messaging_permission_points_at_app_review(customer, fake_graph):
    fake_graph.fail_next("230_requires_pages_messaging")
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert "pages_messaging" in message.error and "App Review" in message.error


def test_an_invalid_request_shows_facebooks_message(customer, fake_graph):
    fake_graph.fail_next("100_2018109_attachment_too_large")
    message = reply(customer)
    outbound.send_message(message.pk)
    assert reloaded(message).error == (
        "Facebook refused the message: (#100) Attachment size exceeds allowable limit"
    )


# --- Retries ---------------------------------------------------------------------------------
def test_a_rate_limit_is_retried_until_the_reply_goes_out(customer, fake_graph):
    fake_graph.fail_next("613_rate_limit", times=2, path_contains="/me/messages")
    message = reply(customer)
    result = send_task.apply(args=[message.pk])  # eager: the retries run at once
    assert result.successful()
    assert reloaded(message).status == "sent"
    assert len(send_calls(fake_graph)) == 3
    assert len(fake_graph.sent_messages(PSID)) == 1


def test_a_server_error_is_retried_until_the_reply_goes_out(customer, fake_graph):
    fake_graph.fail_next_with_status(502, path_contains="/me/messages")
    message = reply(customer)
    assert send_task.apply(args=[message.pk]).successful()
    message = reloaded(message)
    assert message.status == "sent" and message.mid
    assert len(send_calls(fake_graph)) == 2


def test_when_the_retries_run_out_the_reply_fails_with_the_last_error(customer, fake_graph):
    fake_graph.fail_next("1200_temporary_send_failure", times=10, path_contains="/me/messages")
    message = reply(customer)
    send_task.apply(args=[message.pk])
    message = reloaded(message)
    assert message.status == "failed"
    assert message.error.startswith("Facebook kept failing: Facebook had a temporary problem")
    assert len(send_calls(fake_graph)) == 6  # the first try and five retries


# --- Exactly once ----------------------------------------------------------------------------
def test_a_sent_reply_is_not_sent_again(customer, fake_graph):
    message = reply(customer)
    outbound.send_message(message.pk)
    outbound.send_message(message.pk)
    send_task.apply(args=[message.pk])
    assert len(send_calls(fake_graph)) == 1
    assert reloaded(message).status == "sent"


def test_a_reply_another_worker_is_sending_is_left_to_it(customer, fake_graph):
    message = reply(customer)
    Message.objects.filter(pk=message.pk).update(
        details={"send_started_at": timezone.now().isoformat()}
    )
    with pytest.raises(graph.OutcomeUnknown):
        outbound.send_message(message.pk)  # the task retries later
    assert reloaded(message).status == "queued"
    assert send_calls(fake_graph) == []


def test_the_parts_of_a_long_reply_go_out_in_order_whichever_task_runs_first(customer, fake_graph):
    first, second = reply(customer, text="Part one"), reply(customer, text="Part two")
    outbound.send_message(second.pk)
    assert [s["message"]["text"] for s in fake_graph.sent_messages(PSID)] == [
        "Part one",
        "Part two",
    ]
    assert reloaded(first).status == reloaded(second).status == "sent"
    outbound.send_message(first.pk)  # its own task, later
    assert len(send_calls(fake_graph)) == 2


def test_a_later_part_waits_for_an_earlier_part_another_worker_is_sending(
    customer, fake_graph, settings
):
    settings.GRAPH_API_TIMEOUT = 0.1  # how long a send may take bounds the wait
    first, second = reply(customer, text="Part one"), reply(customer, text="Part two")
    Message.objects.filter(pk=first.pk).update(
        details={"send_started_at": timezone.now().isoformat(), "send_attempts": 1}
    )
    with pytest.raises(graph.OutcomeUnknown):
        outbound.send_message(second.pk)  # the task retries later
    assert send_calls(fake_graph) == []
    Message.objects.filter(pk=first.pk).update(status="sent", mid="m_part_one", details={})
    outbound.send_message(second.pk)
    assert reloaded(second).status == "sent"


def test_the_echo_of_our_reply_leaves_exactly_one_outgoing_message(customer, fake_graph, deliver):
    message = reply(customer)
    outbound.send_message(message.pk)
    message = reloaded(message)
    deliver(echo_of(message.mid, f"cb:{message.pk}"))
    (outgoing,) = Message.objects.filter(contact=customer, direction="out")
    assert (outgoing.pk, outgoing.status, outgoing.mid) == (message.pk, "sent", message.mid)


def test_an_echo_arriving_before_the_answer_confirms_the_same_message(
    customer, fake_graph, deliver
):
    message = reply(customer)
    deliver(echo_of("m_echo_first", f"cb:{message.pk}"))
    message = reloaded(message)
    assert (message.status, message.mid) == ("sent", "m_echo_first")
    assert Message.objects.filter(contact=customer, direction="out").count() == 1
    outbound.send_message(message.pk)
    assert send_calls(fake_graph) == []


def test_a_send_without_an_answer_is_not_repeated_and_its_echo_settles_it(
    customer, fake_graph, settings, deliver
):
    settings.GRAPH_API_TIMEOUT = 0.3
    fake_graph.stall_next(0.8, path_contains="/me/messages")  # Facebook sends, then is slow
    message = reply(customer)
    with pytest.raises(graph.OutcomeUnknown):
        outbound.send_message(message.pk)
    assert reloaded(message).status == "queued"
    with pytest.raises(graph.OutcomeUnknown):
        outbound.send_message(message.pk)  # the task's retry: no second send
    assert len(send_calls(fake_graph)) == 1

    accepted = wait_until(lambda: fake_graph.sent_messages(PSID), message="the send")[0]
    deliver(echo_of(accepted["message_id"], f"cb:{message.pk}"))
    message = reloaded(message)
    assert (message.status, message.mid) == ("sent", accepted["message_id"])
    assert Message.objects.filter(contact=customer, direction="out").count() == 1


def test_a_send_without_an_answer_or_echo_fails_after_a_while_without_resending(
    customer, fake_graph
):
    message = reply(customer)
    started = timezone.now() - outbound.OUTCOME_GRACE - timedelta(seconds=1)
    Message.objects.filter(pk=message.pk).update(
        details={"send_started_at": started.isoformat(), "send_attempts": 1}
    )
    outbound.send_message(message.pk)
    message = reloaded(message)
    assert message.status == "failed"
    assert "unknown whether the customer got this reply" in message.error
    assert send_calls(fake_graph) == []


def test_the_sweep_requeues_only_replies_no_worker_ever_tried(customer, fake_graph):
    old = timezone.now() - outbound.SWEEP_AFTER - timedelta(seconds=1)
    stranded = reply(customer)
    tried = reply(customer, details={"send_attempts": 1})  # its task retries or settles it
    reply(customer)  # just queued: its own task is on the way
    Message.objects.filter(pk__in=[stranded.pk, tried.pk]).update(created_at=old)
    assert outbound.sweep_unsent_messages() == 1


def test_the_sweep_settles_a_send_whose_worker_died_in_the_middle(customer, fake_graph):
    old = timezone.now() - outbound.SWEEP_AFTER - timedelta(seconds=1)
    long_ago = (timezone.now() - outbound.OUTCOME_GRACE - timedelta(seconds=1)).isoformat()
    just_now = timezone.now().isoformat()
    orphaned = reply(customer, details={"send_started_at": long_ago, "send_attempts": 1})
    in_flight = reply(customer, details={"send_started_at": just_now, "send_attempts": 1})
    Message.objects.filter(pk__in=[orphaned.pk, in_flight.pk]).update(created_at=old)
    assert outbound.sweep_unsent_messages() == 1  # the one no worker is at any more
    outbound.send_message(orphaned.pk)  # what the enqueued task does
    assert reloaded(orphaned).status == "failed"
    assert "unknown whether the customer got this reply" in reloaded(orphaned).error
    assert reloaded(in_flight).status == "queued"
    assert send_calls(fake_graph) == []  # never sent a second time
