"""Private notes in a conversation, the @mentions in them, and the notifications they make.

A note stays inside the team: nothing here talks to a channel."""

import re

from django.db import transaction
from django.utils import timezone

from agent_desktop.models import Note, Notification

MAX_NOTE_LENGTH = 5000
# A username as Django allows it (letters, digits and @.+-_), not ending in punctuation.
MENTION = re.compile(r"(?<![\w@])@([\w.@+-]*\w)")


def mentioned_users(contact, text):
    """The campaign members named `@username` in `text` (others are left as plain text)."""
    usernames = {name.lower() for name in MENTION.findall(text)}
    if not usernames:
        return []
    members = contact.entry_point.campaign.agents.filter(is_active=True)
    return [user for user in members if user.username.lower() in usernames]


def note_create(*, contact, author, text):
    """Store a note and notify each member it mentions (but not its author)."""
    mentioned = mentioned_users(contact, text)
    with transaction.atomic():
        note = Note.objects.create(contact=contact, author=author, text=text)
        note.mentions.set(mentioned)
        Notification.objects.bulk_create(
            Notification(user=user, kind=Notification.Kind.MENTION, contact=contact, note=note)
            for user in mentioned
            if user.pk != author.pk
        )
    return note


def notifications_for(user, *, unread_only=False):
    found = Notification.objects.filter(user=user).select_related("note__author", "contact")
    return found.filter(read_at=None) if unread_only else found


def notifications_mark_read(*, user, ids=None):
    """Mark the user's notifications read (those with `ids`, or all); returns how many."""
    unread = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
