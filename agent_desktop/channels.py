"""What the desktop asks of a contact's channel, by the channel's name.

The desktop knows channels only by name; each channel registers dotted paths to its functions:
- `enqueue_send(message_id)`: queue the actual send of a queued reply,
- `reply_window(contact)`: whether and how a reply can go out now (with `can_reply`,
  `closes_at` and `reason`),
- `refresh_profile(contact_id)`: fetch the customer's profile again,
and to its limits: `max_text_length` (a longer reply goes out in parts) and
`max_attachment_bytes` (a larger file is refused).
"""

from django.db import transaction
from django.utils.module_loading import import_string

from agent_desktop.models import Channel

CHANNELS = {
    Channel.MESSENGER: {
        "enqueue_send": "messenger.outbound.enqueue_send",
        "reply_window": "messenger.outbound.reply_window",
        "refresh_profile": "messenger.services.enqueue_profile_refresh",
        "max_text_length": "messenger.limits.MAX_TEXT_LENGTH",
        "max_attachment_bytes": "messenger.limits.MAX_ATTACHMENT_BYTES",
    },
}


def _hook(contact, name):
    return import_string(CHANNELS[contact.channel][name])


def send_when_committed(message):
    """Queue the channel's send once the queued Message row is committed."""
    enqueue = _hook(message.contact, "enqueue_send")
    transaction.on_commit(lambda: enqueue(message.pk))


def reply_window(contact):
    return _hook(contact, "reply_window")(contact)


def refresh_profile(contact):
    return _hook(contact, "refresh_profile")(contact.pk)


def max_text_length(contact):
    return _hook(contact, "max_text_length")


def max_attachment_bytes(contact):
    return _hook(contact, "max_attachment_bytes")
