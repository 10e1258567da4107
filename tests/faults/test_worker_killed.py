"""A worker killed (SIGKILL, its whole process group) in the middle of processing deliveries: a
new worker, whose periodic sweep enqueues the unfinished deliveries again, gets every one done,
and each message is stored once however often its delivery ran."""

import json
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent_desktop.models import Contact, Message
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import new_mid, page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE_ID = PAGE["page_id"]
DELIVERIES = 20
EVENTS_PER_DELIVERY = 10  # long enough a task that a kill lands inside one
SWEEP_EVERY_SECOND = {"DELIVERY_SWEEP_AFTER_SECONDS": "1", "DELIVERY_SWEEP_INTERVAL_SECONDS": "1"}


def burst_body(n):
    items = [
        text_item(PAGE_ID, f"94000000000{n:05d}", f"delivery {n} event {i}", mid=new_mid())
        for i in range(EVENTS_PER_DELIVERY)
    ]
    return page_body(PAGE_ID, *items)


def mids_of(delivery_ids):
    return [
        item["message"]["mid"]
        for body in WebhookDelivery.objects.filter(pk__in=delivery_ids).values_list(
            "body", flat=True
        )
        for item in json.loads(body)["entry"][0]["messaging"]
    ]


def in_progress():
    """Deliveries a worker has started (attempts counted) and not finished."""
    return list(
        WebhookDelivery.objects.filter(status="received", attempts__gte=1).values_list(
            "pk", flat=True
        )
    )


def kill_in_the_middle(start_worker, attempt):
    """Start a worker, SIGKILL its process group the moment it is inside a delivery, and say
    which deliveries it left unfinished."""
    # One delivery per transaction: a batch of all of them is over too soon to be hit.
    worker = start_worker(concurrency=2, env={"DELIVERY_BATCH_SIZE": "1"}, name=f"doomed-{attempt}")
    wait_until(
        lambda: in_progress() or not WebhookDelivery.objects.filter(status="received").exists(),
        interval=0.002,
        message="the worker inside a delivery",
    )
    worker.stop(signal.SIGKILL)
    return in_progress()


def test_a_worker_killed_mid_delivery_leaves_it_to_be_done_again_once(
    live_server, connected_page, start_worker, counts
):
    url = live_server.url + webhook_path(connected_page)
    bodies = [burst_body(n) for n in range(DELIVERIES)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda b: post_signed(url, b, PAGE["app_secret"]).status_code, bodies)
        )
    assert statuses == [200] * DELIVERIES

    interrupted, kills = [], 0
    while not interrupted and kills < 5:  # a kill may land between two tasks: try again
        kills += 1
        interrupted = kill_in_the_middle(start_worker, kills)
    assert interrupted, "no kill landed inside a delivery"
    done_before = WebhookDelivery.objects.filter(status="processed").count()
    kept_of_interrupted = Message.objects.filter(mid__in=mids_of(interrupted)).count()

    start_worker(concurrency=2, beat=True, env=SWEEP_EVERY_SECOND, name="after-the-kill")
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="processed").count() == DELIVERIES,
        timeout=90,
        message=f"{DELIVERIES} deliveries processed after the kill",
    )
    expected = DELIVERIES * EVENTS_PER_DELIVERY
    mids = list(Message.objects.values_list("mid", flat=True))
    assert len(mids) == len(set(mids)) == expected
    assert Contact.objects.count() == DELIVERIES  # one per PSID, none twice
    again = WebhookDelivery.objects.filter(pk__in=interrupted, attempts__gte=2).count()
    assert again == len(interrupted)
    counts(
        "worker killed",
        posted=len(statuses),
        kills=kills,
        interrupted_mid_delivery=len(interrupted),
        their_messages_kept_at_the_kill=kept_of_interrupted,
        done_before_the_kill=done_before,
        done_again=again,
        processed=WebhookDelivery.objects.filter(status="processed").count(),
        messages=len(mids),
        contacts=Contact.objects.count(),
    )
