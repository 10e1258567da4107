"""People: the app's side of a user (presence, capacity) and who counts as online."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from campaigns.models import Person

Presence = Person.Presence
# An open desktop tab beats every HEARTBEAT_SECONDS, hidden or not; no beat for OFFLINE_AFTER
# means no tab is open. 90 s, not two beats: Chromium slows a hidden tab's timers to one a minute.
HEARTBEAT_SECONDS = 20
OFFLINE_AFTER = timedelta(seconds=90)
IDLE_AWAY_AFTER = timedelta(minutes=10)
# The most open conversations one person may be given (the admin's form, /api/users/, /api/me/).
MAX_CAPACITY = 200


def person_of(user):
    """The user's Person row, made on first need."""
    person = getattr(user, "_person_cache", None)
    if person is None:
        person, _ = Person.objects.get_or_create(user=user)
        user._person_cache = person
    return person


_NOT_READ = object()


def person_read(user):
    """The user's Person row or None, read at most once per request (cached on the user, as
    `person_of` does) and never made: every desktop page asks."""
    person = getattr(user, "_person_cache", _NOT_READ)
    if person is _NOT_READ:
        person = Person.objects.filter(user=user).first() if user.is_authenticated else None
        user._person_cache = person
    return person


def presence_of(person, now=None):
    """ "online" while a desktop tab beats and was used in the last 10 minutes, "away" when the
    person said so or went idle, "offline" when no tab beats."""
    now = now or timezone.now()
    if not person.user.is_active or not person.last_seen_at:
        return Presence.OFFLINE
    if now - person.last_seen_at > OFFLINE_AFTER:
        return Presence.OFFLINE
    if person.away:
        return Presence.AWAY
    if not person.last_active_at or now - person.last_active_at > IDLE_AWAY_AFTER:
        return Presence.AWAY
    return Presence.ONLINE


def online_q(now=None, prefix="person__"):
    """The database's side of presence_of: people whose tab beats, not away nor idle
    (`prefix` leads from the queried model to Person; "" when querying Person itself). The
    two must agree; the caller also asks for active users."""
    now = now or timezone.now()
    return Q(
        **{
            f"{prefix}last_seen_at__gte": now - OFFLINE_AFTER,
            f"{prefix}away": False,
            f"{prefix}last_active_at__gte": now - IDLE_AWAY_AFTER,
        }
    )
