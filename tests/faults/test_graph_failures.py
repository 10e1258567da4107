"""Facebook's Graph API failing while a real worker sends agents' replies: 5xx and 429 answers are
retried with backoff until the reply goes out once; a send that got no answer is never sent
again and is settled by its echo; an expired token fails the reply with a plain reason and marks
the entry point. Each state shows on the agent's desktop, and no worker log line holds a secret.
(The same paths one call at a time: tests/messenger/test_outbound.py.)"""

import re
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agent_desktop import services as desktop
from agent_desktop.models import Contact, Message
from messenger.models import FacebookPage
from messenger.sandbox.facebook_webhooks import page_body, post_signed
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PSID = "6512345678901234"
# Retries one second apart (instead of 5 s, 30 s, …).
WORKER_ENV = {"TEST_RETRY_BACKOFF_SECONDS": "1", "LOG_LEVEL": "DEBUG"}


@pytest.fixture
def customer(connected_page, fake_graph, agent):
    fake_graph.customer_wrote(PSID)
    return Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id=PSID,
        first_name="Maria",
        last_inbound_at=timezone.now(),
        last_message_at=timezone.now(),
    )


def send_calls(fake_graph):
    """Calls sending a message (not the sender actions, "seen" and "typing", of the desktop)."""
    calls = fake_graph.calls_to("POST", "/me/messages")
    return [c for c in calls if "sender_action" not in (c.body or {})]


def desktop_html(agent, contact, view="agent_desktop:contact"):
    client = Client()
    client.force_login(agent)
    return client.get(reverse(view, args=[contact.pk])).content.decode()


SEND_TASK = re.compile(
    r"Task messenger\.tasks\.send_message\[[^\]]+\] (received|retry|succeeded|raised)"
)


def send_tasks(worker):
    """The worker's own record of its send tasks: how many it received, retried (each after an
    error), finished and failed."""
    return Counter(SEND_TASK.findall(worker.log()))


def sends_finished(worker):
    """Every send task the worker received has ended, the last one without a retry."""
    tasks = send_tasks(worker)
    ended = tasks["retry"] + tasks["succeeded"] + tasks["raised"]
    return tasks["succeeded"] and tasks["received"] == ended


def assert_no_secret_in(worker):
    log = worker.log()
    assert "ready." in log and "DEBUG" in log
    assert PAGE["access_token"] not in log and PAGE["app_secret"] not in log


def test_server_errors_and_rate_limits_are_retried_and_the_reply_goes_out_once(
    customer, agent, fake_graph, start_worker, counts
):
    fake_graph.fail_next_with_status(502, path_contains="/me/messages")
    fake_graph.fail_next("613_rate_limit", http_status=429, path_contains="/me/messages")
    fake_graph.fail_next("2_service_unavailable", http_status=503, path_contains="/me/messages")
    worker = start_worker(env=WORKER_ENV, loglevel="DEBUG")  # every line it can write
    (reply,) = desktop.reply_send(contact=customer, agent=agent, text="Your order shipped.")

    wait_until(lambda: send_calls(fake_graph), message="the first attempt")
    # The open desktop's live panel: opening the page would send a mark_seen, which would take
    # one of the failures queued for the reply's path.
    seen_while_retrying = desktop_html(agent, customer, view="agent_desktop:conversation")
    message = wait_until(
        lambda: Message.objects.filter(pk=reply.pk, status="sent").first(),
        timeout=30,
        message="the reply sent after the retries",
    )
    wait_until(lambda: sends_finished(worker), message="the worker done with the send")
    tasks = send_tasks(worker)
    sent = fake_graph.sent_messages(PSID)
    assert len(sent) == 1 and sent[0]["message_id"] == message.mid
    assert len(send_calls(fake_graph)) == 4  # 502, 429, 503, then the send
    assert (tasks["retry"], tasks["succeeded"]) == (3, 1)
    assert message.details["send_attempts"] == 4
    assert "◷ Sending…" in seen_while_retrying
    assert "✓ Sent" in desktop_html(agent, customer)
    assert_no_secret_in(worker)
    counts(
        "Graph 5xx and 429 on a reply",
        attempts=len(send_calls(fake_graph)),
        refused_by_facebook=tasks["retry"],
        sent_to_the_customer=len(sent),
        final_state=message.status,
    )


