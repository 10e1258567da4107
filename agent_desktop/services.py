"""Channel-neutral writes that channels call when customers act. All are idempotent.

A message is unique by its channel id (`mid`), other events by an `event_key`: the database's
unique constraints decide, so a redelivered or concurrently processed event is stored once, and
counters move only for the copy that was actually inserted.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agent_desktop import assignment, lifecycle, media
from agent_desktop.away_replies import away_replies_send
from agent_desktop.channels import max_text_length, send_when_committed, sender_action
from agent_desktop.contact_state import ActionRefused
from agent_desktop.models import Contact, Message
from agent_desktop.workflow import customer_wrote, may_act, reply_take
from config.db import update_rows

PREVIEW_LENGTH = 160


def contacts_get_or_create(keys, *, channel):
    """The contacts for many (entry point, external id) pairs in a few statements, whoever
    creates them first (the unique constraint decides). Returns
    {(entry point id, external id): (contact, created)}."""
    wanted = {(entry_point.pk, external_id): entry_point for entry_point, external_id in keys}
    if not wanted:
        return {}
    found = _contacts_by_key(wanted)
    missing = sorted(key for key in wanted if key not in found)  # same lock order everywhere
    if missing:
        Contact.objects.bulk_create(
            [
                Contact(entry_point=wanted[key], external_id=key[1], channel=channel)
                for key in missing
            ],
            ignore_conflicts=True,
        )
        found.update(_contacts_by_key(missing))
    return {key: (found[key], key in missing) for key in wanted}


def contacts_existing(keys):
    """The contacts that exist already for (entry point, external id) pairs; none is created.
    Returns {(entry point id, external id): (contact, False)}."""
    wanted = {(entry_point.pk, external_id) for entry_point, external_id in keys}
    if not wanted:
        return {}
    return {key: (contact, False) for key, contact in _contacts_by_key(wanted).items()}


def _contacts_by_key(keys):
    keys = set(keys)
    candidates = Contact.objects.select_related("entry_point").filter(
        entry_point_id__in={entry_point_id for entry_point_id, _ in keys},
        external_id__in={external_id for _, external_id in keys},
    )
    return {
        (c.entry_point_id, c.external_id): c
        for c in candidates
        if (c.entry_point_id, c.external_id) in keys
    }


@dataclass(frozen=True)
class IncomingMessage:
    """What a channel hands over for a customer's message or action."""

    sent_at: datetime
    kind: str = Message.Kind.TEXT
    text: str = ""
    attachments: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    mid: str | None = None
    event_key: str | None = None
    # Counts as the customer writing: unread count, reply window, reopening a closed contact.
    counts_as_customer_message: bool = True


def record_inbound(*, contact, incoming: IncomingMessage):
    """Store a customer's message or action; returns it, or None if it was already stored."""
    message = _insert_once(
        contact=contact,
        direction=Message.Direction.IN,
        source=Message.Source.CUSTOMER,
        status=Message.Status.RECEIVED,
        incoming=incoming,
    )
    if message is not None:
        _contacts_after_messages([(contact, [incoming])])
    return message


def record_inbound_many(items):
    """Store many customers' messages and actions, [(contact, IncomingMessage)], with one INSERT
    and each contact's counters moved once. Returns the messages stored.

    If any of them is stored already (a redelivery), the database refuses the whole INSERT and
    each is stored on its own, the unique constraints deciding, as `record_inbound` does."""
    fresh, seen = [], set()
    for contact, incoming in items:
        key = ("mid", incoming.mid) if incoming.mid else ("event", incoming.event_key)
        if key[1] and key in seen:
            continue  # the same event twice in one batch
        seen.add(key)
        fresh.append((contact, incoming))
    messages = [
        _new_message(
            contact=contact,
            direction=Message.Direction.IN,
            source=Message.Source.CUSTOMER,
            status=Message.Status.RECEIVED,
            incoming=incoming,
        )
        for contact, incoming in fresh
    ]
    try:
        with transaction.atomic():  # a savepoint: the caller's work goes on after a refusal
            Message.objects.bulk_create(messages)
    except IntegrityError:
        stored = (record_inbound(contact=c, incoming=i) for c, i in fresh)
        return [message for message in stored if message is not None]
    by_contact = {}
    for contact, incoming in fresh:
        by_contact.setdefault(contact.pk, (contact, []))[1].append(incoming)
    _contacts_after_messages(by_contact.values())
    return messages


