"""What the desktop asks of a website-chat contact (the kind's hooks, see webchat.apps).

Nothing goes over a network: a reply is "sent" once committed (the visitor's widget fetches it,
which makes it delivered, and reports what it showed, which makes it read).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from agent_desktop.models import Message
from webchat.conversation import TYPING_FOR
from webchat.models import Visitor


def enqueue_send(message_id):
    """A queued reply to a visitor is sent at once: a conditional UPDATE, so it moves from
    queued to sent once, and never back from delivered or read. An agent's reply also shows
    that they saw what the visitor wrote before it."""
    sent = Message.objects.filter(
        pk=message_id, direction=Message.Direction.OUT, status=Message.Status.QUEUED
    ).update(status=Message.Status.SENT)
    message = Message.objects.filter(pk=message_id).only("contact_id", "source").first()
    if message is not None and message.source == Message.Source.AGENT:
        _agent_saw(message.contact_id)
        # The reply is what they were typing: the visitor's "typing…" ends with it.
        Visitor.objects.filter(contact_id=message.contact_id).exclude(
            agent_typing_until=None
        ).update(agent_typing_until=None)
    return bool(sent)


@dataclass(frozen=True)
class ReplyWindow:
    """The shape of messenger.outbound.ReplyWindow (the desktop reads these fields)."""

    can_reply: bool
    messaging_type: str | None
    tag: str | None
    closes_at: datetime | None
    human_agent_until: datetime | None
    reason: str


ALWAYS_OPEN = ReplyWindow(
    True, None, None, None, None, "A website visitor can be answered at any time."
)


def reply_window(contact):
    return ALWAYS_OPEN


def sender_action(contact_id, action):
    """ "typing_on": the visitor sees "typing…" for a few seconds (the desktop sends it at most
    every 5 s while the agent types); "mark_seen": the visitor's messages so far are read."""
    if action == "typing_on":
        return bool(
            Visitor.objects.filter(contact_id=contact_id).update(
                agent_typing_until=timezone.now() + TYPING_FOR
            )
        )
    if action == "mark_seen":
        return _agent_saw(contact_id)
    raise ValueError(f"not a sender action: {action}")


def _agent_saw(contact_id):
    """Move the visitor's "read up to" to their newest message (only forward)."""
    newest = Message.objects.filter(
        contact_id=contact_id, direction=Message.Direction.IN
    ).aggregate(newest=Max("pk"))["newest"]
    if newest is None:
        return False
    visitor = Visitor.objects.filter(contact_id=contact_id)
    return bool(
        visitor.filter(agent_read_up_to__lt=newest).update(agent_read_up_to=newest)
        or visitor.filter(agent_read_up_to=None).update(agent_read_up_to=newest)
    )


def customer_info(contact):
    """Customer Info lines: plain text values (the template escapes them); addresses stay text
    unless http(s), which the desktop may show as links."""
    visitor = Visitor.objects.filter(contact=contact).first()
    if visitor is None:
        return []
    lines = [
        ("Page", visitor.page_url),
        ("Referrer", visitor.referrer),
        ("Language", visitor.language),
        ("Time zone", visitor.timezone),
        ("E-mail", visitor.email),
        ("Browser", visitor.user_agent),
    ]
    return [(label, value) for label, value in lines if value]
