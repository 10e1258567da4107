"""Sends paced to Meta's limits (messenger.pacing): the schedule of turns on both stores, workers
taking turns at once, the fake Graph API refusing what goes over the limit, and replies paced
instead of refused, in each customer's order."""

import itertools
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError, connection
from django.utils import timezone

from agent_desktop.models import Contact, Message
from messenger import graph, outbound, pacing
from tests.conftest import PAGE
from tests.processes import wait_until

TEXT = pacing.TEXT


@pytest.fixture
def redis_url(settings, request):
    """The Redis the settings name (CI's second run), else a private redis-server."""
    if settings.MESSENGER_SEND_PACING_REDIS_URL:
        return settings.MESSENGER_SEND_PACING_REDIS_URL
    private = request.getfixturevalue("private_redis")
    private.start()
    return private.url


@pytest.fixture(params=["database", "redis"])
def store(request, transactional_db):  # the database: threads use connections of their own
    if request.param == "redis":
        return pacing.RedisTurns(request.getfixturevalue("redis_url"))
    return pacing.DatabaseTurns()


@pytest.fixture
def page_id(store):
    """A page of the test's own, so no other test's turns are in its schedule."""
    page_id = f"pace-{uuid.uuid4().hex[:12]}"
    yield page_id
    for kind in pacing.KINDS:
        store.forget(page_id, kind)


def reserve(store, page_id, *, per_second, max_wait=60.0, kind=TEXT):
    return store.reserve(
        page_id,
        kind,
        interval_us=round(1_000_000 / per_second),
        max_wait_us=int(max_wait * 1e6),
    )


def most_in_one_second(times):
    """The most of `times` (seconds) in any window [t, t + 1)."""
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- The schedule, on both stores --------------------------------------------------------------
def test_turns_are_one_interval_apart_and_the_first_is_now(store, page_id):
    turns = [reserve(store, page_id, per_second=10) for _ in range(5)]
    assert turns[0].wait < 0.05
    gaps = [round(b.at - a.at, 6) for a, b in itertools.pairwise(turns)]
    assert gaps == [0.1] * 4
    assert 0.35 < turns[-1].wait <= 0.41


def test_a_turn_further_off_than_the_longest_wait_is_not_taken(store, page_id):
    for _ in range(3):
        reserve(store, page_id, per_second=2, max_wait=1.5)  # turns now, +0.5 s, +1 s
    reserve(store, page_id, per_second=2, max_wait=1.5)  # +1.5 s: just within the wait
    with pytest.raises(pacing.SendLater) as later:
        reserve(store, page_id, per_second=2, max_wait=1.5)
    assert 1.8 < later.value.retry_after <= 2.0
    # Nothing was taken: with a longer wait the same turn is still free.
    assert 1.8 < reserve(store, page_id, per_second=2, max_wait=5).wait <= 2.0


def test_each_page_and_kind_has_turns_of_its_own(store, page_id):
    for _ in range(3):
        reserve(store, page_id, per_second=1)
    assert reserve(store, page_id, per_second=1, kind=pacing.MEDIA).wait < 0.05
    other_page = f"{page_id}-other"
    try:
        assert reserve(store, other_page, per_second=1).wait < 0.05
    finally:
        store.forget(other_page, TEXT)


def test_workers_taking_turns_at_once_never_exceed_the_rate_in_any_second(store, page_id):
    per_second, threads, each = 20, 8, 10
    turns, errors = [], []
    start = threading.Barrier(threads)

    def worker():
        try:
            start.wait()
            mine = [reserve(store, page_id, per_second=per_second) for _ in range(each)]
            turns.extend(mine)
        except Exception as exc:  # shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    running = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert errors == []
    times = sorted(turn.at for turn in turns)
    assert len(set(times)) == threads * each  # no turn given twice
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05 - 1e-6
    assert most_in_one_second(times) == per_second


def test_the_default_store_is_the_database_without_redis_and_redis_with_it(settings, redis_url):
    settings.MESSENGER_SEND_PACING_REDIS_URL = ""
    assert isinstance(pacing.schedule_store(), pacing.DatabaseTurns)
    settings.MESSENGER_SEND_PACING_REDIS_URL = redis_url
    assert isinstance(pacing.schedule_store(), pacing.RedisTurns)


