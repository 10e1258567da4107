"""Sending the messenger's tasks to the broker without ever failing the caller: a circuit
breaker after a broker failure, the worker wake-up thread, the sweeps that catch up on what an
outage left behind, and an admin's retry of a delivery.

Tasks are sent by name (`TASKS`), not by their function: `messenger.tasks` is the top of the
package (it imports processing, profiles, outbound and health to run them), and each of those
queues tasks, so importing the task functions here would close a cycle. The names are those of
the beat schedule and of tasks already queued; a test checks each is a registered task.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.celery import app as celery_app
from messenger.models import WebhookDelivery
from messenger.publisher import BatchPublisher

logger = logging.getLogger(__name__)

PROCESS_DELIVERY = "messenger.tasks.process_delivery"
PROCESS_DELIVERIES = "messenger.tasks.process_deliveries"
FETCH_PROFILES = "messenger.tasks.fetch_profiles"
SEND_MESSAGE = "messenger.tasks.send_message"
SEND_TYPING_ON = "messenger.tasks.send_typing_on"
SEND_MARK_SEEN = "messenger.tasks.send_mark_seen"
TASKS = (
    PROCESS_DELIVERY,
    PROCESS_DELIVERIES,
    FETCH_PROFILES,
    SEND_MESSAGE,
    SEND_TYPING_ON,
    SEND_MARK_SEEN,
)

WAKE_INTERVAL_SECONDS = 0.5


def enqueue_processing(delivery_ids=()):
    """Ask a worker to process waiting deliveries (these first). A broker outage must not lose
    them or fail the webhook: the rows are stored, and the periodic sweep enqueues them again."""
    return enqueue(PROCESS_DELIVERIES, list(delivery_ids))


def wake_workers():
    """Wake a worker for the deliveries just stored. Publishing a task costs more than the rest
    of a webhook request (and a thread publishing slows the requests beside it), so a thread of
    the web process publishes at once when a post comes after a quiet moment, and at most every
    `WAKE_INTERVAL_SECONDS` while posts keep coming: a woken worker takes every delivery waiting
    and keeps looking for new ones for `LINGER_SECONDS` (see `process_deliveries`)."""
    _waker.add(None)


_waker = BatchPublisher(
    lambda _pokes: enqueue_processing(),
    min_interval=WAKE_INTERVAL_SECONDS,
    max_batch=1_000_000,
    name="delivery-waker",
)


_broker_down_until = 0.0
BROKER_DOWN_PAUSE_SECONDS = 5.0


def enqueue(task_name, arg):
    """Send a task taking one argument (an id, or a list of ids); returns False when the
    broker could not take it. After a broker failure, skip sending for a few seconds instead
    of making every caller wait for the broker's connection timeout; the caller's sweep
    catches up."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        celery_app.send_task(task_name, args=[arg], retry=False)
    except Exception as exc:  # any broker failure: the sweep (or the next event) catches up
        _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS
        logger.warning("enqueue %s(%s) failed: %s", task_name, _describe(arg), type(exc).__name__)
        return False
    return True


def _describe(arg):
    return f"{len(arg)} ids" if isinstance(arg, list) else arg


def sweep_stale_deliveries(limit=500):
    """Enqueue again the deliveries stored but not processed in time (broker down, worker
    died). Each is re-enqueued at most once per sweep period. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.DELIVERY_SWEEP_AFTER_SECONDS)
    stale = list(
        WebhookDelivery.objects.filter(
            Q(swept_at=None) | Q(swept_at__lt=cutoff),
            status=WebhookDelivery.Status.RECEIVED,
            received_at__lt=cutoff,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    WebhookDelivery.objects.filter(pk__in=stale).update(swept_at=timezone.now())
    return enqueue_in_batches(enqueue_processing, stale, "sweep re-enqueued %s deliveries")


def enqueue_in_batches(enqueue_batch, ids, log_message):
    """The sweeps' ids, in tasks of `DELIVERY_BATCH_SIZE`; returns how many."""
    size = settings.DELIVERY_BATCH_SIZE
    for start in range(0, len(ids), size):
        enqueue_batch(ids[start : start + size])
    if ids:
        logger.info(log_message, len(ids))
    return len(ids)


def retry_delivery(delivery: WebhookDelivery) -> None:
    """An admin's retry (or replay) of a delivery: run it again from a clean slate (on its own:
    a batch would skip a delivery its worker has done before)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.RECEIVED, attempts=0, last_error=""
    )
    transaction.on_commit(lambda: enqueue(PROCESS_DELIVERY, delivery.pk))
