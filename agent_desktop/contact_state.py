"""What the desktop's services, workflow and automatic assignment all build on: which statuses
are open, the refusal they raise, and the activity row each change of a contact leaves. Kept
below them so they import it rather than each other."""

from agent_desktop.models import Activity, Contact

OPEN = [Contact.Status.NEW, Contact.Status.ASSIGNED, Contact.Status.PENDING, Contact.Status.SNOOZED]


class ActionRefused(Exception):
    """An agent's action that can't be done, with a message to show them."""


def activity_record(contact, kind, actor, target=None):
    """Keep one change in the contact's timeline. `target`: a user (transferred to, taken over
    from) or a short text (a label's name); `actor` None is the customer or the app itself."""
    target_user = target if hasattr(target, "get_username") else None
    text = "" if target is None or target_user is not None else str(target)[:120]
    return Activity.objects.create(
        contact=contact, kind=kind, actor=actor, target_user=target_user, target_text=text
    )