def test_rates_come_from_the_settings_and_media_is_slower(settings):
    assert pacing.rate(TEXT) == 300 and pacing.rate(pacing.MEDIA) == 10
    settings.MESSENGER_SEND_RATE_TEXT = 4
    assert pacing.interval_us(TEXT) == 250_000


def test_when_the_store_is_down_a_send_goes_unpaced(db, private_redis):
    unreachable = pacing.RedisTurns(private_redis.url)  # never started: nothing listens
    turn = pacing.reserve("1234", TEXT, store=unreachable)
    assert turn.wait == 0.0


def test_when_the_database_is_unreachable_a_send_goes_unpaced(db, caplog):
    def refused(execute, sql, params, many, context):
        raise OperationalError("connection to server at 127.0.0.1 port 5432 failed: refused")

    with connection.execute_wrapper(refused):
        turn = pacing.reserve("1234", TEXT, store=pacing.DatabaseTurns())
    assert turn.wait == 0.0
    assert "send pacing unavailable, sending unpaced: OperationalError" in caplog.text


def test_a_mistake_is_raised_not_taken_for_a_store_that_is_down(db, settings):
    settings.MESSENGER_SEND_RATE_TEXT = 0  # no turn can be one 0th of a second apart
    with pytest.raises(ZeroDivisionError):
        pacing.reserve("1234", TEXT, store=pacing.DatabaseTurns())


# --- The fake Graph API enforces Meta's limit ---------------------------------------------------
def customer(connected_page, fake_graph, psid):
    fake_graph.customer_wrote(psid)
    return Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id=psid,
        last_inbound_at=timezone.now() - timedelta(minutes=1),
    )


def queue_reply(contact, text):
    return Message.objects.create(
        contact=contact,
        direction="out",
        status="queued",
        text=text,
        sent_at=timezone.now(),
        source="agent",
    )


@pytest.fixture
def fresh_turns(settings):
    """The test page's schedule emptied before and after (Redis keeps it between tests)."""
    store = pacing.schedule_store()
    store.forget(PAGE["page_id"], TEXT)
    yield
    store.forget(PAGE["page_id"], TEXT)


def send_all_at_once(messages, threads):
    """Each message's send in a thread of its own, `threads` at a time, as workers would."""
    errors = []
    pending = list(messages)
    lock = threading.Lock()

    def worker():
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    message = pending.pop(0)
                try:
                    outbound.send_message(message.pk)
                except Exception as exc:
                    errors.append(exc)
        finally:
            connection.close()

    running = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_sends_over_the_pages_limit_are_refused_with_graphs_rate_limit_error(
    connected_page, fake_graph, settings, fresh_turns
):
    settings.MESSENGER_SEND_RATE_TEXT = 1000  # pacing far above the fake's limit: not paced
    fake_graph.limit_send_rate(text=5, burst_seconds=0.4)  # 2 at once, then 5 a second
    contacts = [customer(connected_page, fake_graph, f"77000000000{i:02d}") for i in range(10)]
    messages = [queue_reply(contact, "Hello") for contact in contacts]
    errors = send_all_at_once(messages, threads=10)
    refused = fake_graph.rate_limited_sends()
    assert len(refused) >= 3 and {r["kind"] for r in refused} == {"text"}
    assert len(errors) == len(refused)  # each one a RateLimited for the task to retry
    assert {type(e).__name__ for e in errors} == {"RateLimited"}
    assert Message.objects.filter(status="queued").count() == len(refused)


def test_audio_and_video_count_against_the_lower_media_limit(connected_page, fake_graph):
    fake_graph.limit_send_rate(text=100, media=1, burst_seconds=1)
    client = graph.GraphClient.for_page(connected_page)
    video = {"attachment": {"type": "video", "payload": {"url": "https://cdn.example/v.mp4"}}}
    client.send_message("7700000000099", video, "RESPONSE")
    with pytest.raises(graph.RateLimited):
        client.send_message("7700000000099", video, "RESPONSE")
    client.send_message("7700000000099", {"text": "text still goes"}, "RESPONSE")
    assert [r["kind"] for r in fake_graph.rate_limited_sends()] == ["media"]


