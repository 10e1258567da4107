"""What the desktop tells an agent about their queue without opening it: an unread count per
filter tab, and the latest customer activity that browser notifications are raised from.

Both ride on the contact list's poll (and its change token), so they cost no extra request."""

import json

from django.db.models import Count, Q

from agent_desktop import selectors
from agent_desktop.models import Contact

RECENT_LIMIT = 20


def unread_by_holder(user):
    """Open contacts with unread customer messages that `user` sees, counted per (holder id,
    status): one query, the same for everyone who sees the same contacts, so a list drawn for
    many desks carries it (agent_desktop.desk_lists) and each desk counts its own from it."""
    return list(
        selectors.contacts_visible_to(user)
        .exclude(status=Contact.Status.CLOSED)
        .filter(unread_count__gt=0)
        .values_list("assigned_to_id", "status")
        .annotate(unread=Count("pk"))
        .order_by()
    )


def _unread(counted, user_id):
    """Per filter tab (as selectors.contact_list's filters select), and for the title
    ("waiting": the unassigned and the user's own)."""
    unread = {"all": 0, "mine": 0, "unassigned": 0, "waiting": 0}
    for holder_id, status, count in counted:
        unread["all"] += count
        unread["mine"] += count if holder_id == user_id else 0
        unread["unassigned"] += count if status == Contact.Status.NEW else 0
        unread["waiting"] += count if holder_id in (None, user_id) else 0
    return unread


def filter_tabs(user, counted=None):
    """The filter tabs with how many of their conversations hold unread customer messages."""
    unread = _unread(counted if counted is not None else unread_by_holder(user), user.pk)
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


def context(user, counted=None):
    """Template context for the queue: tabs with counts, how many wait (the title), recent
    activity as JSON for the page. `counted`: unread_by_holder(user), when read already."""
    counted = counted if counted is not None else unread_by_holder(user)
    recent = recent_inbound(user)
    return {
        "filter_tabs": filter_tabs(user, counted),
        "waiting": _unread(counted, user.pk)["waiting"],
        "recent_inbound_json": json.dumps(recent, ensure_ascii=False),
    }
