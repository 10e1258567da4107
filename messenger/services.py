"""Messenger ingestion: store a webhook delivery, process it into contacts and messages, and
fetch customers' profiles. Every step is idempotent, so a retry or a replay changes nothing."""

import hashlib
import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from agent_desktop import media
from agent_desktop import services as desktop
from agent_desktop.models import Contact, Message
from config.db import update_rows
from messenger import events as ev
from messenger import graph
from messenger.models import FacebookPage, WebhookDelivery
from messenger.publisher import BatchPublisher

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_PROCESSING_ATTEMPTS = 5
PROFILE_FIELDS = ("first_name", "last_name", "profile_pic", "locale", "timezone", "gender")
BASIC_PROFILE_FIELDS = ("first_name", "last_name", "profile_pic")
PROFILE_MAX_AGE = timedelta(days=1)
PROFILE_PICTURE_MAX_BYTES = 5 * 1024 * 1024
# A contact whose first profile fetch has not succeeded is asked for again by its messages
# after this long.
PROFILE_ASK_AGAIN_AFTER = timedelta(minutes=2)
LAST_EVENT_PRECISION = timedelta(minutes=1)
ENTRY_POINT_ARCHIVED = "the entry point is archived"
# Kept, not applied: replayable from the delivery log once the campaign is active again.
CAMPAIGN_INACTIVE = "campaign inactive"


# --- Receiving -------------------------------------------------------------------------------
class SignatureInvalid(Exception):
    """The body is not signed with the entry point's App Secret."""


@sensitive_variables("app_secret", "expected")
def verify_signature(*, body: bytes, header: str, app_secret: str) -> None:
    """Check `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` in constant time."""
    if not app_secret:
        raise SignatureInvalid("the entry point has no App Secret, so nothing can be verified")
    if not header:
        raise SignatureInvalid("no X-Hub-Signature-256 header")
    algorithm, _, signature = header.partition("=")
    if algorithm != "sha256" or len(signature) != 64:
        raise SignatureInvalid("X-Hub-Signature-256 is not 'sha256=' and 64 hex digits")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        raise SignatureInvalid("X-Hub-Signature-256 does not match the body")


def store_delivery(*, page_id: int, body: str) -> None:
    """Store a verified body; a worker is woken to take it once the row is committed.

    One INSERT written out rather than `objects.create()`: the webhook runs it on every post,
    and the ORM's model instance and SQL compilation cost more than the INSERT (bench/)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_DELIVERY,
            [page_id, connection.ops.adapt_datetimefield_value(timezone.now()), body],
        )
    transaction.on_commit(wake_workers)


# Our own table name and constants; the values are parameters.
_INSERT_DELIVERY = (
    f"INSERT INTO {WebhookDelivery._meta.db_table} "  # noqa: S608
    "(facebook_page_id, received_at, body, status, attempts, last_error, event_kinds) "
    f"VALUES (%s, %s, %s, '{WebhookDelivery.Status.RECEIVED}', 0, '', '[]')"
)
# How long a task goes on taking waiting deliveries before it hands over to a new task (so a
# worker's other tasks, replies and profiles, are not held back by a long burst).
DRAIN_SECONDS = 1.0
# How long a task keeps looking (every `LINGER_POLL_SECONDS`) once nothing waits: while posts
# keep coming, a worker is there to take them within milliseconds, and the web processes need
# to publish wake-ups only after a quiet moment (at most every `WAKE_INTERVAL_SECONDS`).
LINGER_SECONDS = 0.5
LINGER_POLL_SECONDS = 0.02
WAKE_INTERVAL_SECONDS = 0.5


def enqueue_processing(delivery_ids=()):
    """Ask a worker to process waiting deliveries (these first). A broker outage must not lose
    them or fail the webhook: the rows are stored, and the periodic sweep enqueues them again."""
    from messenger.tasks import process_deliveries

    return enqueue(process_deliveries, list(delivery_ids))


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


def enqueue(task, arg):
    """Send a task taking one argument (an id, or a list of ids); returns False when the
    broker could not take it. After a broker failure, skip sending for a few seconds instead
    of making every caller wait for the broker's connection timeout; the caller's sweep
    catches up."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(args=[arg], retry=False)
    except Exception as exc:  # any broker failure: the sweep (or the next event) catches up
        _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS
        logger.warning("enqueue %s(%s) failed: %s", task.name, _describe(arg), type(exc).__name__)
        return False
    return True


