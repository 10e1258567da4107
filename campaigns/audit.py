"""The admins' audit log: who changed what, when. Callers pass names and facts, never secrets."""

from datetime import timedelta

from django.utils import timezone

from campaigns.models import AuditEntry, Campaign, EntryPoint

Action = AuditEntry.Action
KEEP_FOR = timedelta(days=365)


def _target_facts(target):
    """(type, id, name, campaign) of what an entry is about."""
    if target is None:
        return "", None, "", None
    if isinstance(target, Campaign):
        return "campaign", target.pk, target.name, target
    if isinstance(target, EntryPoint):
        return "entry_point", target.pk, target.name, target.campaign
    if hasattr(target, "get_username"):
        return "user", target.pk, target.get_full_name() or target.get_username(), None
    return type(target).__name__.lower(), getattr(target, "pk", None), str(target)[:255], None


def audit_record(actor, action, target=None, *, campaign=None, **details):
    """Keep one entry. `actor`: the user who did it (None: the app itself); `details`: small
    JSON-able facts (what changed from what to what), never a secret's value."""
    target_type, target_id, target_name, target_campaign = _target_facts(target)
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor else ""),
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_name=target_name[:255],
        campaign=campaign or target_campaign,
        details=details,
    )


def audit_prune(now=None):
    """Drop entries older than a year; returns how many went."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    return deleted


def audit_entries(*, action="", actor=None, campaign=None, since=None, until=None):
    """Entries newest first, filtered: `since`/`until` are dates (both days included)."""
    entries = AuditEntry.objects.select_related("actor", "campaign")
    if action:
        entries = entries.filter(action=action)
    if actor is not None:
        entries = entries.filter(actor=actor)
    if campaign is not None:
        entries = entries.filter(campaign=campaign)
    if since is not None:
        entries = entries.filter(at__date__gte=since)
    if until is not None:
        entries = entries.filter(at__date__lte=until)
    return entries.order_by("-at", "-pk")


def details_text(details):
    """An entry's details in words, for its page: "fields: app_id, app_secret"."""
    return "; ".join(
        f"{key.replace('_', ' ')}: {_in_words(value)}" for key, value in details.items()
    )


def _in_words(value):
    if isinstance(value, list):
        return ", ".join(_in_words(item) for item in value)
    if isinstance(value, dict):
        if set(value) == {"step", "ok"}:  # connect automatically's steps
            return f"{value['step']} ({'done' if value['ok'] else 'failed'})"
        return ", ".join(f"{k.replace('_', ' ')} {_in_words(v)}" for k, v in value.items())
    return str(value)
