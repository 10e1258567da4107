"""Presence and capacity as the desktop sets them: a tab's heartbeat, the away toggle, the
capacity an agent chooses. Whoever comes online or gets more room is offered the conversations
waiting in their campaigns (agent_desktop.assignment).

What counts as online, away or offline is campaigns.people's rule (presence_of, online_q)."""

from django.utils import timezone

from agent_desktop import assignment
from campaigns.models import Person
from campaigns.people import MAX_CAPACITY, online_q, person_of, presence_of

Presence = Person.Presence


def heartbeat(*, user, active, now=None):
    """One beat of an open desktop tab (`active`: the person used it since the last beat).
    Returns their presence after it.

    A thousand agents beat every 20 s, so the usual beat, from someone online already, is one
    UPDATE. Only a beat that brings someone online (first tab, back from idle) does more: it
    offers them the waiting conversations."""
    now = now or timezone.now()
    seen = {"last_seen_at": now, **({"last_active_at": now} if active else {})}
    if Person.objects.filter(online_q(now, prefix=""), user=user).update(**seen):
        return Presence.ONLINE
    person = person_of(user)
    Person.objects.filter(pk=person.pk).update(**seen)
    for field, value in seen.items():
        setattr(person, field, value)
    return _offer_if_online(user, person, now)


def presence_set(*, user, presence):
    """The person says "away" (kept until they say "online") or "online" (which, said by a
    click, is also activity). "offline" is not said: it is when no tab beats. Returns their
    presence now."""
    if presence not in (Presence.ONLINE, Presence.AWAY):
        raise ValueError(f"presence can't be set to {presence!r}")
    now = timezone.now()
    person = person_of(user)
    changes = {"away": presence == Presence.AWAY}
    if presence == Presence.ONLINE:
        changes["last_active_at"] = now
    Person.objects.filter(pk=person.pk).update(**changes)
    for field, value in changes.items():
        setattr(person, field, value)
    return _offer_if_online(user, person, now)


def capacity_set(*, user, capacity):
    """How many open conversations automatic assignment may give the person; more room is
    offered the waiting conversations at once."""
    if not 0 <= capacity <= MAX_CAPACITY:
        raise ValueError(f"capacity must be 0..{MAX_CAPACITY}")
    person = person_of(user)
    raised = capacity > person.capacity
    Person.objects.filter(pk=person.pk).update(capacity=capacity)
    person.capacity = capacity
    if raised:
        assignment.when_committed(assignment.assign_waiting_for, user)


def _offer_if_online(user, person, now):
    presence = presence_of(person, now)
    if presence == Presence.ONLINE:
        assignment.when_committed(assignment.assign_waiting_for, user)
    return presence


def people_with_presence(users, now=None):
    """The users (a queryset) as lists show them: each with `presence`, `capacity` and
    `open_count`; online first, then away, then offline, by name within each."""
    now = now or timezone.now()
    users = assignment.with_open_count(users.select_related("person"))
    order = {Presence.ONLINE: 0, Presence.AWAY: 1, Presence.OFFLINE: 2}
    users = list(users)
    for user in users:
        # No row yet: never seen, the defaults.
        person = user.person if hasattr(user, "person") else Person(user=user)
        person.user = user  # presence_of reads is_active: no query per row
        user.presence = presence_of(person, now)
        user.capacity = person.capacity
    return sorted(
        users, key=lambda u: (order[u.presence], (u.get_full_name() or u.username).lower())
    )