def _describe(arg):
    return f"{len(arg)} ids" if isinstance(arg, list) else arg


# --- Processing ------------------------------------------------------------------------------
def process_delivery(delivery_id: int) -> WebhookDelivery | None:
    """Apply a stored delivery's events. Safe to run twice, or on two workers at once."""
    delivery = _deliveries(pk=delivery_id).first()
    if delivery is None:
        logger.info("process_delivery: delivery %s no longer exists", delivery_id)
        return None
    _count_attempt([delivery])
    with transaction.atomic():
        _apply_deliveries([delivery])
    return delivery


def process_deliveries(
    delivery_ids=(), *, batch_size=None, max_seconds=DRAIN_SECONDS, linger_seconds=0.0
):
    """Take the deliveries waiting (`delivery_ids` first) in batches and apply each batch in
    one transaction: each contact looked up once, its messages inserted in one statement.
    Goes on until nothing has been waiting for `linger_seconds`, or for `max_seconds` and then
    asks for another task if more waits. Returns the ids to try again later.

    When the workers fall behind, batches grow and each statement does more. If a batch
    fails, each of its deliveries is applied on its own, so one bad delivery holds no other
    back."""
    batch_size = batch_size or settings.DELIVERY_BATCH_SIZE
    deadline = time.monotonic() + max_seconds
    delivery_ids, again, quiet_until, took_any = list(delivery_ids), [], None, False
    while True:
        claimed = _claim(delivery_ids, batch_size)
        delivery_ids = []
        if claimed:
            again += _apply_batch(claimed)
            quiet_until, took_any = None, True
            if time.monotonic() > deadline:
                enqueue_processing()  # the rest, after the worker's other tasks
                break
            continue
        # Nothing waits. A task that found work keeps looking a little (more is likely on its
        # way); one that found none (its deliveries were taken by another) ends at once.
        now = time.monotonic()
        quiet_until = quiet_until or now + linger_seconds
        if not took_any or now >= quiet_until or now > deadline:
            break
        time.sleep(LINGER_POLL_SECONDS)
    return again


def _apply_batch(claimed):
    deliveries = list(_deliveries(pk__in=claimed).order_by("received_at", "pk"))
    if len(deliveries) < len(claimed):  # stored while their page was being deleted
        gone = set(claimed) - {d.pk for d in deliveries}
        WebhookDelivery.objects.filter(pk__in=gone).delete()
        logger.info("dropped %s deliveries of deleted pages", len(gone))
    try:
        with transaction.atomic():
            _apply_deliveries(deliveries)
        return []
    except Exception as exc:
        logger.warning(
            "batch of %s deliveries failed (%s); applying each on its own",
            len(deliveries),
            type(exc).__name__,
        )
    again = []
    for delivery in deliveries:
        try:
            with transaction.atomic():
                _apply_deliveries([delivery])
        except Exception as exc:
            if record_processing_failure(delivery.pk, exc):
                again.append(delivery.pk)
    return again


