"""The away reply: a customer who writes while their campaign is closed (its business hours, see
campaigns.business_hours) gets the campaign's away message, once per conversation.

- Closed or open is decided at the time of the customer's message (the channel's timestamp),
  not when a worker gets to it.
- An automatic message is a reply inside the channel's 24-hour window, or nothing: Messenger
  allows no automatic message after it (its HUMAN_AGENT tag is for a person's replies only; the
  outbound path never tags a message of source "automatic"). A backlog older than that gets no
  away reply, which is logged.
- Once: the contact's `away_replied_at` is set by a conditional UPDATE that only matches while
  it is empty, so of two workers storing two messages of one customer at the same moment,
  exactly one queues the reply. Closing the conversation clears it
  (agent_desktop.workflow.contact_close): a customer who writes again later gets it again.
- Processing a delivery again stores no message (they are unique by mid), so it sends nothing.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from agent_desktop.channels import send_when_committed
from agent_desktop.models import Contact, Message
from campaigns.business_hours import is_open

logger = logging.getLogger(__name__)

# The reply window an automatic message must fall in (Messenger's standard messaging window).
AUTOMATIC_REPLY_WINDOW = timedelta(hours=24)


def away_replies_send(customers_wrote):
    """Queue the away reply for each [(contact, time of the customer's newest message just
    stored)] whose campaign was closed then and whose conversation has had none. Runs in the
    caller's transaction (after the contacts' rows were updated, so their locks are held);
    each reply is sent once that commits. Returns the messages queued."""
    wrote_at = {contact.pk: (contact, at) for contact, at in customers_wrote}
    if not wrote_at:
        return []
    candidates = (
        Contact.objects.filter(
            pk__in=wrote_at,
            away_replied_at=None,
            entry_point__is_archived=False,
            entry_point__campaign__is_active=True,
            entry_point__campaign__business_hours__isnull=False,
        )
        .exclude(entry_point__campaign__away_message="")
        .order_by("pk")
        .values_list(
            "pk", "entry_point__campaign__business_hours", "entry_point__campaign__away_message"
        )
    )
    now = timezone.now()
    queued = []
    for pk, schedule, away_message in candidates:
        contact, at = wrote_at[pk]
        if is_open(schedule, at):
            continue
        if now - at >= AUTOMATIC_REPLY_WINDOW:
            logger.info(
                "away reply to contact %s not sent: the customer wrote at %s, more than 24 hours "
                "ago, and no automatic message may go out after that",
                pk,
                at.isoformat(),
            )
            continue
        if not Contact.objects.filter(pk=pk, away_replied_at=None).update(away_replied_at=now):
            continue  # another worker's message of this customer took it
        queued.append(_queue_away_reply(contact, away_message, max(now, at)))
    return queued


def automatic_message_queue(contact, text, *, sent_at, details=None):
    """A message the app itself sends (no agent; never tagged, never retried), queued to go out
    through the contact's channel once committed: away replies, satisfaction surveys."""
    message = Message.objects.create(
        contact=contact,
        direction=Message.Direction.OUT,
        source=Message.Source.AUTOMATIC,
        status=Message.Status.QUEUED,
        kind=Message.Kind.TEXT,
        text=text,
        details=details or {},
        sent_at=sent_at,
    )
    send_when_committed(message)
    return message


def _queue_away_reply(contact, text, sent_at):
    message = automatic_message_queue(contact, text, sent_at=sent_at)
    logger.info("away reply %s queued for contact %s", message.pk, contact.pk)
    return message