def test_a_send_left_without_an_answer_is_not_repeated_and_its_echo_settles_it(
    customer, agent, connected_page, live_server, fake_graph, start_worker, settings, counts
):
    # Facebook takes the message but answers after the worker's timeout (2 s in the tests).
    fake_graph.stall_next(settings.GRAPH_API_TIMEOUT + 1.5, path_contains="/me/messages")
    worker = start_worker(env=WORKER_ENV, loglevel="DEBUG")  # every line it can write
    (reply,) = desktop.reply_send(contact=customer, agent=agent, text="Your order shipped.")

    accepted = wait_until(lambda: fake_graph.sent_messages(PSID), timeout=20, message="the send")[0]
    # The worker's retries run out meanwhile: none may send it again.
    failed = wait_until(
        lambda: Message.objects.filter(pk=reply.pk, status="failed").first(),
        timeout=30,
        message="the reply given up on",
    )
    assert "unknown whether the customer got this reply" in failed.error
    shown_failed = "⚠ Not sent" in desktop_html(agent, customer)

    # The message's echo arrives through the webhook: it was sent after all.
    echo = {
        "sender": {"id": PAGE["page_id"]},
        "recipient": {"id": PSID},
        "timestamp": int(timezone.now().timestamp() * 1000),
        "message": {
            "mid": accepted["message_id"],
            "is_echo": True,
            "app_id": int(PAGE["app_id"]),
            "metadata": f"cb:{reply.pk}",
            "text": "Your order shipped.",
        },
    }
    url = live_server.url + webhook_path(connected_page)
    assert post_signed(url, page_body(PAGE["page_id"], echo), PAGE["app_secret"]).ok
    message = wait_until(
        lambda: Message.objects.filter(pk=reply.pk, status="sent").first(),
        timeout=20,
        message="the echo settling the reply",
    )
    assert message.mid == accepted["message_id"]
    assert len(fake_graph.sent_messages(PSID)) == 1 and len(send_calls(fake_graph)) == 1
    outgoing = Message.objects.filter(contact=customer, direction="out").count()
    assert outgoing == 1
    assert shown_failed
    assert_no_secret_in(worker)
    without_an_answer = worker.log().count("OutcomeUnknown('no answer within")
    assert without_an_answer == 1
    counts(
        "Graph slow on a reply",
        sends_without_an_answer=without_an_answer,
        sent_again=len(send_calls(fake_graph)) - 1,
        at_facebook=len(fake_graph.sent_messages(PSID)),
        outgoing_messages=outgoing,
        final_state=message.status,
    )


def test_an_expired_token_fails_the_reply_plainly_and_marks_the_entry_point(
    customer, agent, connected_page, fake_graph, start_worker, counts
):
    fake_graph.expire_token(PAGE["access_token"])
    worker = start_worker(env=WORKER_ENV, loglevel="DEBUG")  # every line it can write
    (first,) = desktop.reply_send(contact=customer, agent=agent, text="Hello?")
    failed = wait_until(
        lambda: Message.objects.filter(pk=first.pk, status="failed").first(),
        timeout=20,
        message="the reply failed",
    )
    assert "Facebook rejected the page's access token" in failed.error
    assert "paste a new Page Access Token" in failed.error
    page = FacebookPage.objects.get(pk=connected_page.pk)
    assert page.token_status == "invalid"
    assert "Facebook rejected the Page Access Token while sending a reply" in page.last_error
    # The next reply fails at once, without asking Facebook again.
    (second,) = desktop.reply_send(contact=customer, agent=agent, text="Anyone?")
    wait_until(
        lambda: Message.objects.filter(pk=second.pk, status="failed").exists(),
        timeout=20,
        message="the second reply failed",
    )
    html = desktop_html(agent, customer)
    assert "⚠ Not sent" in html and "Facebook rejected its Page Access Token" in html
    assert len(send_calls(fake_graph)) == 1 and fake_graph.sent_messages(PSID) == []
    replies = Message.objects.filter(contact=customer, direction="out")
    plainly_failed = replies.filter(
        status="failed", error__contains="paste a new Page Access Token"
    ).count()
    assert plainly_failed == replies.count() == 2
    assert_no_secret_in(worker)
    counts(
        "expired token on replies",
        replies=replies.count(),
        graph_calls=len(send_calls(fake_graph)),
        sent=len(fake_graph.sent_messages(PSID)),
        failed_with_a_plain_reason=plainly_failed,
        entry_point=page.token_status,
    )