# --- Replies paced, not refused -----------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_replies_faster_than_the_page_may_send_are_paced_not_refused(
    connected_page, fake_graph, settings, fresh_turns
):
    settings.MESSENGER_SEND_RATE_TEXT = 5
    settings.MESSENGER_SEND_MAX_WAIT_SECONDS = 10  # the threads wait their turn here
    fake_graph.limit_send_rate(text=5, burst_seconds=0.4)
    contacts = [customer(connected_page, fake_graph, f"77100000000{i:02d}") for i in range(4)]
    messages = [queue_reply(contacts[i % 4], f"Reply {i}") for i in range(10)]
    started = time.monotonic()
    errors = send_all_at_once(messages, threads=6)
    elapsed = time.monotonic() - started
    assert errors == [] and fake_graph.rate_limited_sends() == []
    assert Message.objects.filter(status="sent").count() == 10
    assert elapsed >= 9 / 5 - 0.05  # ten turns, a fifth of a second apart
    arrivals = [s["at"].timestamp() for s in fake_graph.sent_messages()]
    assert most_in_one_second(arrivals) <= 6  # 5 a second, give or take one on the way


def test_a_reply_whose_turn_is_far_off_is_put_off_unclaimed(customer_contact, settings):
    settings.MESSENGER_SEND_RATE_TEXT = 0.5  # a turn every 2 s
    settings.MESSENGER_SEND_MAX_WAIT_SECONDS = 0.5
    first, second = queue_reply(customer_contact, "One"), queue_reply(customer_contact, "Two")
    outbound.send_message(first.pk)
    with pytest.raises(pacing.SendLater) as later:
        outbound.send_message(second.pk)
    assert 1.5 < later.value.retry_after <= 2.0
    second.refresh_from_db()
    assert second.status == "queued" and "send_started_at" not in second.details


def test_a_typing_indicator_whose_turn_is_far_off_is_dropped(
    customer_contact, fake_graph, settings
):
    settings.MESSENGER_SEND_RATE_TEXT = 0.5
    settings.MESSENGER_SEND_MAX_WAIT_SECONDS = 0.5
    outbound.send_message(queue_reply(customer_contact, "One").pk)
    assert outbound.send_sender_action(customer_contact.pk, "typing_on") is False
    assert fake_graph.sent_sender_actions() == []


@pytest.fixture
def customer_contact(connected_page, fake_graph, fresh_turns):
    return customer(connected_page, fake_graph, "7720000000001")


@pytest.mark.django_db(transaction=True)
def test_a_worker_paces_a_burst_and_each_customer_reads_the_replies_in_order(
    connected_page, fake_graph, start_worker, fresh_turns
):
    # Four workers at 4 turns a second wait longer than 0.3 s: some sends come back later.
    worker = start_worker(
        concurrency=4,
        env={"MESSENGER_SEND_RATE_TEXT": "4", "MESSENGER_SEND_MAX_WAIT_SECONDS": "0.3"},
    )
    fake_graph.limit_send_rate(text=4, burst_seconds=0.5)
    contacts = [customer(connected_page, fake_graph, f"77300000000{i:02d}") for i in range(3)]
    written = {contact.external_id: [] for contact in contacts}
    messages = []
    for i in range(12):
        contact = contacts[i % 3]
        messages.append(queue_reply(contact, f"Part {i // 3} for {contact.external_id}"))
        written[contact.external_id].append(messages[-1].text)
    for message in messages:
        outbound.enqueue_send(message.pk)
    wait_until(
        lambda: Message.objects.filter(status="sent").count() == 12,
        timeout=40,
        message="every reply sent",
    )
    assert fake_graph.rate_limited_sends() == []
    for psid, texts in written.items():
        assert [s["message"]["text"] for s in fake_graph.sent_messages(psid)] == texts
    arrivals = sorted(s["at"].timestamp() for s in fake_graph.sent_messages())
    assert arrivals[-1] - arrivals[0] >= (12 - 3) / 4  # a turn every quarter second, give or take
    assert "put off" in worker.log()  # sends whose turn was far off came back as new tasks


def test_audio_and_video_replies_go_at_the_media_pace_and_the_rest_at_the_text_pace(
    customer_contact,
):
    def with_file(name):
        message = queue_reply(customer_contact, "")
        message.attachments = [{"type": "file", "name": name}]
        message.upload.save("stored-name", ContentFile(b"0" * 64))
        return message

    assert outbound.send_kind(queue_reply(customer_contact, "Hi")) == TEXT
    assert outbound.send_kind(with_file("clip.mp4")) == pacing.MEDIA
    assert outbound.send_kind(with_file("voice.m4a")) == pacing.MEDIA
    assert outbound.send_kind(with_file("invoice.pdf")) == TEXT