def _contacts_after_messages(groups, *, from_customer=True):
    """Move each contact's last message (only forward: events arrive out of order) for the
    messages just stored, [(contact, [IncomingMessage])]; for the customer's, also the unread
    count and reply window, and reopen a closed contact whose customer writes. One UPDATE for
    them all, each contact's change computed from its current row (so concurrent
    workers' changes add up). Rows in id order: concurrent workers updating the same contacts
    take their locks in the same order, so they wait for each other rather than deadlock."""
    rows, customers_wrote, opened = [], [], []
    for contact, incomings in sorted(groups, key=lambda group: group[0].pk):
        latest = incomings[0]
        for incoming in incomings:  # the last of equal times wins, as if stored one by one
            if incoming.sent_at >= latest.sent_at:
                latest = incoming
        counted = [i.sent_at for i in incomings if from_customer and i.counts_as_customer_message]
        newest_inbound = max(counted) if counted else None
        if newest_inbound is not None:
            customers_wrote.append((contact, newest_inbound))
            opened.append((contact, min(counted)))
        rows.append((contact.pk, len(counted), newest_inbound, latest.sent_at, _preview(latest)))
    update_rows(
        Contact,
        columns={"counted": "int", "newest": "timestamp", "latest": "timestamp", "preview": "text"},
        rows=rows,
        assignments=_AFTER_INBOUND,
    )
    # No desk_changed() for this UPDATE (update_rows sends no signal): every caller has just
    # inserted these contacts' messages, whose hooks (MessageQuerySet.bulk_create, post_save)
    # renewed the same contacts' and campaigns' tokens, again at commit, which covers it.
    # After the UPDATE above: its row locks are held, so reopening takes no new ones.
    written_to = [contact.pk for contact, _ in customers_wrote]
    if opened:
        lifecycle.customers_wrote.send(sender=Contact, opened=opened)
    customer_wrote(written_to)
    away_replies_send(customers_wrote)
    # New or reopened conversations go to an agent once committed, where a campaign says so.
    if written_to and assignment.any_assigns_automatically(written_to):
        assignment.when_committed(assignment.assign_contacts, written_to)


_LATEST_IS_NEWER = "{table}.last_message_at IS NULL OR {table}.last_message_at <= v.latest"
_AFTER_INBOUND = f"""
    unread_count = {{table}}.unread_count + v.counted,
    last_inbound_at = CASE
        WHEN v.newest IS NULL THEN {{table}}.last_inbound_at
        WHEN {{table}}.last_inbound_at IS NULL OR {{table}}.last_inbound_at < v.newest
            THEN v.newest
        ELSE {{table}}.last_inbound_at END,
    last_message_at = CASE WHEN {_LATEST_IS_NEWER} THEN v.latest
        ELSE {{table}}.last_message_at END,
    last_message_preview = CASE WHEN {_LATEST_IS_NEWER} THEN v.preview
        ELSE {{table}}.last_message_preview END
"""


def record_outbound_echo(*, contact, incoming: IncomingMessage, from_this_app: bool):
    """A message the page sent, as echoed back by the channel.

    Ours (sent through this app) is matched by mid and confirmed as sent; one sent from elsewhere
    (the page's inbox, another app) is stored so agents see the whole conversation.
    """
    updated = Message.objects.filter(
        mid=incoming.mid, direction=Message.Direction.OUT, status=Message.Status.QUEUED
    ).update(status=Message.Status.SENT)
    if updated or Message.objects.filter(mid=incoming.mid).exists():
        return None
    message = _insert_once(
        contact=contact,
        direction=Message.Direction.OUT,
        source=Message.Source.AGENT if from_this_app else Message.Source.PAGE,
        status=Message.Status.SENT,
        incoming=incoming,
    )
    if message is not None:
        _contacts_after_messages([(contact, [incoming])], from_customer=False)
    return message


