"""Processing stored deliveries: each batch's events are routed to their pages, applied to
contacts and messages through the desktop's services, and each delivery's outcome recorded.
Every step is idempotent, so a retry or a replay changes nothing."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from agent_desktop import lifecycle, media
from agent_desktop import services as desktop
from agent_desktop.models import Contact, Message
from config.db import update_rows
from messenger import csat
from messenger import events as ev
from messenger.contact_details import ANSWERED_ELSEWHERE, answered_elsewhere
from messenger.delivery_queue import enqueue_processing
from messenger.models import FacebookPage, WebhookDelivery
from messenger.outbound import reconcile_echo
from messenger.profiles import enqueue_profile_fetch, profile_wanted

logger = logging.getLogger(__name__)

MAX_PROCESSING_ATTEMPTS = 5
LAST_EVENT_PRECISION = timedelta(minutes=1)
ENTRY_POINT_ARCHIVED = "the entry point is archived"
# Kept, not applied: replayable from the delivery log once the campaign is active again.
CAMPAIGN_INACTIVE = "campaign inactive"
# How long a task goes on taking waiting deliveries before it hands over to a new task (so a
# worker's other tasks, replies and profiles, are not held back by a long burst).
DRAIN_SECONDS = 1.0
# How long a task keeps looking (every `LINGER_POLL_SECONDS`) once nothing waits: while posts
# keep coming, a worker is there to take them within milliseconds, and the web processes need
# to publish wake-ups only after a quiet moment (at most every `WAKE_INTERVAL_SECONDS`).
LINGER_SECONDS = 0.5
LINGER_POLL_SECONDS = 0.02


def process_delivery(delivery_id: int) -> WebhookDelivery | None:
    """Apply a stored delivery's events. Safe to run twice, or on two workers at once."""
    delivery = next(iter(_deliveries(pk=delivery_id)), None)
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
            if linger_seconds and len(claimed) < batch_size:
                # It took all that waited: the next posts gather for a poll interval first. A
                # batch costs about 20 statements whatever its size, and a worker keeping up
                # with a burst claimed a few deliveries at a time, spending on those statements
                # the CPU that the web, receiving the burst, needed.
                time.sleep(LINGER_POLL_SECONDS)
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
    deliveries = _with_pages(sorted(claimed, key=lambda d: (d.received_at, d.pk)))
    if len(deliveries) < len(claimed):  # stored while their page was being deleted
        gone = {d.pk for d in claimed} - {d.pk for d in deliveries}
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
    # Read again: the failed attempt changed the objects (outcomes, the pages' last event)
    # and its transaction took those changes back from the rows.
    for delivery in _deliveries(pk__in=[d.pk for d in deliveries]):
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
    worker while another is at it. The rows are read whole here, bodies included: they do
    not change once stored, and a second SELECT per batch would only read them again."""
    waiting = Q(status=WebhookDelivery.Status.RECEIVED)
    mine = Q(pk__in=delivery_ids)
    with transaction.atomic():
        claimed = list(
            WebhookDelivery.objects.filter(waiting & (Q(attempts=0) | (mine & ~Q(swept_at=None))))
            .select_for_update(skip_locked=True)
            .order_by(Case(When(mine, then=Value(0)), default=Value(1)), "received_at", "pk")[
                :batch_size
            ]
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            attempts=F("attempts") + 1
        )
    for delivery in claimed:
        delivery.attempts += 1
    return claimed


def _deliveries(**filters):
    """The deliveries, oldest first, with their pages (see `_with_pages`)."""
    deliveries = WebhookDelivery.objects.filter(**filters).order_by("received_at", "pk")
    return _with_pages(list(deliveries))


def _with_pages(deliveries):
    """The deliveries, each with its page, entry point and campaign. The pages are read once
    for the batch (a burst is mostly one page's) and shared: a join would build the same three
    objects again for every delivery. A delivery whose page is gone (deleted while it was
    stored) is left out."""
    pages = FacebookPage.objects.select_related("entry_point__campaign").in_bulk(
        {delivery.facebook_page_id for delivery in deliveries}
    )
    found = []
    for delivery in deliveries:
        if (page := pages.get(delivery.facebook_page_id)) is not None:
            delivery.facebook_page = page
            found.append(delivery)
    return found


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
    inbound, new_contacts, last_event, receipts = [], {}, {}, _Receipts()
    for delivery, parsed, pages in routed:
        notes, acted = [], False
        for event in parsed.events:
            page = pages.get(event.page_id)
            if isinstance(event, ev.IgnoredEvent):
                notes.append(f"{event.kind}: {event.reason}")
            elif page is None:
                notes.append(f"{event.kind}: page {event.page_id} is not served here")
            elif isinstance(event, ev.PolicyEnforcementEvent):
                note_policy_enforcement(page, event)
                acted = True
            elif (found := contacts.get((page.entry_point_id, event.psid))) is None:
                notes.append(f"{event.kind}: {NO_CONVERSATION_YET}")
            else:
                contact, created = found
                incoming = _apply(page, event, contact, receipts)
                if incoming is not None:
                    inbound.append((contact, incoming))
                if profile_wanted(contact, created):
                    new_contacts[contact.pk] = True
                acted = True
        for page in pages.values():
            if page.pk not in last_event or last_event[page.pk][1] < delivery.received_at:
                last_event[page.pk] = (page, delivery.received_at)
        status = WebhookDelivery.Status.PROCESSED if acted else WebhookDelivery.Status.IGNORED
        outcomes.append((delivery, status, parsed.kinds, "; ".join(notes)[:2000]))

    desktop.record_inbound_many(inbound)
    receipts.apply()
    _survey_answers_send(inbound)
    for page, received_at in last_event.values():
        _note_last_event(page, received_at)
    _finish(outcomes)
    if new_contacts:
        transaction.on_commit(lambda: enqueue_profile_fetch(new_contacts))


def _survey_answers_send(inbound):
    """Ratings of the satisfaction survey, and the customers' texts (a text just after a rating
    is its comment), to whoever keeps them (reports). A redelivered rating is sent again: the
    first answer wins there."""
    answers, texts = [], []
    for contact, incoming in inbound:
        if csat.RATING_DETAIL in incoming.details:
            payload = incoming.details.get("quick_reply_payload")
            answers.append(csat.answer_of(contact, payload, incoming.sent_at))
        elif incoming.kind == Message.Kind.TEXT and incoming.text:
            texts.append((contact.pk, incoming.text, incoming.sent_at))
    if answers:
        lifecycle.survey_answered.send(sender=Contact, answers=answers)
    if texts:
        lifecycle.customers_texted.send(sender=Contact, texts=texts)


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
            if isinstance(event, ev.IgnoredEvent | ev.PolicyEnforcementEvent):
                continue  # no customer
            if event.page_id not in pages:
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


def record_recovered_messages(page, events) -> int:
    """Store messages fetched from the Conversations API after a gap (messenger.recovery)
    exactly as the webhook's are stored: the same contacts, the same insert, once by `mid`, in
    one transaction the caller must not hold across a Graph call. Returns how many were new."""
    events = sorted(events, key=lambda e: e.timestamp)
    mids = [event.mid for event in events]
    routed = [(None, ev.ParsedBody(events), {page.page_id: page})]
    with transaction.atomic():
        already = Message.objects.filter(mid__in=mids).count()
        contacts = _contacts_for(routed)
        inbound, new_contacts, receipts = [], {}, _Receipts()
        for event in events:
            contact, created = contacts[(page.entry_point_id, event.psid)]
            incoming = _apply(page, event, contact, receipts)
            if incoming is not None:
                inbound.append((contact, incoming))
            if profile_wanted(contact, created):
                new_contacts[contact.pk] = True
        desktop.record_inbound_many(inbound)
        receipts.apply()
        _survey_answers_send(inbound)
        stored = Message.objects.filter(mid__in=mids).count() - already
        if new_contacts:
            transaction.on_commit(lambda: enqueue_profile_fetch(new_contacts))
    return stored


# What the health card says of each policy enforcement action (others are named as they come).
POLICY_ACTIONS = {"block": "blocked", "warning": "warned", "warn": "warned"}


def note_policy_enforcement(page, event):
    """Facebook's policy enforcement becomes the page's alert and last error, with Facebook's
    reason; an unblock ends the alert. A notice older than the one kept changes nothing
    (deliveries may arrive out of order)."""
    at = event.timestamp or timezone.now()
    newer = Q(policy_at=None) | Q(policy_at__lte=at)
    rows = FacebookPage.objects.filter(newer, pk=page.pk)
    if event.action == "unblock":
        rows.update(policy_action="", policy_reason="", policy_at=at)
        logger.info("policy enforcement page=%s: unblock", page.page_id)
        return
    reason = ev.storable(event.reason)[:2000] or "Facebook gave no reason."
    did = POLICY_ACTIONS.get(event.action, f"enforced a policy ({event.action or 'unknown'}) on")
    rows.update(
        policy_action=event.action or "unknown",
        policy_reason=reason,
        policy_at=at,
        last_error=f"Facebook {did} the app on this page for a policy: {reason}",
        last_error_at=at,
    )
    logger.info("policy enforcement page=%s: %s", page.page_id, event.action or "unknown")


def _note_last_event(page, received_at):
    """The page's "last event" time. Every delivery of a page would update the same row (one
    more write per delivery, and a row lock that concurrent workers queue on); a minute's
    precision is all the entry point's panel shows, so a recent value is left as it is."""
    last = page.last_event_at
    if last is not None and timedelta(0) <= received_at - last < LAST_EVENT_PRECISION:
        return
    FacebookPage.objects.filter(pk=page.pk).update(last_event_at=received_at)
    page.last_event_at = received_at


