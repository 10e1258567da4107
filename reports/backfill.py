"""Cycles for conversations that happened before the cycle table existed, rebuilt from their
history (messages and activities) with the same rules the live hooks follow (reports.cycles).

Only contacts without any cycle are read, so running it again (or after the hooks took over)
changes nothing; `rebuild=True` starts over for every contact."""

from dataclasses import dataclass

from django.db import transaction

from agent_desktop.models import Activity, Contact, Message
from agent_desktop.workflow import PENDING_TARGET
from campaigns.business_hours import open_seconds_between
from reports.models import ConversationCycle
from reports.rollup import COUNTED_KINDS

BATCH = 500
Kind = Activity.Kind
TAKES = (Kind.CLAIMED, Kind.TAKEN_OVER)  # the actor holds it afterwards
GIVES = (Kind.ASSIGNED, Kind.TRANSFERRED)  # the target holds it afterwards


@dataclass
class _Event:
    at: object
    order: int  # at equal times: the customer's message, then replies, then activities
    kind: str
    user: int | None = None
    target: str = ""


def backfill(*, rebuild=False):
    """Build the missing cycles; returns how many were made."""
    if rebuild:
        ConversationCycle.objects.all().delete()
    contacts = (
        Contact.objects.filter(cycles__isnull=True)
        .select_related("entry_point__campaign")
        .order_by("pk")
    )
    made, last_pk = 0, 0
    while True:
        batch = list(contacts.filter(pk__gt=last_pk)[:BATCH])
        if not batch:
            return made
        last_pk = batch[-1].pk
        events = _events_of([contact.pk for contact in batch])
        cycles = [
            cycle for contact in batch for cycle in _cycles_of(contact, events.get(contact.pk, []))
        ]
        with transaction.atomic():
            ConversationCycle.objects.bulk_create(cycles, ignore_conflicts=True)
        made += len(cycles)


def _events_of(contact_ids):
    events = {}
    for contact_id, direction, source, sent_by, at in Message.objects.filter(
        contact_id__in=contact_ids, kind__in=COUNTED_KINDS
    ).values_list("contact_id", "direction", "source", "sent_by", "sent_at"):
        if direction == Message.Direction.IN:
            events.setdefault(contact_id, []).append(_Event(at, 0, "in"))
        elif source == Message.Source.AGENT and sent_by is not None:
            events.setdefault(contact_id, []).append(_Event(at, 1, "reply", sent_by))
    for contact_id, kind, actor, target_user, target_text, at in Activity.objects.filter(
        contact_id__in=contact_ids
    ).values_list("contact_id", "kind", "actor", "target_user", "target_text", "at"):
        user = target_user if kind in GIVES else actor
        events.setdefault(contact_id, []).append(_Event(at, 2, kind, user, target_text))
    for timeline in events.values():
        timeline.sort(key=lambda event: (event.at, event.order))
    return events


def _cycles_of(contact, timeline):
    """The contact's cycles, replaying its timeline as the live hooks would have seen it."""
    schedule = contact.entry_point.campaign.business_hours
    done, cycle, holder, pending = [], None, None, False

    def open_at(at):
        return ConversationCycle(
            contact_id=contact.pk,
            campaign_id=contact.entry_point.campaign_id,
            entry_point_id=contact.entry_point_id,
            channel=contact.channel,
            opened_at=at,
            reopened=bool(done),
        )

    def end_snooze(at):
        if cycle is not None and cycle.snoozed_since is not None:
            cycle.snoozed_seconds += open_seconds_between(schedule, cycle.snoozed_since, at)
            cycle.snoozed_since = None

    for event in timeline:
        if event.kind == "in":
            if cycle is None:
                cycle = open_at(event.at)
            else:
                end_snooze(event.at)
        elif event.kind == "reply":
            holder = event.user
            if cycle is not None:
                end_snooze(event.at)
                if cycle.first_response_at is None:
                    cycle.first_response_at, cycle.first_responder_id = event.at, event.user
                    cycle.first_response_seconds = open_seconds_between(
                        schedule, cycle.opened_at, event.at
                    )
        elif event.kind == Kind.CLOSED and cycle is not None:
            end_snooze(event.at)
            cycle.closed_at, cycle.closed_by_id, cycle.assignee_id = event.at, event.user, holder
            resolution = open_seconds_between(schedule, cycle.opened_at, event.at)
            cycle.resolution_seconds = max(resolution - cycle.snoozed_seconds, 0)
            cycle.business_hours = schedule is not None
            done.append(cycle)
            cycle = None
        elif event.kind == Kind.REOPENED:
            if cycle is None:
                cycle = open_at(event.at)
            else:
                end_snooze(event.at)
        elif event.kind == Kind.SNOOZED and cycle is not None:
            pending = event.target == PENDING_TARGET
            cycle.snoozed_since = cycle.snoozed_since or event.at
        elif event.kind in TAKES + GIVES:
            holder = event.user
            if not pending:
                end_snooze(event.at)
        elif event.kind == Kind.RELEASED:
            holder = None
    return done + ([cycle] if cycle is not None else [])
