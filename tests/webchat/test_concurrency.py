"""Website chat under real concurrency: threads, each with its own database connection,
released together. Runs on the configured database (SQLite, and PostgreSQL in CI)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from agent_desktop.models import Message
from tests.webchat.conftest import Widget
from webchat import conversation, desk
from webchat.models import Visitor

THREADS = 8


def all_at_once(jobs):
    """Run each job in its own thread (own connection), released together; returns results."""
    start = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(n):
        try:
            start.wait()
            results[n] = jobs[n]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def started(transactional_db, chat):
    widget = Widget(chat.widget_key)
    widget.start()
    widget.say("hello")
    return widget, Visitor.objects.get()


def test_a_visitors_burst_passes_the_rate_limit_exactly_limit_times(started, settings):
    settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR = 4
    widget, _ = started
    token, key = widget.token, widget.key

    def send(n):
        def job():
            one = Widget(key)
            one.token = token
            return one.post("messages/", {"text": f"burst {n}"}).status_code

        return job

    codes = all_at_once([send(n) for n in range(THREADS)])
    # One message was sent by the fixture: 3 more pass, the rest wait.
    assert sorted(codes) == [201] * 3 + [429] * (THREADS - 3)
    assert Message.objects.filter(text__startswith="burst").count() == 3


def test_read_is_never_taken_back_by_a_late_send_or_delivery(started, agent):
    _, visitor = started
    replies = [
        Message.objects.create(
            contact=visitor.contact,
            direction="out",
            source="agent",
            status="queued",
            text=f"reply {n}",
            sent_by=agent,
            sent_at=timezone.now(),
        )
        for n in range(THREADS)
    ]
    newest = replies[-1].pk
    jobs = []
    for reply in replies:
        jobs += [
            lambda reply=reply: desk.enqueue_send(reply.pk),
            lambda: conversation.mark_delivered(
                visitor=visitor, messages=list(Message.objects.filter(direction="out"))
            ),
            lambda: conversation.mark_read(visitor=visitor, up_to=newest),
        ]
    all_at_once(jobs)
    assert set(Message.objects.filter(direction="out").values_list("status", flat=True)) == {"read"}