class _Receipts:
    """The delivery and read receipts of a batch, applied together once its other events are:
    one UPDATE for each kind instead of one per receipt (the most frequent statement of a
    burst). A receipt only moves our messages forward, so the outcome is that of applying
    them as they came, and it also covers the replies whose echoes came later in the batch."""

    def __init__(self):
        self.delivered, self.read = [], []

    def apply(self):
        desktop.mark_delivered_many(self.delivered)
        desktop.mark_read_many(self.read)


def _apply(page, event, contact, receipts):
    """Apply one event of `contact` through the desktop's services; a customer's message or
    action is returned, for the caller to store with the others, and a receipt is added to
    `receipts`, for the caller to apply with the others."""
    sent_at = event.timestamp or timezone.now()
    inbound = None
    if isinstance(event, ev.MessageEvent):
        survey_answer = None if event.is_echo else csat.parse_payload(event.quick_reply_payload)
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
                recovered=event.recovered,
                **({csat.RATING_DETAIL: survey_answer[1]} if survey_answer else {}),
            ),
            mid=event.mid,
            # A survey is rated once (reports.csat: the first answer wins): a second tap on it
            # has a mid of its own but the same key, and the database keeps it out.
            event_key=csat.event_key(contact, survey_answer[0]) if survey_answer else None,
            # A survey's rating: not the customer writing (no reopening, see messenger.csat).
            counts_as_customer_message=survey_answer is None,
        )
        if event.is_echo:
            from_this_app = event.app_id == page.app_id
            if from_this_app:
                # Our own send, possibly before (or instead of) its answer was recorded.
                reconcile_echo(contact=contact, mid=event.mid, metadata=event.metadata)
            desktop.record_outbound_echo(
                contact=contact, incoming=incoming, from_this_app=from_this_app
            )
        else:
            inbound = incoming
    elif isinstance(event, ev.DeliveryEvent):
        receipts.delivered.append((contact, event.mids, event.watermark))
    elif isinstance(event, ev.ReadEvent):
        receipts.read.append((contact, event.watermark))
    else:
        inbound = _incoming_for_action(event, sent_at)
    elsewhere = _elsewhere(event)
    if answered_elsewhere(contact) != elsewhere:
        desktop.contact_channel_details_update(contact=contact, **{ANSWERED_ELSEWHERE: elsewhere})
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
