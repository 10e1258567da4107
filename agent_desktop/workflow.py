"""Who holds a contact and where its conversation stands, with every change kept as an activity.

Each change is one conditional UPDATE on the state the caller saw (holder and status), and the
number of rows it changed decides: of two agents claiming the same contact at once the database
lets exactly one through, and the other is told who holds it (`Conflict`). An agent may act only
on an unassigned contact or their own (`NotAllowed` otherwise); a supervisor of the contact's
campaign and admins may act on anyone's, which is recorded as `taken_over`.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from agent_desktop import assignment
from agent_desktop.contact_state import OPEN, ActionRefused, activity_record
from agent_desktop.models import Activity, Contact
from campaigns.roles import can_take_over

Status = Contact.Status
# A contact someone takes is being answered, unless it is waiting on the customer.
_ANSWERING = Case(
    When(status=Status.PENDING, then=Value(Status.PENDING)), default=Value(Status.ASSIGNED)
)
_STATE_FIELDS = ["status", "assigned_to", "snoozed_until", "unread_count"]


class NotAllowed(ActionRefused):
    """The user may not do this to a contact another agent holds (HTTP 403)."""

    def __init__(self, message, contact):
        super().__init__(message)
        self.assigned_to = contact.assigned_to_id


class Conflict(ActionRefused):
    """The contact is not in the state the action needs, e.g. someone else claimed it (HTTP 409)."""

    def __init__(self, message, contact):
        super().__init__(message)
        self.assigned_to = contact.assigned_to_id


def user_name(user):
    return (user.get_full_name() or user.username) if user else ""


# --- Agents' actions -----------------------------------------------------------------------------
def contact_claim(*, contact, agent, take_over=False):
    """Take an unassigned contact (or, for a supervisor with `take_over`, anyone's)."""
    holder = contact.assigned_to
    if contact.status == Status.CLOSED:
        raise Conflict("This conversation is closed: reopen it first.", contact)
    if holder == agent:
        return
    if holder is not None and not (take_over and _may_override(contact, agent)):
        raise Conflict(f"{user_name(holder)} is already answering this customer.", contact)
    _change(
        contact,
        agent,
        Activity.Kind.CLAIMED if holder is None else None,
        took_over_from=holder,
        assigned_to=agent,
        status=_ANSWERING,
    )
    _capacity_freed(holder)


def contact_release(*, contact, agent):
    took_over_from = _check_may_act(contact, agent)
    if contact.assigned_to is None:
        return
    _change(
        contact,
        agent,
        Activity.Kind.RELEASED,
        took_over_from=took_over_from,
        assigned_to=None,
        status=Case(When(status=Status.ASSIGNED, then=Value(Status.NEW)), default=F("status")),
    )
    # Waiting again: automatic assignment gives it to someone else (the releaser gave it up).
    if contact.status == Status.NEW:
        assignment.when_committed(assignment.assign_next, contact, excluding=[agent])


def contact_transfer(*, contact, agent, to):
    """Hand the contact to `to`, a member of its campaign other than its holder (checked by the
    caller through selectors.transfer_candidates, and again here)."""
    if (
        to == contact.assigned_to
        or not contact.entry_point.campaign.agents.filter(pk=to.pk, is_active=True).exists()
    ):
        raise ActionRefused(f"{user_name(to)} can't take this conversation.")
    took_over_from = _check_may_act(contact, agent)
    holder = contact.assigned_to
    kind = Activity.Kind.ASSIGNED if holder is None else Activity.Kind.TRANSFERRED
    _change(
        contact,
        agent,
        kind,
        target=to,
        took_over_from=took_over_from,
        assigned_to=to,
        status=_ANSWERING,
    )
    _capacity_freed(holder)


def contact_close(*, contact, agent):
    if contact.status == Status.CLOSED:
        raise Conflict("This conversation is closed already.", contact)
    took_over_from = _check_may_act(contact, agent)
    _change(
        contact,
        agent,
        Activity.Kind.CLOSED,
        took_over_from=took_over_from,
        status=Status.CLOSED,
        snoozed_until=None,
        unread_count=0,
        away_replied_at=None,  # the next conversation gets its own away reply
    )
    _capacity_freed(contact.assigned_to)


def contact_reopen(*, contact, agent):
    if contact.status != Status.CLOSED:
        raise Conflict("This conversation is open already.", contact)
    took_over_from = _check_may_act(contact, agent)
    _change(
        contact,
        agent,
        Activity.Kind.REOPENED,
        statuses=[Status.CLOSED],
        took_over_from=took_over_from,
        status=Status.ASSIGNED if contact.assigned_to_id else Status.NEW,
    )
    if contact.status == Status.NEW:  # open without a holder: waits for an agent
        assignment.when_committed(assignment.assign_contacts, [contact.pk])


def contact_snooze(*, contact, agent, until: datetime):
    """Out of the queue until `until` (see wake_snoozed) or until the customer writes."""
    if until <= timezone.now():
        raise ActionRefused("Choose a time in the future.")
    took_over_from = _check_may_act(contact, agent)
    _change(
        contact,
        agent,
        Activity.Kind.SNOOZED,
        target=until.isoformat(timespec="minutes"),
        took_over_from=took_over_from,
        status=Status.SNOOZED,
        snoozed_until=until,
    )


# Pending is a snooze that only the customer ends: kept as a `snoozed` activity whose target
# says so (the activity kinds are fixed by the API contract).
PENDING_TARGET = "pending"


def contact_pending(*, contact, agent):
    took_over_from = _check_may_act(contact, agent)
    _change(
        contact,
        agent,
        Activity.Kind.SNOOZED,
        target=PENDING_TARGET,
        took_over_from=took_over_from,
        status=Status.PENDING,
        snoozed_until=None,
    )


def reply_take(*, contact, agent):
    """Before an agent's reply is queued (in the same transaction): the replier holds the
    contact afterwards. An unassigned one is claimed, someone else's refused unless taken over."""
    if contact.status == Status.CLOSED:
        raise Conflict("This conversation is closed: reopen it to reply.", contact)
    took_over_from = _check_may_act(contact, agent)
    holder = contact.assigned_to
    _change(
        contact,
        agent,
        Activity.Kind.CLAIMED if holder is None else None,
        took_over_from=took_over_from,
        assigned_to=agent,
        status=_ANSWERING,
        snoozed_until=None,
    )


# --- What the customer and the clock do ----------------------------------------------------------
def customer_wrote(contact_ids):
    """A customer's message opens their closed, pending or snoozed contact again ("reopened by
    customer"). Called by the channel's writes once they hold these rows' locks."""
    waiting = Contact.objects.filter(
        pk__in=contact_ids, status__in=[Status.CLOSED, Status.PENDING, Status.SNOOZED]
    ).order_by("pk")
    for contact in waiting:
        _wake(contact, Q(status=contact.status), reason="")


def wake_snoozed(now=None):
    """Snoozed contacts whose time has come are open again (beat task); returns how many."""
    is_due = Q(status=Status.SNOOZED, snoozed_until__lte=now or timezone.now())
    woken = []
    for contact in Contact.objects.filter(is_due).order_by("pk"):
        with transaction.atomic():
            if _wake(contact, is_due, reason="snooze ended"):
                woken.append(contact.pk)
    assignment.assign_contacts(woken)  # those without a holder wait for an agent again
    return len(woken)


def _wake(contact, still, *, reason):
    """Open `contact` again if it is `still` as it was seen (not re-snoozed or closed since)."""
    rows = Contact.objects.filter(still, pk=contact.pk).update(
        status=Status.ASSIGNED if contact.assigned_to_id else Status.NEW, snoozed_until=None
    )
    if rows:
        activity_record(contact, Activity.Kind.REOPENED, None, target=reason or None)
    return rows


def _capacity_freed(holder):
    """`holder` no longer holds a conversation: once committed, automatic assignment may give
    them a waiting one."""
    if holder is not None:
        assignment.when_committed(assignment.assign_waiting_for, holder)


# --- The rules -----------------------------------------------------------------------------------
def may_act(contact, user):
    """Whether `user` may reply to, release, transfer or close this contact."""
    return contact.assigned_to_id in (None, user.pk) or _may_override(contact, user)


def _may_override(contact, user):
    return can_take_over(user, contact.entry_point.campaign)


def _check_may_act(contact, user):
    """None when the contact is unassigned or the user's; its holder when the user may take it
    over; NotAllowed otherwise."""
    holder = contact.assigned_to
    if holder is None or holder == user:
        return None
    if _may_override(contact, user):
        return holder
    raise NotAllowed(
        f"{user_name(holder)} is answering this customer: only they, a supervisor or an admin "
        "can do that.",
        contact,
    )


def _change(
    contact,
    actor,
    kind,
    *,
    target=None,
    statuses=OPEN,
    took_over_from=None,
    **changes,
):
    """One UPDATE, applied only if the contact still has the holder and a status the caller
    saw; then its activities. Conflict, naming the holder now, if someone changed it first."""
    holder = contact.assigned_to
    holder_is = Q(assigned_to=None) if holder is None else Q(assigned_to=holder)
    with transaction.atomic():
        rows = Contact.objects.filter(holder_is, pk=contact.pk, status__in=statuses).update(
            **changes
        )
        if rows != 1:
            contact.refresh_from_db(fields=_STATE_FIELDS)
            raise Conflict(_conflict_message(contact), contact)
        if took_over_from is not None:
            activity_record(contact, Activity.Kind.TAKEN_OVER, actor, target=took_over_from)
        if kind is not None:
            activity_record(contact, kind, actor, target=target)
    contact.refresh_from_db(fields=_STATE_FIELDS)


def _conflict_message(contact):
    if contact.assigned_to is not None and contact.status != Status.CLOSED:
        return f"{user_name(contact.assigned_to)} is already answering this customer."
    if contact.status == Status.CLOSED:
        return "Someone closed this conversation meanwhile."
    return "This conversation changed meanwhile: look again."


def activity_text(activity):
    """How the timeline says it: "Alex claimed", "Dana transferred to Sam", "closed by Alex",
    "reopened by customer"."""
    actor = user_name(activity.actor) if activity.actor_id else ""
    target = user_name(activity.target_user) if activity.target_user_id else activity.target_text
    Kind = Activity.Kind
    if activity.kind == Kind.CLOSED:
        return f"closed by {actor or 'the app'}"
    if activity.kind == Kind.REOPENED:
        if actor:
            return f"reopened by {actor}"
        return f"reopened: {target}" if target else "reopened by customer"
    if activity.kind == Kind.SNOOZED:
        if target == PENDING_TARGET:
            return f"{actor} set it waiting on the customer"
        until = timezone.localtime(datetime.fromisoformat(target)) if target else None
        return f"{actor} snoozed until {until:%a %d %b, %H:%M}" if until else f"{actor} snoozed"
    phrases = {
        Kind.TRANSFERRED: "transferred to",
        Kind.ASSIGNED: "assigned to",
        Kind.TAKEN_OVER: "took over from",
        Kind.LABELLED: "labelled",
    }
    if activity.kind in phrases:
        return f"{actor} {phrases[activity.kind]} {target}".strip()
    return f"{actor} {activity.get_kind_display()}".strip()
