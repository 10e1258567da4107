"""What the desktop asks of a contact's channel, through the kinds registry (campaigns.kinds).

The desktop knows a channel by its name only; the channel's app registered its hooks there.
"""

from dataclasses import dataclass

from django.db import transaction

from campaigns.kinds import UnknownKind, all_kinds, kind_of_channel
from campaigns.models import EntryPoint


@dataclass(frozen=True)
class ContactNotice:
    """Something the channel says of a contact (`contact_notice` hook): a short badge in the
    list, its tooltip, and a sentence above the conversation."""

    badge: str
    title: str
    text: str


@dataclass(frozen=True)
class RepliesBlocked:
    """An entry point whose replies can't go out (`replies_blocked` hook), for the desktop's
    banner: why, what an admin does about it (a link to the entry point), and what an agent is
    told to ask for."""

    entry_point: EntryPoint
    reason: str
    admin_fix: str
    agent_fix: str


def kind_of(contact):
    return kind_of_channel(contact.channel)


def kind_or_none(contact):
    """The contact's kind, or None when its channel's app is not installed (any more)."""
    try:
        return kind_of(contact)
    except UnknownKind:
        return None


def _hook(contact, name):
    return kind_of(contact).hook(name)


def send_when_committed(message):
    """Queue the channel's send once the queued Message row is committed."""
    enqueue = _hook(message.contact, "enqueue_send")
    transaction.on_commit(lambda: enqueue(message.pk))


def reply_window(contact):
    return _hook(contact, "reply_window")(contact)


def refresh_profile(contact):
    refresh = _hook(contact, "refresh_profile")
    return refresh(contact.pk) if refresh else None


def fetches_profiles(contact):
    """Whether the contact's channel fetches profiles (and so an agent may ask again)."""
    kind = kind_or_none(contact)
    return kind is not None and kind.has("refresh_profile")


def customer_info(contact):
    """The channel's own lines for Customer Info: [(label, value)]."""
    kind = kind_or_none(contact)
    lines = kind.hook("customer_info") if kind else None
    return list(lines(contact)) if lines else []


def contact_select_related():
    """Relations every installed kind reads in `customer_info`: selected with an opened
    contact (a LEFT JOIN each), so the panel costs no query per channel."""
    return [path for kind in all_kinds() for path in kind.hook("contact_select_related") or ()]


def contact_notice(contact):
    """The channel's notice about this contact (a ContactNotice), or None."""
    kind = kind_or_none(contact)
    notice = kind.hook("contact_notice") if kind else None
    return notice(contact) if notice else None


def replies_blocked(entry_points):
    """[RepliesBlocked] of these entry points, each kind asked about its own."""
    blocked = []
    for kind in all_kinds():
        if kind.has("replies_blocked"):
            blocked += kind.hook("replies_blocked")(entry_points.filter(kind=kind.name))
    return blocked


def sender_action(contact, action):
    return _hook(contact, "sender_action")(contact.pk, action)


def max_text_length(contact):
    return _hook(contact, "max_text_length")


def max_attachment_bytes(contact):
    return _hook(contact, "max_attachment_bytes")
