"""What the desktop asks of a contact's channel, through the kinds registry (campaigns.kinds).

The desktop knows a channel by its name only; the channel's app registered its hooks there.
"""

from django.db import transaction

from campaigns.kinds import kind_of_channel


def kind_of(contact):
    return kind_of_channel(contact.channel)


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


def customer_info(contact):
    """The channel's own lines for Customer Info: [(label, value)]."""
    lines = _hook(contact, "customer_info")
    return lines(contact) if lines else []


def sender_action(contact, action):
    return _hook(contact, "sender_action")(contact.pk, action)


def max_text_length(contact):
    return _hook(contact, "max_text_length")


def max_attachment_bytes(contact):
    return _hook(contact, "max_attachment_bytes")
