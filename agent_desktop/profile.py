"""A person's own settings: avatar, API token and what the desktop notifies them of.

Here rather than in `campaigns` (which owns Person) because an avatar is accepted only when its
bytes decode as an image (agent_desktop.media), and campaigns never imports the desktop.
"""

from django.db import transaction
from rest_framework.authtoken.models import Token

from agent_desktop import media
from campaigns.people import person_of, person_read

MAX_AVATAR_BYTES = 2 * 1024 * 1024

# What the desktop may tell a person (js/notifications.js); all on until they say otherwise.
NOTIFICATIONS = {
    "assigned": "New messages in conversations assigned to me",
    "unassigned": "Customers waiting in the unassigned queue",
    "mentions": "Colleagues mentioning me in a note",
    "sound": "Play a sound with each notification",
}


class AvatarRefused(ValueError):
    pass


def notification_preferences_of(user):
    """{name: bool} for every NOTIFICATIONS entry, saved choices over the defaults. One query
    at most, and no row made: every desktop page asks."""
    person = person_read(user)
    saved = (person.notification_preferences if person else None) or {}
    return {name: bool(saved.get(name, True)) for name in NOTIFICATIONS}


def notification_preferences_set(*, user, wanted):
    person = person_of(user)
    person.notification_preferences = {name: name in wanted for name in NOTIFICATIONS}
    person.save(update_fields=["notification_preferences"])


def avatar_set(*, user, upload):
    """Keep `upload` as the person's avatar when its bytes are a PNG, JPEG, GIF or WebP picture;
    AvatarRefused otherwise. Stored under a random name with the extension of what it is."""
    if upload.size > MAX_AVATAR_BYTES:
        raise AvatarRefused("This picture is over 2 MB: choose a smaller one.")
    data = upload.read()
    content_type = media.image_type(data)
    if content_type is None:
        raise AvatarRefused("This file is no picture we can show: use a PNG, JPEG, GIF or WebP.")
    person = person_of(user)
    previous = person.avatar.name
    upload.seek(0)
    person.avatar.save(media.stored_name(content_type), upload, save=True)
    if previous:
        person.avatar.storage.delete(previous)


def avatar_remove(*, user):
    person = person_of(user)
    if person.avatar:
        person.avatar.delete(save=True)


def api_token_create(*, user):
    """A new API token for `user`, replacing theirs: its key is returned this once, to show."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user).key


def api_token_revoke(*, user):
    return Token.objects.filter(user=user).delete()[0] > 0


def api_token_created_at(user):
    return Token.objects.filter(user=user).values_list("created", flat=True).first()
