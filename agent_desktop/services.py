"""Channel-neutral writes that channels call when customers act. All are idempotent.

A message is unique by its channel id (`mid`), other events by an `event_key`: the database's
unique constraints decide, so a redelivered or concurrently processed event is stored once, and
counters move only for the copy that was actually inserted.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest

from agent_desktop.models import Channel, Contact, Message

PREVIEW_LENGTH = 160


def contact_get_or_create(*, entry_point, external_id, channel=Channel.MESSENGER):
    """The contact for (entry point, external id); safe against two workers creating it at once."""
    return Contact.objects.get_or_create(
        entry_point=entry_point, external_id=external_id, defaults={"channel": channel}
    )


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
    if message is None:
        return None
    _touch_last_message(contact, incoming)
    if incoming.counts_as_customer_message:
        Contact.objects.filter(pk=contact.pk).update(
            unread_count=F("unread_count") + 1,
            last_inbound_at=Greatest(
                Coalesce(F("last_inbound_at"), incoming.sent_at), incoming.sent_at
            ),
        )
        contact_reopen(contact=contact)
    return message


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
        _touch_last_message(contact, incoming)
    return message


def mark_delivered(*, contact, mids=(), watermark=None):
    """Outgoing messages the channel says were delivered: by mid, and all sent up to watermark."""
    condition = Q(mid__in=list(mids)) if mids else Q()
    if watermark is not None:
        condition |= Q(sent_at__lte=watermark)
    if not condition:
        return 0
    return (
        Message.objects.filter(condition, contact=contact, direction=Message.Direction.OUT)
        .filter(status__in=[Message.Status.QUEUED, Message.Status.SENT])
        .exclude(mid=None)
        .update(status=Message.Status.DELIVERED)
    )


def mark_read(*, contact, watermark):
    """Every outgoing message sent up to the watermark has been read."""
    if watermark is None:
        return 0
    return (
        Message.objects.filter(
            contact=contact,
            direction=Message.Direction.OUT,
            sent_at__lte=watermark,
            status__in=[Message.Status.QUEUED, Message.Status.SENT, Message.Status.DELIVERED],
        )
        .exclude(mid=None)
        .update(status=Message.Status.READ)
    )


def contact_reopen(*, contact):
    """A closed contact whose customer writes again goes back to the queue (or its agent)."""
    Contact.objects.filter(pk=contact.pk, status=Contact.Status.CLOSED, assigned_to=None).update(
        status=Contact.Status.NEW
    )
    Contact.objects.filter(pk=contact.pk, status=Contact.Status.CLOSED).exclude(
        assigned_to=None
    ).update(status=Contact.Status.ASSIGNED)


def contact_set_answered_elsewhere(*, contact, answered_elsewhere: bool):
    if contact.answered_elsewhere != answered_elsewhere:
        Contact.objects.filter(pk=contact.pk).update(answered_elsewhere=answered_elsewhere)
        contact.answered_elsewhere = answered_elsewhere


def _insert_once(*, contact, direction, source, status, incoming):
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's work
            return Message.objects.create(
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
    except IntegrityError:
        return None


def _touch_last_message(contact, incoming):
    """Move the contact's last message time and preview, unless a later message is there
    already (events may arrive out of order)."""
    Contact.objects.filter(pk=contact.pk).filter(
        Q(last_message_at=None) | Q(last_message_at__lte=incoming.sent_at)
    ).update(last_message_at=incoming.sent_at, last_message_preview=_preview(incoming))


def _preview(incoming):
    if incoming.text:
        return incoming.text[:PREVIEW_LENGTH]
    if incoming.attachments:
        kinds = ", ".join(sorted({a.get("type", "file") for a in incoming.attachments}))
        return f"[{kinds}]"
    return f"[{Message.Kind(incoming.kind).label.lower()}]"
