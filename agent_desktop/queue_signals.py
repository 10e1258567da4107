"""What the desktop tells an agent about their queue without opening it: an unread count per
filter tab, and the latest customer activity that browser notifications are raised from.

Both ride on the contact list's poll (and its change token), so they cost no extra request."""

import json

from django.db.models import Count, Q

from agent_desktop import selectors
from agent_desktop.models import Contact

RECENT_LIMIT = 20


def _unread(user):
    """Open contacts with unread customer messages, counted per filter tab and for the title
    ("waiting": unassigned or the user's). One query; the conditions are those of
    selectors.contact_list for each filter and of selectors.waiting_count."""
    return (
        selectors.contacts_visible_to(user)
        .exclude(status=Contact.Status.CLOSED)
        .filter(unread_count__gt=0)
        .aggregate(
            all=Count("pk"),
            mine=Count("pk", filter=Q(assigned_to=user)),
            unassigned=Count("pk", filter=Q(status=Contact.Status.NEW)),
            waiting=Count("pk", filter=Q(assigned_to=None) | Q(assigned_to=user)),
        )
    )


def filter_tabs(user, unread=None):
    """The filter tabs with how many of their conversations hold unread customer messages."""
    unread = unread if unread is not None else _unread(user)
    return [
        {"key": key, "label": label, "unread": unread.get(key)}
        for key, label in selectors.FILTERS.items()
    ]


def recent_inbound(user):
    """The user's queue (their open contacts and unassigned ones), latest customer message first:
    the page raises a notification for each entry newer than the newest it has seen."""
    contacts = (
        selectors.contacts_visible_to(user)
        .exclude(status=Contact.Status.CLOSED)
        .filter(Q(assigned_to=None) | Q(assigned_to=user), last_inbound_at__isnull=False)
        .order_by("-last_inbound_at", "-pk")[:RECENT_LIMIT]
    )
    return [
        {
            "id": contact.pk,
            "name": contact.name,
            "mine": contact.assigned_to_id == user.pk,
            "at": contact.last_inbound_at.isoformat(),
        }
        for contact in contacts
    ]


def context(user):
    """Template context for the queue: tabs with counts, how many wait (the title), recent
    activity as JSON for the page."""
    unread = _unread(user)
    recent = recent_inbound(user)
    return {
        "filter_tabs": filter_tabs(user, unread),
        "waiting": unread["waiting"],
        "recent_inbound_json": json.dumps(recent, ensure_ascii=False),
    }