def _claim(delivery_ids, batch_size):
    """Take deliveries to process and count the attempt (committed at once, so a delivery that
    kills its worker is counted too): those named, then those waiting for their first attempt,
    oldest first, up to `batch_size`. Rows are locked with SKIP LOCKED (PostgreSQL), so
    workers never wait for each other. A delivery already attempted is taken again only when
    named by the sweep (its worker died) or by its own retry (`process_delivery`), never by a
    worker while another is at it."""
    waiting = Q(status=WebhookDelivery.Status.RECEIVED)
    mine = Q(pk__in=delivery_ids)
    with transaction.atomic():
        claimed = list(
            WebhookDelivery.objects.filter(waiting & (Q(attempts=0) | (mine & ~Q(swept_at=None))))
            .select_for_update(skip_locked=True)
            .order_by(Case(When(mine, then=Value(0)), default=Value(1)), "received_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        WebhookDelivery.objects.filter(pk__in=claimed).update(attempts=F("attempts") + 1)
    return claimed


def _deliveries(**filters):
    return WebhookDelivery.objects.select_related("facebook_page__entry_point__campaign").filter(
        **filters
    )


def _count_attempt(deliveries):
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        attempts=F("attempts") + 1
    )
    for delivery in deliveries:
        delivery.attempts += 1


def _apply_deliveries(deliveries):
    """Apply the deliveries' events, in order, and record each delivery's outcome. Runs in the
    caller's transaction. A customer's messages and actions go to the desktop together
    (`record_inbound_many`); receipts, echoes and routing changes are applied as they come, as
    their effects do not depend on the messages stored with them."""
    outcomes, routed = [], []
    for delivery in deliveries:
        if delivery.facebook_page.entry_point.is_archived:  # stored just before it was archived
            outcomes.append((delivery, WebhookDelivery.Status.IGNORED, [], ENTRY_POINT_ARCHIVED))
            continue
        if not delivery.facebook_page.entry_point.campaign.is_active:
            outcomes.append((delivery, WebhookDelivery.Status.IGNORED, [], CAMPAIGN_INACTIVE))
            continue
        try:
            parsed = ev.parse_body(ev.load_body(delivery.body))
        except (ValueError, RecursionError, ev.PayloadError) as exc:
            outcomes.append(
                (delivery, WebhookDelivery.Status.IGNORED, [], f"not a Messenger body: {exc}")
            )
            continue
        if parsed.ignored_reason:
            outcomes.append((delivery, WebhookDelivery.Status.IGNORED, [], parsed.ignored_reason))
            continue
        routed.append((delivery, parsed, _pages_for(delivery.facebook_page, parsed.events)))

    contacts = _contacts_for(routed)
    inbound, new_contacts, last_event = [], {}, {}
    for delivery, parsed, pages in routed:
        notes, acted = [], False
        for event in parsed.events:
            page = pages.get(event.page_id)
            found = None if page is None else contacts.get((page.entry_point_id, event.psid))
            if isinstance(event, ev.IgnoredEvent):
                notes.append(f"{event.kind}: {event.reason}")
            elif page is None:
                notes.append(f"{event.kind}: page {event.page_id} is not served here")
            elif found is None:
                notes.append(f"{event.kind}: {NO_CONVERSATION_YET}")
            else:
                contact, created = found
                incoming = _apply(page, event, contact)
                if incoming is not None:
                    inbound.append((contact, incoming))
                if _profile_wanted(contact, created):
                    new_contacts[contact.pk] = True
                acted = True
        for page in pages.values():
            if page.pk not in last_event or last_event[page.pk][1] < delivery.received_at:
                last_event[page.pk] = (page, delivery.received_at)
        status = WebhookDelivery.Status.PROCESSED if acted else WebhookDelivery.Status.IGNORED
        outcomes.append((delivery, status, parsed.kinds, "; ".join(notes)[:2000]))

    desktop.record_inbound_many(inbound)
    for page, received_at in last_event.values():
        _note_last_event(page, received_at)
    _finish(outcomes)
    if new_contacts:
        transaction.on_commit(lambda: enqueue_profile_fetch(new_contacts))


# Why a receipt, reaction, opt-in, handover, edit or unsend of a customer we have no
# conversation with is kept but not applied (they never make a contact by themselves).
NO_CONVERSATION_YET = "no conversation with this customer yet"


def _starts_conversation(event):
    """A customer's message or button tap (and a page's message, echoed) is a conversation;
    receipts, opt-ins, handovers and signals about a message only apply to one that exists:
    a contact made for them would be an empty row in the agents' queue."""
    return isinstance(event, ev.MessageEvent | ev.PostbackEvent | ev.ReferralEvent)


def _contacts_for(routed):
    """{(entry point id, psid): (contact, created)} for the events of these deliveries:
    created for the events that start a conversation, only looked up for the others."""
    creating, existing = [], []
    for _, parsed, pages in routed:
        for event in parsed.events:
            if isinstance(event, ev.IgnoredEvent) or event.page_id not in pages:
                continue
            key = (pages[event.page_id].entry_point, event.psid)
            (creating if _starts_conversation(event) else existing).append(key)
    contacts = desktop.contacts_get_or_create(creating, channel="messenger")
    wanted = [key for key in existing if (key[0].pk, key[1]) not in contacts]
    contacts.update(desktop.contacts_existing(wanted))
    return contacts


def record_processing_failure(delivery_id: int, error: Exception) -> bool:
    """Note a failed attempt; returns True when the delivery should be tried again."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return False
    give_up = delivery.attempts >= MAX_PROCESSING_ATTEMPTS
    # Shown on the delivery log and the entry point: no code point a page can't hold.
    reason = ev.storable(f"{type(error).__name__}: {error}")[:2000]
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.FAILED if give_up else WebhookDelivery.Status.RECEIVED,
        last_error=reason,
    )
    if give_up:  # visible on the entry point, where the admin looks
        FacebookPage.objects.filter(pk=delivery.facebook_page_id).update(
            last_error=f"Webhook delivery {delivery_id} could not be processed: {reason}",
            last_error_at=timezone.now(),
        )
    logger.warning(
        "delivery %s failed (attempt %s%s): %s",
        delivery_id,
        delivery.attempts,
        ", giving up" if give_up else "",
        type(error).__name__,
    )
    return not give_up


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
    return _enqueue_in_batches(enqueue_processing, stale, "sweep re-enqueued %s deliveries")


def _enqueue_in_batches(enqueue_batch, ids, log_message):
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
    from messenger.tasks import process_delivery

    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.RECEIVED, attempts=0, last_error=""
    )
    transaction.on_commit(lambda: enqueue(process_delivery, delivery.pk))


def _finish(outcomes):
    """Record each delivery's outcome, [(delivery, status, event kinds, note)], in one UPDATE."""
    now = timezone.now()
    for delivery, status, kinds, note in outcomes:
        delivery.status, delivery.event_kinds, delivery.last_error = status, kinds, note
        delivery.processed_at = now
    update_rows(
        WebhookDelivery,
        columns={"status": "text", "kinds": "json", "note": "text", "at": "timestamp"},
        rows=[(d.pk, status, kinds, note, now) for d, status, kinds, note in outcomes],
        assignments="status = v.status, event_kinds = v.kinds, last_error = v.note, "
        "processed_at = v.at",
    )
    for delivery, status, kinds, _ in outcomes:
        logger.info("delivery %s %s: %s", delivery.pk, status, ",".join(kinds) or "-")


def _pages_for(receiving_page, events):
    """Route entries by page id. An app's webhook gets the events of every page it serves, so an
    entry may belong to another of our pages of the same app; entries of pages we do not serve
    are ignored, and so are those of archived entry points (the page may be connected again
    elsewhere) and of inactive campaigns."""
    page_ids = {e.page_id for e in events if not isinstance(e, ev.IgnoredEvent)}
    pages = {}
    if receiving_page.page_id in page_ids:
        pages[receiving_page.page_id] = receiving_page
    others = page_ids - set(pages)
    if others and receiving_page.app_id:
        for page in FacebookPage.objects.select_related("entry_point").filter(
            app_id=receiving_page.app_id,
            page_id__in=others,
            entry_point__is_archived=False,
            entry_point__campaign__is_active=True,
        ):
            pages[page.page_id] = page
    return pages


def _note_last_event(page, received_at):
    """The page's "last event" time. Every delivery of a page would update the same row (one
    more write per delivery, and a row lock that concurrent workers queue on); a minute's
    precision is all the entry point's panel shows, so a recent value is left as it is."""
    last = page.last_event_at
    if last is not None and timedelta(0) <= received_at - last < LAST_EVENT_PRECISION:
        return
    FacebookPage.objects.filter(pk=page.pk).update(last_event_at=received_at)
    page.last_event_at = received_at


def _apply(page, event, contact):
    """Apply one event of `contact` through the desktop's services; a customer's message or
    action is returned, for the caller to store with the others."""
    sent_at = event.timestamp or timezone.now()
    inbound = None
    if isinstance(event, ev.MessageEvent):
        incoming = desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.ATTACHMENT if event.attachments else Message.Kind.TEXT,
            text=event.text,
            attachments=[_attachment(a) for a in event.attachments],
            details=_compact(
                quick_reply_payload=event.quick_reply_payload,
                reply_to_mid=event.reply_to_mid,
                metadata=event.metadata,
                app_id=event.app_id,
                standby=event.standby,
            ),
            mid=event.mid,
        )
        if event.is_echo:
            from_this_app = event.app_id == page.app_id
            if from_this_app:
                from messenger.outbound import reconcile_echo  # outbound imports this module

                # Our own send, possibly before (or instead of) its answer was recorded.
                reconcile_echo(contact=contact, mid=event.mid, metadata=event.metadata)
            desktop.record_outbound_echo(
                contact=contact, incoming=incoming, from_this_app=from_this_app
            )
        else:
            inbound = incoming
    elif isinstance(event, ev.DeliveryEvent):
        desktop.mark_delivered(contact=contact, mids=event.mids, watermark=event.watermark)
    elif isinstance(event, ev.ReadEvent):
        desktop.mark_read(contact=contact, watermark=event.watermark)
    else:
        inbound = _incoming_for_action(event, sent_at)
    desktop.contact_set_answered_elsewhere(contact=contact, answered_elsewhere=_elsewhere(event))
    return inbound


