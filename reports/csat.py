"""The satisfaction survey (CSAT): one question with five ratings, asked when a conversation
closes in a campaign that wants it (`Campaign.csat_enabled`).

- Asking is the channel's: its `csat_survey(contact, cycle_id, question)` hook (campaigns.kinds)
  sends or shows the question and says what happened ("sent", or "skipped_window" when
  Messenger's 24 h window has closed and no automatic message may go out). A channel without
  the hook: "skipped_channel". Either way the cycle records it and reports count it.
- Once per cycle: the status moves from "no survey" by a conditional UPDATE, so a close
  recorded twice (a retried task) asks once.
- The answer goes to the survey's own cycle (its id travels with the question), even after the
  conversation reopened; only a cycle of the same contact that was asked and not yet answered
  takes it: the first answer wins, a second tap changes nothing.
- A rating never reopens a conversation nor counts as the customer writing (the channels store
  it as a customer's action, not a message); a free-text message within COMMENT_WITHIN of the
  rating, before any agent's reply, is also kept as the rating's comment.
"""

import logging
from datetime import timedelta

from django.db.models import Count, Q

from agent_desktop.channels import kind_or_none
from agent_desktop.models import Message
from reports.models import ConversationCycle

logger = logging.getLogger(__name__)

Csat = ConversationCycle.CsatStatus
RATINGS = range(1, 6)
COMMENT_WITHIN = timedelta(minutes=10)
COMMENT_MAX_LENGTH = 2000
SKIP_REASONS = {Csat.SKIPPED_WINDOW: "window_closed", Csat.SKIPPED_CHANNEL: "channel"}


def conversation_closed(activity):
    """Ask the customer of the cycle `activity` (a close) just ended, when its campaign wants it.
    Runs in the closing transaction: the channel queues its message to go once it commits."""
    cycle = (
        ConversationCycle.objects.select_related("campaign", "contact")
        .filter(contact_id=activity.contact_id, closed_at=activity.at, csat_status=Csat.NONE)
        .order_by("-pk")
        .first()
    )
    if cycle is None or not cycle.campaign.csat_enabled:
        return None
    kind = kind_or_none(cycle.contact)
    ask = kind.hook("csat_survey") if kind is not None else None
    if ask is None:
        return _mark(cycle, Csat.SKIPPED_CHANNEL)
    # Claimed before asking: of two workers recording this close, one asks.
    if not _mark(cycle, Csat.SENT):
        return None
    status = ask(cycle.contact, cycle.pk, cycle.campaign.csat_question)
    if status != Csat.SENT:
        ConversationCycle.objects.filter(pk=cycle.pk, csat_status=Csat.SENT).update(
            csat_status=status
        )
    return status


def _mark(cycle, status):
    marked = ConversationCycle.objects.filter(pk=cycle.pk, csat_status=Csat.NONE).update(
        csat_status=status
    )
    return status if marked else None


def answers_received(answers):
    """Store each answer (agent_desktop.lifecycle.SurveyAnswer) on its cycle when that cycle
    is the same contact's, was asked and is not answered yet. Returns how many were stored."""
    stored = 0
    for answer in answers:
        if answer.rating not in RATINGS:
            continue
        stored += ConversationCycle.objects.filter(
            pk=answer.cycle_id, contact_id=answer.contact_id, csat_status=Csat.SENT
        ).update(
            csat_rating=answer.rating,
            csat_status=Csat.ANSWERED,
            csat_answered_at=answer.at,
            csat_comment=answer.comment[:COMMENT_MAX_LENGTH],
        )
    return stored


def texts_received(texts):
    """Keep a customer's text as the comment of a rating given just before it, [(contact id,
    text, time)], while no agent has replied since the rating. One query for the batch."""
    by_contact = {}
    for contact_id, text, at in texts:
        if text.strip():
            by_contact.setdefault(contact_id, (text.strip(), at))
    if not by_contact:
        return 0
    earliest = min(at for _, at in by_contact.values())
    rated = ConversationCycle.objects.filter(
        contact_id__in=by_contact,
        csat_status=Csat.ANSWERED,
        csat_comment="",
        csat_answered_at__gte=earliest - COMMENT_WITHIN,
    ).values_list("pk", "contact_id", "csat_answered_at")
    kept = 0
    for pk, contact_id, answered_at in rated:
        text, at = by_contact[contact_id]
        if not timedelta(0) <= at - answered_at <= COMMENT_WITHIN:
            continue
        agent_replied = Message.objects.filter(
            contact_id=contact_id,
            direction=Message.Direction.OUT,
            source=Message.Source.AGENT,
            sent_at__gt=answered_at,
        ).exists()
        if agent_replied:
            continue
        kept += ConversationCycle.objects.filter(pk=pk, csat_comment="").update(
            csat_comment=text[:COMMENT_MAX_LENGTH]
        )
    return kept


def survey_counts(cycles):
    """{"sent", "answered", "skipped": {reason: n}} of the cycles (a queryset) that were asked
    or skipped; "sent" counts the answered too (every answer was a survey sent)."""
    rows = dict(
        cycles.exclude(csat_status=Csat.NONE)
        .order_by()
        .values_list("csat_status")
        .annotate(n=Count("pk"))
    )
    return {
        "sent": rows.get(Csat.SENT, 0) + rows.get(Csat.ANSWERED, 0),
        "answered": rows.get(Csat.ANSWERED, 0),
        "skipped": {reason: rows.get(status, 0) for status, reason in SKIP_REASONS.items()},
    }


def rating_of_contact(contact):
    """The contact's latest rating, for Customer Info: (rating, comment) or None."""
    return (
        ConversationCycle.objects.filter(contact=contact, csat_status=Csat.ANSWERED)
        .filter(~Q(csat_rating=None))
        .order_by("-csat_answered_at")
        .values_list("csat_rating", "csat_comment")
        .first()
    )
