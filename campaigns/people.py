"""People: the app's side of a user (presence, capacity) and who counts as online."""

from datetime import timedelta

from django.utils import timezone

from campaigns.models import Person

Presence = Person.Presence
# A desktop tab beats every HEARTBEAT_SECONDS; missing two beats and a margin means it is gone.
HEARTBEAT_SECONDS = 20
OFFLINE_AFTER = timedelta(seconds=60)
IDLE_AWAY_AFTER = timedelta(minutes=10)


def person_of(user):
    """The user's Person row, made on first need."""
    person = getattr(user, "_person_cache", None)
    if person is None:
        person, _ = Person.objects.get_or_create(user=user)
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