def _attachment(attachment):
    """An attachment as the desktop keeps it; a URL it must not load or link to is dropped."""
    data = attachment.as_dict()
    url = data.get("url") or ""
    if url and not media.attachment_url_allowed(attachment.type, url):
        logger.info("attachment URL dropped: %s on %r", attachment.type, url[:60])
        data["url"] = ""
    return data


def _incoming_for_action(event, sent_at):
    """Postbacks, referrals, reactions, edits, unsends, opt-ins and handovers, as the agent
    should see them."""
    stamp = int(sent_at.timestamp() * 1000)
    key = f"{event.kind}:{event.page_id}:{event.psid}:{stamp}"
    if isinstance(event, ev.PostbackEvent):
        return desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.POSTBACK,
            text=event.title,
            details=_compact(payload=event.payload, referral=event.referral),
            mid=event.mid or None,
            event_key=None if event.mid else key,
        )
    if isinstance(event, ev.ReferralEvent):
        return desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.REFERRAL,
            details=_compact(
                ref=event.ref,
                source=event.source,
                type=event.referral_type,
                ad_id=event.ad_id,
                referer_uri=event.referer_uri,
            ),
            event_key=key,
            counts_as_customer_message=False,
        )
    if isinstance(event, ev.ReactionEvent):
        return desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.REACTION,
            text=event.emoji,
            details=_compact(
                reaction=event.reaction, action=event.action, target_mid=event.target_mid
            ),
            event_key=f"{key}:{event.target_mid}:{event.action}",
            counts_as_customer_message=False,
        )
    if isinstance(event, ev.EditEvent):
        # One row per edit (its number in the key): a redelivery is stored once, and the
        # latest edit wins however they arrive (see agent_desktop.signals).
        return desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.EDIT,
            text=event.text,
            details=_compact(target_mid=event.target_mid, num_edit=event.num_edit),
            event_key=f"edit:{event.target_mid}:{event.num_edit}:{stamp}",
            counts_as_customer_message=False,
        )
    if isinstance(event, ev.UnsendEvent):
        # Keyed by the removed message: it can be removed once.
        return desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.UNSEND,
            details={"target_mid": event.target_mid},
            event_key=f"unsend:{event.target_mid}",
            counts_as_customer_message=False,
        )
    if isinstance(event, ev.OptinEvent):
        return desktop.IncomingMessage(
            sent_at=sent_at,
            kind=Message.Kind.OPTIN,
            details=_compact(ref=event.ref, type=event.optin_type),
            event_key=key,
            counts_as_customer_message=False,
        )
    return desktop.IncomingMessage(
        sent_at=sent_at,
        kind=Message.Kind.HANDOVER,
        details=_compact(
            action=event.action,
            new_owner_app_id=event.new_owner_app_id,
            previous_owner_app_id=event.previous_owner_app_id,
        ),
        event_key=f"{key}:{event.action}",
        counts_as_customer_message=False,
    )


