"""The visitor's side of website chat: their session, their messages, what they see.

A visitor's message goes through the desktop's channel-neutral services
(`agent_desktop.services.record_inbound`), so the desktop does for it what it does for a
Messenger message: unread count, reopening, the away reply, automatic assignment once
committed, search. Nothing here waits on a network: the widget polls.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone

from agent_desktop import desk_changes, media
from agent_desktop.models import Contact, Message
from agent_desktop.services import IncomingMessage, contacts_get_or_create, record_inbound
from webchat.models import Visitor

CHANNEL = "webchat"
TYPING_FOR = timedelta(seconds=6)
VISITOR_KINDS = [Message.Kind.TEXT, Message.Kind.ATTACHMENT]
_FILE_SALT = "webchat.visitor-file"


class ChatClosed(Exception):
    """The campaign is inactive: the visitor is told at once, and nothing is stored."""


# --- The session ------------------------------------------------------------------------------
def visitor_start(*, settings_row, details, user_agent=""):
    """A new visitor: a Contact on the entry point (channel "webchat", a random external id)
    and its Visitor row, in one transaction. An inactive campaign makes no contact."""
    entry_point = settings_row.entry_point
    if not entry_point.campaign.is_active:
        raise ChatClosed("This chat is closed.")
    external_id = "web-" + secrets.token_hex(10)
    with transaction.atomic():
        found = contacts_get_or_create([(entry_point, external_id)], channel=CHANNEL)
        contact, _ = found[(entry_point.pk, external_id)]
        visitor = Visitor(contact=contact, user_agent=user_agent[:120])
        _apply_details(visitor, details)
        visitor.save()
    return visitor


def visitor_update(*, visitor, details):
    """The fields the visitor sent again (a name and e-mail given later, the page they are on)."""
    if not details:
        return visitor
    with transaction.atomic():
        _apply_details(visitor, details)
        visitor.last_seen_at = timezone.now()
        visitor.save(update_fields=[*details, "last_seen_at"])
        desk_changes.contacts_changed([visitor.contact_id])  # Customer Info shows them
    return visitor


def _apply_details(visitor, details):
    for name, value in details.items():
        setattr(visitor, name, value)
    if "name" in details:
        first, _, last = details["name"].strip().partition(" ")
        Contact.objects.filter(pk=visitor.contact_id).update(
            first_name=first[:120], last_name=last.strip()[:120]
        )


# --- The visitor writes -----------------------------------------------------------------------
@dataclass(frozen=True)
class KeptFile:
    """A visitor's file, its type decided from its bytes (agent_desktop.media), as the desktop
    keeps an agent's: an image only when it decodes as one, else a download."""

    upload: object
    attachment: dict


def keep_file(upload):
    data = upload.read()
    upload.seek(0)
    content_type = media.image_type(data)
    attachment = {
        "type": "image" if content_type else "file",
        "name": upload.name[:200],
        "size": upload.size,
    }
    upload.name = media.stored_name(content_type)
    return KeptFile(upload, attachment)


def visitor_says(*, visitor, text="", kept_file=None, client_id=""):
    """Store the visitor's message (text, a file, or both) as the desktop's inbound message;
    returns (message, created). A message the widget sends again with the same `client_id`
    (its answer was lost) is the one stored the first time. Refused with ChatClosed while the
    campaign is inactive."""
    contact = visitor.contact
    if not contact.entry_point.campaign.is_active:
        raise ChatClosed("This chat is closed.")
    event_key = f"webchat:{visitor.pk}:{client_id}" if client_id else None
    incoming = IncomingMessage(
        sent_at=timezone.now(),
        kind=Message.Kind.ATTACHMENT if kept_file else Message.Kind.TEXT,
        text=text,
        attachments=[kept_file.attachment] if kept_file else [],
        event_key=event_key,
    )
    with transaction.atomic():
        message = record_inbound(contact=contact, incoming=incoming)
        if message is None:  # stored by an earlier try; its file (if any) is not kept again
            return Message.objects.get(event_key=event_key, contact=contact), False
        if kept_file is not None:
            message.upload = kept_file.upload  # saved under its random name
            message.save(update_fields=["upload"])
        Visitor.objects.filter(pk=visitor.pk).update(
            last_seen_at=incoming.sent_at, visitor_typing_until=None
        )
    return message, True


def visitor_typing(*, visitor):
    Visitor.objects.filter(pk=visitor.pk).update(
        visitor_typing_until=timezone.now() + TYPING_FOR, last_seen_at=timezone.now()
    )


# --- What the visitor sees --------------------------------------------------------------------
def messages_for_visitor(*, visitor, after=0, limit=100):
    """The visitor's conversation after message id `after`: texts and files both ways, never
    a note (notes are rows of their own) nor the desktop's events (reactions, routing)."""
    return list(
        Message.objects.filter(contact_id=visitor.contact_id, pk__gt=after, kind__in=VISITOR_KINDS)
        .select_related("sent_by")
        .order_by("pk")[:limit]
    )


UNDELIVERED = [Message.Status.QUEUED, Message.Status.SENT]


def mark_delivered(*, visitor, messages):
    """Our messages a poll just handed to the visitor's widget are delivered (a conditional
    UPDATE: one read meanwhile stays read); `messages` say so too."""
    ours = [m for m in messages if m.direction == Message.Direction.OUT and m.status in UNDELIVERED]
    if not ours:
        return 0
    updated = Message.objects.filter(
        pk__in=[m.pk for m in ours], contact_id=visitor.contact_id, status__in=UNDELIVERED
    ).update(status=Message.Status.DELIVERED)
    for message in ours:
        message.status = Message.Status.DELIVERED
    return updated


def mark_read(*, visitor, up_to):
    """The visitor's widget showed our messages up to id `up_to`: they are read."""
    return Message.objects.filter(
        contact_id=visitor.contact_id,
        direction=Message.Direction.OUT,
        pk__lte=up_to,
        status__in=[Message.Status.QUEUED, Message.Status.SENT, Message.Status.DELIVERED],
    ).update(status=Message.Status.READ)


def agent_is_typing(visitor, now=None):
    until = visitor.agent_typing_until
    return until is not None and until > (now or timezone.now())


def author_of(message, entry_point):
    """Who the visitor sees as a message's author: never an agent's username or surname."""
    if message.direction == Message.Direction.IN:
        return "You"
    if message.source == Message.Source.AGENT and message.sent_by and message.sent_by.first_name:
        return message.sent_by.first_name
    return entry_point.name


# --- Files: signed links, per visitor and message ---------------------------------------------
def file_signature(visitor, message_id):
    """The part of a file's link that proves it was made for this visitor and this message."""
    return signing.Signer(salt=_FILE_SALT).signature(f"{visitor.token_id}:{message_id}")


def file_signature_matches(visitor, message_id, signature):
    return hmac.compare_digest(file_signature(visitor, message_id), signature)
