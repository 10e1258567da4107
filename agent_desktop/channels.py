"""The outbound hook: hands an agent's queued reply to its contact's channel.

The desktop knows channels only by name; each channel registers the dotted path of a function
`enqueue_send(message_id)` that queues the actual send (for Messenger: the Send API task).
"""

from django.db import transaction
from django.utils.module_loading import import_string

from agent_desktop.models import Channel

OUTBOUND = {
    Channel.MESSENGER: "messenger.outbound.enqueue_send",
}


def send_when_committed(message):
    """Queue the channel's send once the queued Message row is committed."""
    enqueue = import_string(OUTBOUND[message.contact.channel])
    transaction.on_commit(lambda: enqueue(message.pk))