def _elsewhere(event):
    """Standby events mean another app owns the thread; a handover tells who owns it now."""
    if isinstance(event, ev.HandoverEvent) and event.action == "pass_thread_control":
        return False
    if isinstance(event, ev.HandoverEvent) and event.action == "take_thread_control":
        return True
    return event.standby


def _compact(**values):
    return {k: v for k, v in values.items() if v not in ("", None, {}, False)}


# --- Profiles --------------------------------------------------------------------------------
def _profile_is_due(contact):
    fetched = contact.profile_fetched_at
    return fetched is None or fetched < timezone.now() - PROFILE_MAX_AGE


def _profile_wanted(contact, created):
    """Ask for the profile of a new contact, and again for one whose profile is due (stale, or
    never fetched: the token was invalid, the broker was down) once the first fetch has had its
    chance. Not for every message meanwhile: a burst from a new customer would enqueue one fetch
    per delivery before the first one ran."""
    if created:
        return True
    first_chance_over = contact.created_at < timezone.now() - PROFILE_ASK_AGAIN_AFTER
    return _profile_is_due(contact) and first_chance_over


def enqueue_profile_fetch(contact_ids):
    """Ask for the profiles of these contacts, as one task."""
    from messenger.tasks import fetch_profiles

    return enqueue(fetch_profiles, list(contact_ids))