def mark_delivered(*, contact, mids=(), watermark=None):
    """Outgoing messages the channel says were delivered: by mid, and all sent up to watermark."""
    return mark_delivered_many([(contact, mids, watermark)])


def mark_delivered_many(receipts):
    """Delivery receipts of many contacts, [(contact, mids, watermark)], in one UPDATE. A
    receipt only moves a message forward (to delivered, never back from read), so applying a
    batch's receipts together ends where applying them one by one, in any order, would."""
    merged = {}  # a contact's receipts: every mid, and the highest watermark covers the others
    for contact, mids, watermark in receipts:
        _, all_mids, highest = merged.get(contact.pk, (contact, set(), None))
        if watermark is not None and (highest is None or watermark > highest):
            highest = watermark
        merged[contact.pk] = (contact, all_mids | set(mids), highest)
    condition = Q()
    for contact_pk, (_, mids, watermark) in sorted(merged.items()):
        delivered = Q(mid__in=list(mids)) if mids else Q()
        if watermark is not None:
            delivered |= Q(sent_at__lte=watermark)
        if delivered:
            condition |= Q(contact_id=contact_pk) & delivered
    if not condition:
        return 0
    return (
        # The contacts named apart too: the contact index then finds the rows, where the OR
        # alone had the whole (sent_at, direction) index scanned.
        Message.objects.filter(contact_id__in=sorted(merged), direction=Message.Direction.OUT)
        .filter(condition, status__in=[Message.Status.QUEUED, Message.Status.SENT])
        .exclude(mid=None)
        .update(status=Message.Status.DELIVERED)
    )


def mark_read(*, contact, watermark):
    """Every outgoing message sent up to the watermark has been read."""
    return mark_read_many([(contact, watermark)])


def mark_read_many(receipts):
    """Read receipts of many contacts, [(contact, watermark)], in one UPDATE (each contact's
    highest watermark covers its others)."""
    highest = {}
    for contact, watermark in receipts:
        if watermark is not None and (contact.pk not in highest or watermark > highest[contact.pk]):
            highest[contact.pk] = watermark
    if not highest:
        return 0
    condition = Q()
    for contact_pk, watermark in sorted(highest.items()):
        condition |= Q(contact_id=contact_pk, sent_at__lte=watermark)
    return (
        Message.objects.filter(
            condition,
            contact_id__in=sorted(highest),  # for the contact index (see mark_delivered_many)
            direction=Message.Direction.OUT,
            status__in=[Message.Status.QUEUED, Message.Status.SENT, Message.Status.DELIVERED],
        )
        .exclude(mid=None)
        .update(status=Message.Status.READ)
    )


def contact_channel_details_update(*, contact, **values):
    """Set keys of the contact's `channel_details`, keeping the others (the channel's own
    fields, see Contact). The row is read again under its lock and merged, so two writers at
    once (a profile fetch, a routing change) both land. Nothing is written when the contact
    already holds these values."""
    if all(contact.channel_details.get(key) == value for key, value in values.items()):
        return
    with transaction.atomic():
        current = (
            Contact.objects.select_for_update()
            .filter(pk=contact.pk)
            .values_list("channel_details", flat=True)
            .first()
        )
        if current is None:  # deleted meanwhile
            return
        merged = {**current, **values}
        Contact.objects.filter(pk=contact.pk).update(channel_details=merged)
    contact.channel_details = merged


def _insert_once(*, contact, direction, source, status, incoming):
    message = _new_message(
        contact=contact, direction=direction, source=source, status=status, incoming=incoming
    )
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's work
            message.save(force_insert=True)
    except IntegrityError:
        return None
    return message


