"""Keeping each contact's conversation cycles current as the lifecycle happens.

Called in the transaction that records the change (reports.receivers), each step is a
conditional UPDATE on the state it read (first response only while none, snooze end only of
the snooze it saw, close only while open), so a redelivered event, a retried task or two
agents at once change a cycle once. Durations are computed when they become known, on the
campaign's business-hours clock when it has hours (campaigns.business_hours).
"""

from django.db.models import F

from agent_desktop.models import Activity, Contact
from campaigns.business_hours import open_seconds_between
from campaigns.models import EntryPoint
from reports.models import ConversationCycle

Status = Contact.Status
WAITING = (Status.SNOOZED, Status.PENDING)  # time in these is left out of resolution


def customers_wrote(opened):
    """Customers' messages, [(contact, earliest message time)]: a contact without an open
    cycle gets one opened at its message; a snoozed or pending one's snooze ends then."""
    contact_ids = [contact.pk for contact, _ in opened]
    open_cycles = {
        cycle.contact_id: cycle for cycle in _open_cycles().filter(contact_id__in=contact_ids)
    }
    for contact, at in opened:
        cycle = open_cycles.get(contact.pk)
        if cycle is None:
            continue
        if at < cycle.opened_at and cycle.first_response_at is None:
            # Events arrive out of order: an earlier message opened this cycle.
            ConversationCycle.objects.filter(
                pk=cycle.pk, opened_at__gt=at, first_response_at=None
            ).update(opened_at=at)
        if cycle.snoozed_since is not None:
            _snooze_end(cycle, max(at, cycle.snoozed_since))
    new = [(contact, at) for contact, at in opened if contact.pk not in open_cycles]
    if new:
        _cycles_create(new)


def agent_replied(contact, agent, at):
    """A human reply queued: the cycle's first response, if it has none yet (of two at once,
    the database keeps one); a snooze ends (replying takes the conversation back)."""
    cycle = _open_cycles().filter(contact_id=contact.pk).first()
    if cycle is None:
        return  # a conversation from before reports existed (reports_backfill covers it)
    if cycle.snoozed_since is not None:
        _snooze_end(cycle, at)
    if cycle.first_response_at is None:
        seconds = _seconds(cycle.campaign.business_hours, cycle.opened_at, at)
        ConversationCycle.objects.filter(pk=cycle.pk, first_response_at=None).update(
            first_response_at=at, first_responder=agent, first_response_seconds=seconds
        )


def activity_recorded(activity):
    """Close, reopen, snooze, pending, and whatever ends a snooze (a claim, a transfer)."""
    Kind = Activity.Kind
    cycle = _open_cycles().filter(contact_id=activity.contact_id).first()
    if activity.kind == Kind.CLOSED:
        if cycle is not None:
            _close(cycle, activity)
    elif activity.kind == Kind.REOPENED:
        if cycle is None:  # reopened by an agent (a customer's message opened one already)
            _cycles_create([(activity.contact, activity.at)])
        elif cycle.snoozed_since is not None:  # the snooze ended
            _snooze_end(cycle, activity.at)
    elif activity.kind == Kind.SNOOZED:
        if cycle is not None:
            ConversationCycle.objects.filter(pk=cycle.pk, snoozed_since=None).update(
                snoozed_since=activity.at
            )
    elif cycle is not None and cycle.snoozed_since is not None:
        status = Contact.objects.values_list("status", flat=True).get(pk=activity.contact_id)
        if status not in WAITING:
            _snooze_end(cycle, activity.at)


# --- Steps ---------------------------------------------------------------------------------------
def _open_cycles():
    return ConversationCycle.objects.select_related("campaign").filter(closed_at=None)


def _cycles_create(opened):
    """Open cycles in one INSERT; the one-open-cycle-per-contact constraint drops a second."""
    contact_ids = [contact.pk for contact, _ in opened]
    entry_points = dict(
        EntryPoint.objects.filter(
            pk__in={contact.entry_point_id for contact, _ in opened}
        ).values_list("pk", "campaign_id")
    )
    had_cycles = set(
        ConversationCycle.objects.filter(contact_id__in=contact_ids).values_list(
            "contact_id", flat=True
        )
    )
    ConversationCycle.objects.bulk_create(
        [
            ConversationCycle(
                contact_id=contact.pk,
                campaign_id=entry_points[contact.entry_point_id],
                entry_point_id=contact.entry_point_id,
                channel=contact.channel,
                opened_at=at,
                reopened=contact.pk in had_cycles,
            )
            for contact, at in opened
        ],
        ignore_conflicts=True,
    )


def _snooze_end(cycle, at):
    seconds = _seconds(cycle.campaign.business_hours, cycle.snoozed_since, at)
    ended = ConversationCycle.objects.filter(pk=cycle.pk, snoozed_since=cycle.snoozed_since).update(
        snoozed_since=None, snoozed_seconds=F("snoozed_seconds") + seconds
    )
    if ended:
        cycle.snoozed_since, cycle.snoozed_seconds = None, cycle.snoozed_seconds + seconds


def _close(cycle, activity):
    if cycle.snoozed_since is not None:
        _snooze_end(cycle, activity.at)
    schedule = cycle.campaign.business_hours
    resolution = _seconds(schedule, cycle.opened_at, activity.at) - cycle.snoozed_seconds
    assignee = Contact.objects.values_list("assigned_to", flat=True).get(pk=activity.contact_id)
    ConversationCycle.objects.filter(pk=cycle.pk, closed_at=None).update(
        closed_at=activity.at,
        closed_by=activity.actor_id,
        assignee=assignee,
        resolution_seconds=max(resolution, 0),
        business_hours=schedule is not None,
    )


def _seconds(schedule, start, end):
    """Seconds from start to end: only those within business hours when there are some."""
    return open_seconds_between(schedule, start, end)