def sweep_missing_profiles(limit=500):
    """Ask again for the profiles of contacts whose first fetch was lost (the broker was down,
    the worker died) or ran out of retries: never fetched, created more than
    `PROFILE_ASK_AGAIN_AFTER` ago, their page's token not known to be invalid (those wait for a
    new token). Returns how many."""
    waiting = list(
        Contact.objects.filter(
            profile_fetched_at=None,
            created_at__lt=timezone.now() - PROFILE_ASK_AGAIN_AFTER,
            entry_point__facebook_page__isnull=False,
            entry_point__is_archived=False,
        )
        .exclude(entry_point__facebook_page__token_status=FacebookPage.TokenStatus.INVALID)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return _enqueue_in_batches(
        enqueue_profile_fetch, waiting, "profile sweep asked again for %s contacts"
    )


def enqueue_profile_refresh(contact_id):
    """An agent's "refresh profile": fetch it again now, however fresh it is."""
    Contact.objects.filter(pk=contact_id).update(profile_fetched_at=None)
    return enqueue_profile_fetch([contact_id])


# Profile calls made at once by one task: Graph answers in milliseconds to a few hundred of
# them, and a worker waiting on one call at a time would spend the burst of new customers idle.
PROFILE_FETCH_THREADS = 8


def fetch_profiles(contact_ids) -> list[int]:
    """Fill the profiles of these contacts (those due) from the User Profile API, up to
    `PROFILE_FETCH_THREADS` Graph calls at once, the results stored one by one; every outcome
    but Facebook's temporary errors is settled on the contact or its page. Returns the ids to
    try again later."""
    again = []
    by_page = {}
    for contact in _contacts_due(contact_ids):
        by_page.setdefault(contact.entry_point.facebook_page, []).append(contact)
    for page, contacts in by_page.items():
        client = _client_or_settle(page, contacts)
        if client is None:
            continue
        with ThreadPoolExecutor(min(PROFILE_FETCH_THREADS, len(contacts))) as pool:
            outcomes = list(pool.map(partial(_outcome, _remote_profile, client, page), contacts))
        for contact, outcome in zip(contacts, outcomes, strict=True):
            try:
                _settle_profile(contact, page, outcome)
            except graph.GraphError as exc:
                if exc.retryable:
                    again.append(contact.pk)
    return again


def _contacts_due(contact_ids):
    contacts = Contact.objects.select_related("entry_point__facebook_page").filter(
        pk__in=list(contact_ids)
    )
    return [contact for contact in contacts if _profile_is_due(contact)]


def _client_or_settle(page, contacts):
    """A Graph client for the page, or None after settling what its contacts wait for."""
    if page.token_status == FacebookPage.TokenStatus.INVALID:
        # The profile waits for a new token; the contact's next message asks again.
        logger.info("profile fetch skipped for %s contacts: page token invalid", len(contacts))
        return None
    try:
        return graph.GraphClient.for_page(page)
    except Exception as exc:  # SecretUnreadable: the admin must enter the secrets again
        for contact in contacts:
            _profile_failed(contact, str(exc))
        return None


def _outcome(call, *args):
    """The call's result, or the exception it raised (to be settled by the caller's thread)."""
    try:
        return call(*args)
    except Exception as exc:
        return exc


def _remote_profile(client, page, contact):
    """The network part of a profile fetch (no database: it runs in a pool's thread). Returns
    (profile, picture or None, whether only the basic fields may be asked for)."""
    basic_only = page.profile_fields_basic_only
    profile = None
    if not basic_only:
        try:
            profile = client.get_user_profile(contact.external_id, PROFILE_FIELDS)
        except graph.ProfileFieldsDenied:
            basic_only = True  # the page lacks the extended profile permissions
    if profile is None:
        profile = client.get_user_profile(contact.external_id, BASIC_PROFILE_FIELDS)
    url = profile.get("profile_pic")
    picture = _download_picture(contact, url) if isinstance(url, str) and url else None
    return profile, picture, basic_only


def _settle_profile(contact, page, outcome):
    """Store a fetched profile, or settle why there is none. Raises the graph errors that may
    succeed later."""
    if isinstance(outcome, graph.ProfileUnavailable):
        return _profile_failed(contact, "Facebook has no profile for this person")
    if isinstance(outcome, graph.TokenInvalid):
        mark_token_invalid(page, outcome, while_doing="fetching a customer's profile")
        raise outcome
    if isinstance(outcome, graph.GraphError):
        if outcome.retryable:
            raise outcome
        return _profile_failed(contact, f"Facebook refused the profile: {outcome}")
    if isinstance(outcome, Exception):
        raise outcome
    profile, picture, basic_only = outcome
    profile = ev.storable(profile)  # names are kept and shown like messages' text
    if basic_only and not page.profile_fields_basic_only:  # remember: ask for the basics
        FacebookPage.objects.filter(pk=page.pk).update(profile_fields_basic_only=True)
        page.profile_fields_basic_only = True
    contact.first_name = str(profile.get("first_name") or "")[:120]
    contact.last_name = str(profile.get("last_name") or "")[:120]
    contact.locale = str(profile.get("locale") or "")[:16]
    tz = profile.get("timezone")
    contact.timezone = float(tz) if isinstance(tz, int | float) else None
    contact.gender = str(profile.get("gender") or "")[:32]
    contact.profile_fetched_at = timezone.now()
    contact.profile_error = ""
    if picture is not None:
        _keep_picture(contact, *picture)
    contact.save(
        update_fields=[
            "first_name",
            "last_name",
            "locale",
            "timezone",
            "gender",
            "profile_fetched_at",
            "profile_error",
            "profile_pic",
        ]
    )
    logger.info("profile fetched contact=%s", contact.pk)
    return contact


def _download_picture(contact, url):
    """Profile picture URLs expire: a copy is kept. Only from Facebook's (or the fake's) hosts,
    and only when its bytes decode as an image. Returns (bytes, image type), or None."""
    try:
        data, _declared = graph.fetch_media(url, max_bytes=PROFILE_PICTURE_MAX_BYTES)
    except (graph.MediaRefused, graph.GraphError) as exc:
        logger.info("profile picture not kept contact=%s: %s", contact.pk, exc)
        return None
    content_type = media.image_type(data)
    if content_type is None:
        logger.info("profile picture not kept contact=%s: not an image", contact.pk)
        return None
    return data, content_type


def _keep_picture(contact, data, content_type):
    if contact.profile_pic:
        contact.profile_pic.delete(save=False)
    name = f"{contact.pk}{media.EXTENSIONS[content_type]}"
    contact.profile_pic.save(name, ContentFile(data), save=False)


def _profile_failed(contact, reason):
    Contact.objects.filter(pk=contact.pk).update(
        profile_fetched_at=timezone.now(), profile_error=reason[:255]
    )
    logger.info("profile not available contact=%s: %s", contact.pk, reason)
    return contact


def mark_token_invalid(page, exc, *, while_doing):
    """Graph refused the page's token: show it on the entry point, where the admin looks."""
    FacebookPage.objects.filter(pk=page.pk).update(
        token_status=FacebookPage.TokenStatus.INVALID,
        last_error=(
            f"Facebook rejected the Page Access Token while {while_doing} ({exc}). "
            "Messages still arrive; paste a new token to get profiles and replies back."
        ),
        last_error_at=timezone.now(),
    )