def _new_message(*, contact, direction, source, status, incoming):
    return Message(
        contact=contact,
        direction=direction,
        source=source,
        status=status,
        kind=incoming.kind,
        text=incoming.text,
        attachments=incoming.attachments,
        details=incoming.details,
        mid=incoming.mid or None,
        event_key=incoming.event_key or None,
        sent_at=incoming.sent_at,
    )


def _preview(incoming):
    if incoming.text:
        return incoming.text[:PREVIEW_LENGTH]
    if incoming.attachments:
        kinds = ", ".join(sorted({_attachment_kind(a) for a in incoming.attachments}))
        return f"[{kinds}]"
    return f"[{Message.Kind(incoming.kind).label.lower()}]"


def _attachment_kind(attachment):
    return "sticker" if attachment.get("sticker_id") else attachment.get("type", "file")


# --- What agents do ---------------------------------------------------------------------------
def contact_mark_read(*, contact, agent):
    """Opening a conversation reads it, unless it belongs to someone else."""
    if contact.unread_count and contact.assigned_to_id in (None, agent.pk):
        # The page loaded the contact with its campaign: the desk's tokens need no query.
        Contact.objects.filter(pk=contact.pk).update_loaded([contact], unread_count=0)
        contact.unread_count = 0


# --- What the customer sees of the agent: typing and seen ----------------------------------
# At most one "typing…" per contact this often, however many agents type, in any process.
TYPING_INTERVAL = timedelta(seconds=5)


def _may_answer(contact, agent):
    """Whether the agent may write to this customer now (the workflow's rule for replies)."""
    return contact.status != Contact.Status.CLOSED and may_act(contact, agent)


def agent_typing(*, contact, agent):
    """The agent types a reply: the customer sees "typing…". Rate-limited by a conditional
    UPDATE (of concurrent calls within TYPING_INTERVAL only one matches); sent by a task once
    the request's work is committed. Returns whether one was queued."""
    if not _may_answer(contact, agent):
        return False
    now = timezone.now()
    due = Q(typing_sent_at=None) | Q(typing_sent_at__lte=now - TYPING_INTERVAL)
    if not Contact.objects.filter(due, pk=contact.pk).update(typing_sent_at=now):
        return False
    transaction.on_commit(lambda: sender_action(contact, "typing_on"))
    return True


def conversation_opened(*, contact, agent):
    """The agent opened the conversation: one "seen" for the customer per opening (not per
    poll of the live panel), when the agent may answer them."""
    if _may_answer(contact, agent) and contact.last_inbound_at is not None:
        transaction.on_commit(lambda: sender_action(contact, "mark_seen"))


def reply_retry(*, message, agent):
    """Send a failed reply again: the same message, queued again only if it is still failed
    and was never sent (a conditional UPDATE, so two clicks queue it once; the send itself is
    claimed once per attempt, see messenger.outbound)."""
    contact = message.contact
    if message.source == Message.Source.AUTOMATIC:
        raise ActionRefused("An automatic reply is not sent again: answer the customer yourself.")
    if not _may_answer(contact, agent):
        raise ActionRefused("Only the agent answering this customer can send again.")
    retried = Message.objects.filter(
        pk=message.pk,
        direction=Message.Direction.OUT,
        status=Message.Status.FAILED,
        mid=None,
    ).update(status=Message.Status.QUEUED, error="")
    if not retried:
        raise ActionRefused("This message is not failed any more.")
    message.status, message.error = Message.Status.QUEUED, ""
    send_when_committed(message)
    return message


