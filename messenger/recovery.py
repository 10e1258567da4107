"""Gap recovery: the messages Facebook kept while none of a page's events reached our webhook.

The rule. Facebook retries a failed delivery for a while, then gives up on the page: after about
an hour of failures (our outage, or a webhook Facebook disabled) it unsubscribes our app from the
page, and from then on nothing arrives at all. So a page is "in a gap" when its
`subscribed_apps` no longer lists our app although it once received events. The periodic
check (`check_for_gaps`, every 5 minutes) asks that of every live page that has received an
event; for a page in a gap, and whenever an admin presses Recover on the health card,
`recover_page`:

1. subscribes the page again if its subscription is gone;
2. lists, through the Conversations API, the conversations updated since the last event stored
   before the gap (a few minutes before it, see RECOVERY_MARGIN; Recover pressed: the last
   24 hours), and their messages since then, at most 2 calls a second (Facebook's limit);
3. stores them through the webhook's own path (`processing.record_recovered_messages`: once by
   mid, so running twice stores nothing twice), marked recovered.

No database transaction is open during a Graph call: each page of messages is stored on its own
after it was fetched. A run is recorded (PageRecovery) for the health card to tell its story.
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.celery import app as celery_app
from messenger import events as ev
from messenger import graph
from messenger.health import WEBHOOK_FIELDS, checked_pages
from messenger.models import FacebookPage, PageRecovery
from messenger.processing import record_recovered_messages
from messenger.tokens import mark_token_invalid

logger = logging.getLogger(__name__)

# `last_event_at` is kept to the minute (processing.LAST_EVENT_PRECISION) and clocks differ: a
# few minutes fetched twice cost nothing (stored once by mid).
RECOVERY_MARGIN = timedelta(minutes=5)
# Recover pressed fetches this far back (after an outage, new events have moved the last event
# past the gap); a page that never had an event, as far as an agent could still answer.
MANUAL_WINDOW = timedelta(hours=24)
LONGEST_GAP = timedelta(days=7)
# Facebook allows 2 Conversations API calls a second per page; the margin absorbs jitter.
CALL_INTERVAL_SECONDS = 0.55
# A run's calls are bounded (the task's soft time limit is 90 s): a longer gap is finished by
# pressing Recover again.
MAX_CALLS = 100
RATE_LIMIT_WAIT_SECONDS = 1.5
PAGE_SIZE = 25
# The periodic check asks only pages quiet this long (Facebook retries a failing delivery for
# a while before it unsubscribes), and at most this many a round.
QUIET_BEFORE_CHECK = timedelta(minutes=15)
PAGES_PER_CHECK = 300
# A run not finished by then died with its worker: the next check closes it.
STALE_RUN = timedelta(minutes=15)


class CallBudgetSpent(Exception):
    """The run made MAX_CALLS Conversations API calls."""


class _Pacer:
    """Makes Conversations API calls at most one every CALL_INTERVAL_SECONDS, up to a budget;
    a rate-limit refusal (Facebook counts differently from us) is waited out once."""

    def __init__(self, interval=CALL_INTERVAL_SECONDS, budget=MAX_CALLS):
        self.interval, self.budget = interval, budget
        self.calls, self._last = 0, None

    def call(self, method, *args, **kwargs):
        try:
            return self._call(method, *args, **kwargs)
        except graph.RateLimited:
            time.sleep(RATE_LIMIT_WAIT_SECONDS)
            return self._call(method, *args, **kwargs)

    def _call(self, method, *args, **kwargs):
        if self.calls >= self.budget:
            raise CallBudgetSpent
        if self._last is not None:
            time.sleep(max(0.0, self._last + self.interval - time.monotonic()))
        self._last = time.monotonic()
        self.calls += 1
        return method(*args, **kwargs)


# --- The periodic check ----------------------------------------------------------------------
def pages_to_watch(now=None):
    """Live pages that can be asked and received events before, but none for QUIET_BEFORE_CHECK
    (a page whose events arrive is subscribed; one never set up is not in a gap, and is not
    subscribed behind its admin's back), nor for more than LONGEST_GAP. The most recently
    active first, at most PAGES_PER_CHECK a round (one Graph call each)."""
    now = now or timezone.now()
    return (
        FacebookPage.objects.filter(
            entry_point__is_archived=False,
            entry_point__campaign__is_active=True,
            last_event_at__lte=now - QUIET_BEFORE_CHECK,
            last_event_at__gte=now - LONGEST_GAP,
        )
        .exclude(page_id="")
        .exclude(app_id="")
        .exclude(app_secret_ciphertext="")
        .exclude(page_access_token_ciphertext="")
        .exclude(token_status=FacebookPage.TokenStatus.INVALID)
        .order_by("-last_event_at", "pk")[:PAGES_PER_CHECK]
    )


def check_for_gaps(enqueue=None):
    """Ask Facebook whether each watched page is still subscribed to our app, and queue a
    recovery (`enqueue(facebook_page_id)`, by default `enqueue_recovery`) for each that is not.
    An unreachable Facebook stops the round (the next one asks again). Returns counts:
    checked, gaps, failed."""
    enqueue = enqueue or enqueue_recovery
    close_stale_runs()
    counts = {"checked": 0, "gaps": 0, "failed": 0}
    checked = checked_pages(pages_to_watch(), _still_subscribed, "gap check", counts)
    for page, subscribed in checked:
        if not subscribed:
            counts["gaps"] += 1
            logger.info("gap check entry_point=%s: subscription gone", page.entry_point_id)
            enqueue(page.pk)
    return counts


def _still_subscribed(page):
    return _subscribed(graph.GraphClient.for_page(page), page)


def close_stale_runs():
    """Runs whose worker died are closed, so a new one can start."""
    return PageRecovery.objects.filter(
        finished_at=None, started_at__lt=timezone.now() - STALE_RUN
    ).update(finished_at=timezone.now(), error="Interrupted: the worker stopped during the run.")


# --- One run ---------------------------------------------------------------------------------
def recover_page(
    facebook_page_id, *, trigger=PageRecovery.Trigger.SUBSCRIPTION_LOST, page_size=PAGE_SIZE
):
    """Recover a page's gap (see the module's docstring). Returns the finished PageRecovery, or
    None when there was nothing to do (the page gone, archived, without credentials) or another
    run of the page is under way."""
    page = (
        FacebookPage.objects.select_related("entry_point__campaign")
        .filter(pk=facebook_page_id, entry_point__is_archived=False)
        .first()
    )
    if page is None or not page.page_id or not page.has_credentials:
        return None
    recovery = _start(page, trigger)
    if recovery is None:
        logger.info("recovery entry_point=%s: another run is under way", page.entry_point_id)
        return None
    pacer = _Pacer()
    outcome = {"recovered_count": 0}
    try:
        client = graph.GraphClient.for_page(page)
        if not _subscribed(client, page):
            client.subscribe_page(page.page_id, WEBHOOK_FIELDS)
            recovery.resubscribed_at = timezone.now()
            PageRecovery.objects.filter(pk=recovery.pk).update(
                resubscribed_at=recovery.resubscribed_at
            )
        _fetch_and_store(client, page, _since(recovery), pacer, page_size, outcome)
    except CallBudgetSpent:
        outcome["error"] = (
            f"Stopped after {pacer.calls} calls to Facebook (its limit is 2 a second): press "
            "Recover to fetch the rest."
        )
    except graph.TokenInvalid as exc:
        mark_token_invalid(page, exc, while_doing="recovering missed messages")
        outcome["error"] = "Facebook rejected the Page Access Token: paste a new one."
    except graph.PermissionMissing as exc:
        outcome["error"] = f"Facebook refused: {exc.message}"
    except graph.GraphError as exc:
        outcome["error"] = f"Facebook did not answer as expected ({type(exc).__name__})."
    except Exception:
        outcome["error"] = "The run failed; the next check tries again."
        raise
    finally:
        _finish(recovery, calls=pacer.calls, **outcome)
    return recovery


def _start(page, trigger):
    """The run's record; None when another run of the page is under way (the unique
    constraint on unfinished runs decides between two starting at once)."""
    try:
        with transaction.atomic():
            return PageRecovery.objects.create(
                facebook_page=page, trigger=trigger, gap_started=page.last_event_at
            )
    except IntegrityError:
        return None


def _finish(recovery, *, calls, recovered_count, error=""):
    recovery.finished_at = timezone.now()
    recovery.recovered_count, recovery.graph_calls, recovery.error = recovered_count, calls, error
    PageRecovery.objects.filter(pk=recovery.pk).update(
        finished_at=recovery.finished_at,
        recovered_count=recovered_count,
        graph_calls=calls,
        error=error,
    )
    logger.info(
        "recovery page=%s: %s recovered, %s calls%s",
        recovery.facebook_page_id,
        recovered_count,
        calls,
        ", stopped" if error else "",
    )


def _subscribed(client, page):
    apps = client.get_subscribed_apps(page.page_id)
    return any(str(app.get("id")) == page.app_id for app in apps)


def _since(recovery):
    now = timezone.now()
    if recovery.trigger == PageRecovery.Trigger.MANUAL or recovery.gap_started is None:
        return now - MANUAL_WINDOW
    return max(recovery.gap_started - RECOVERY_MARGIN, now - LONGEST_GAP)


def _fetch_and_store(client, page, since, pacer, page_size, outcome):
    """Conversations come most recently updated first: the first one not updated since the
    gap began ends the listing."""
    after = ""
    while True:
        listing = pacer.call(
            client.list_conversations,
            page.page_id,
            after=after,
            limit=page_size,
            messages_limit=page_size,
        )
        for conversation in listing.items:
            updated = _graph_time(conversation.get("updated_time"))
            if updated is None or updated < since:
                return
            first = graph.ListPage.of(conversation.get("messages") or {})
            _store_conversation(client, page, conversation, first, since, pacer, page_size, outcome)
        if not listing.after:
            return
        after = listing.after


def _store_conversation(client, page, conversation, messages, since, pacer, page_size, outcome):
    """A conversation's messages since the gap began, newest first, page after page; each page
    stored once fetched (no transaction across the next call)."""
    while True:
        events = [_event(page, m) for m in messages.items]
        # Oldest first: Graph's times are to the second, so messages of one second keep the
        # order Graph listed them in (stored in that order, the last one is the preview).
        fresh = [e for e in reversed(events) if e is not None and e.timestamp >= since]
        if fresh:
            outcome["recovered_count"] += record_recovered_messages(page, fresh)
        older_reached = any(e is not None and e.timestamp < since for e in events)
        if older_reached or not messages.after:
            return
        messages = pacer.call(
            client.list_conversation_messages,
            str(conversation.get("id")),
            after=messages.after,
            limit=page_size,
        )


def _event(page, message):
    """A Conversations API message as the webhook's event of it (an echo when the page sent
    it), or None when it lacks what one needs."""
    mid = str(message.get("id") or "")
    sent_at = _graph_time(message.get("created_time"))
    sender = str((message.get("from") or {}).get("id") or "")
    recipients = (message.get("to") or {}).get("data") or [{}]
    if not mid or sent_at is None or not sender:
        return None
    from_page = sender == page.page_id
    psid = str(recipients[0].get("id") or "") if from_page else sender
    if not psid:
        return None
    text = ev.storable(str(message.get("message") or ""))
    return ev.MessageEvent(
        page_id=page.page_id,
        psid=psid,
        timestamp=sent_at,
        standby=False,
        mid=mid,
        text=text,
        # Without text it held a photo, file or sticker, which we do not fetch: the desk
        # shows "[attachment]" and the Page inbox has it.
        attachments=() if text else (ev.Attachment(type="attachment"),),
        is_echo=from_page,
        recovered=True,
    )


def _graph_time(value):
    """Graph's times, e.g. 2026-11-30T14:02:11+0000."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


# --- Queueing runs ---------------------------------------------------------------------------
RECOVER_TASK = "messenger.tasks.recover_page"


def enqueue_recovery(facebook_page_id, trigger=PageRecovery.Trigger.SUBSCRIPTION_LOST):
    """Queue a run (it may take a minute: 2 calls a second). False when the broker could not
    take it: the next check (or pressing Recover again) asks again."""
    try:
        celery_app.send_task(RECOVER_TASK, args=[facebook_page_id, str(trigger)], retry=False)
    except Exception as exc:  # any broker failure
        logger.warning("enqueue recovery %s failed: %s", facebook_page_id, type(exc).__name__)
        return False
    return True


def request_recovery(page):
    """Recover pressed on the health card: a run, once the request's transaction commits."""
    transaction.on_commit(lambda: enqueue_recovery(page.pk, PageRecovery.Trigger.MANUAL))


def latest_recovery(page):
    return PageRecovery.objects.filter(facebook_page=page).first()
