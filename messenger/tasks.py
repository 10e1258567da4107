"""Celery tasks: thin, idempotent, taking ids. The work is in the modules they call; this module
is the top of the package (nothing in it imports it: tasks are sent by name, see
messenger.delivery_queue)."""

import logging
import random

from celery import shared_task
from django.conf import settings

from messenger import graph, health, outbound, pacing, processing, profiles, recovery
from messenger.delivery_queue import sweep_stale_deliveries as sweep_deliveries

logger = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = (5, 30, 120, 600)


def _backoff(retries):
    # Tests with a real worker shorten the waits (settings_test: TEST_RETRY_BACKOFF_SECONDS).
    steps = getattr(settings, "TASK_RETRY_BACKOFF_SECONDS", RETRY_BACKOFF_SECONDS)
    return steps[min(retries, len(steps) - 1)]


@shared_task(bind=True, max_retries=processing.MAX_PROCESSING_ATTEMPTS)
def process_delivery(self, delivery_id):
    try:
        processing.process_delivery(delivery_id)
    except Exception as exc:
        if processing.record_processing_failure(delivery_id, exc):
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
        logger.exception("delivery %s failed for good", delivery_id)


@shared_task(bind=True, max_retries=processing.MAX_PROCESSING_ATTEMPTS)
def process_deliveries(self, delivery_ids):
    """Deliveries stored by the webhook, in batches. One that fails is tried again on its own,
    with backoff, by `process_delivery`; a batch that could not start, as a whole."""
    try:
        again = processing.process_deliveries(
            delivery_ids, linger_seconds=processing.LINGER_SECONDS
        )
    except Exception as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    for delivery_id in again:
        process_delivery.apply_async(args=[delivery_id], countdown=_backoff(0))


@shared_task(bind=True, max_retries=5)
def fetch_profiles(self, contact_ids):
    """Profiles of new contacts, fetched together; those Facebook could not give now are
    asked for again with backoff."""
    again = profiles.fetch_profiles(contact_ids)
    if again and self.request.retries < self.max_retries:
        raise self.retry(args=[again], countdown=_backoff(self.request.retries))


@shared_task(bind=True, max_retries=5)
def send_message(self, message_id):
    """Send an agent's reply; Facebook's temporary failures are retried with backoff, and the
    message fails with the last error when the retries run out."""
    try:
        outbound.send_message(message_id)
    except pacing.SendLater as later:
        # The page's turns are taken for a while: a new task for then, not a retry (waiting
        # for a turn uses none of the retries Facebook's errors get). Spread, so that sends
        # put off together do not all come back at once.
        countdown = later.retry_after * (1 + random.random())  # noqa: S311 (not a secret)
        self.apply_async(args=[message_id], countdown=countdown)
        logger.info("send of message %s put off %.1f s: no turn free", message_id, countdown)
    except graph.GraphError as exc:
        if exc.retryable and self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
        outbound.give_up(message_id, exc)
        logger.info("send of message %s stopped: %s", message_id, type(exc).__name__)


@shared_task
def send_typing_on(contact_id):
    """The agent is typing: Messenger shows "…" to the customer (rate-limited by the desktop)."""
    return outbound.send_sender_action(contact_id, "typing_on")


@shared_task
def send_mark_seen(contact_id):
    """The agent opened the conversation: the customer sees their messages were seen."""
    return outbound.send_sender_action(contact_id, "mark_seen")


@shared_task
def sweep_unsent_messages():
    """Enqueue again the replies that no worker picked up (the broker was down)."""
    return outbound.sweep_unsent_messages()


@shared_task
def sweep_stale_deliveries():
    """Enqueue again the deliveries that were stored but not processed in time."""
    return sweep_deliveries()


@shared_task
def sweep_missing_profiles():
    """Ask again for the profiles whose first fetch was lost."""
    return profiles.sweep_missing_profiles()


@shared_task
def check_all_tokens():
    """Daily: ask Facebook about every page token (validity, expiry, scopes); an invalid one is
    marked on its entry point. Returns counts: checked, warnings, failed."""
    return health.check_all_tokens()


@shared_task
def check_for_gaps():
    """Every 5 minutes: is each page that once received events still subscribed to our app? A
    page Facebook unsubscribed gets a recovery run. Returns counts: checked, gaps, failed."""
    return recovery.check_for_gaps()


@shared_task
def recover_page(facebook_page_id, trigger="subscription_lost"):
    """Subscribe the page again if needed and store the messages it missed (idempotent: by mid;
    a run already under way for the page makes this one a no-op)."""
    run = recovery.recover_page(facebook_page_id, trigger=trigger)
    return None if run is None else {"recovered": run.recovered_count, "error": run.error}