def split_text(text, limit):
    """A reply longer than the channel takes (`limit` characters) goes out in parts, cut at a
    paragraph, line or word break where there is one."""
    parts = []
    text = text.strip()
    while len(text) > limit:
        cut = max(text.rfind(sep, 0, limit + 1) for sep in ("\n\n", "\n", " "))
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def reply_send(*, contact, agent, text="", upload=None, can_reply=True, refusal=""):
    """Queue an agent's reply (text and/or one file); each part is sent once committed.

    `can_reply`/`refusal` come from the channel's reply window, checked by the caller. A file is
    an image only when its bytes decode as one (agent_desktop.media), whatever the browser said.
    """
    if contact.entry_point.is_archived:
        raise ActionRefused(
            "This conversation's entry point is archived: it is kept to read, not to answer."
        )
    if not can_reply:
        raise ActionRefused(refusal or "This customer can't be answered on this channel now.")
    parts = split_text(text or "", max_text_length(contact))
    if not parts and upload is None:
        raise ActionRefused("Write a message or choose a file to send.")
    attachment = _kept_upload(upload) if upload is not None else None  # decoded before locking
    with transaction.atomic():
        return _queue_reply(contact, agent, parts, upload, attachment)


def _kept_upload(upload):
    """The attachment entry for an agent's file, and the file renamed after what it is."""
    data = upload.read()
    upload.seek(0)
    content_type = media.image_type(data)
    attachment = {
        "type": "image" if content_type else "file",
        "name": upload.name,
        "size": upload.size,
    }
    upload.name = media.stored_name(content_type)
    return attachment


def _queue_reply(contact, agent, parts, upload, attachment):
    reply_take(contact=contact, agent=agent)  # answering a customer takes them, or is refused
    now = timezone.now()
    messages = [_queue_outgoing(contact, agent, now, text=part) for part in parts]
    if upload is not None:
        messages.append(
            _queue_outgoing(contact, agent, now, upload=upload, attachments=[attachment])
        )
    last = messages[-1]
    Contact.objects.filter(pk=contact.pk).update(
        last_message_at=now,
        last_message_preview=(last.text or f"[{last.attachments[0]['type']}]")[:PREVIEW_LENGTH],
        unread_count=0,
    )
    lifecycle.agent_replied.send(sender=Contact, contact=contact, agent=agent, at=now)
    for message in messages:
        send_when_committed(message)
    return messages


def upload_name(message):
    """The name the agent's file had (its stored name is random)."""
    first = message.attachments[0] if message.attachments else None
    name = first.get("name") if isinstance(first, dict) else None
    return name if isinstance(name, str) and name else message.upload.name.rsplit("/", 1)[-1]


def _queue_outgoing(contact, agent, now, *, text="", upload=None, attachments=()):
    return Message.objects.create(
        contact=contact,
        direction=Message.Direction.OUT,
        source=Message.Source.AGENT,
        status=Message.Status.QUEUED,
        kind=Message.Kind.ATTACHMENT if upload else Message.Kind.TEXT,
        text=text,
        upload=upload or "",
        attachments=list(attachments),
        sent_by=agent,
        sent_at=now,
    )


# --- Erasing ---------------------------------------------------------------------------------
def conversations_erase(*, entry_point):
    """Delete an entry point's contacts and their messages (in the caller's transaction) and,
    once committed, the files kept for them: profile pictures and agents' uploads. Returns
    (contacts, messages). Only campaigns.services.entry_point_erase_conversations calls it."""
    contacts = Contact.objects.filter(entry_point=entry_point)
    messages = Message.objects.filter(contact__entry_point=entry_point)
    kept = [
        (Contact.profile_pic.field.storage, name)
        for name in contacts.exclude(profile_pic="").values_list("profile_pic", flat=True)
    ] + [
        (Message.upload.field.storage, name)
        for name in messages.exclude(upload="").values_list("upload", flat=True)
    ]
    _, erased_messages = messages.delete()
    _, erased_contacts = contacts.delete()
    transaction.on_commit(lambda: _delete_files(kept))
    return erased_contacts.get(Contact._meta.label, 0), erased_messages.get(Message._meta.label, 0)


def _delete_files(kept):
    for storage, name in kept:
        storage.delete(name)
