"""Writes of the campaign builder: campaigns, and what every kind of entry point shares
(creation, archive, erase). A kind's own settings are its channel app's (campaigns.kinds).

Each write an admin makes is kept in the audit log (campaigns.audit) by the service itself,
with the acting user passed in; never a secret's value."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from campaigns import conversations
from campaigns.audit import Action, audit_record
from campaigns.kinds import UnknownKind, kind_named
from campaigns.models import Campaign, EntryPoint

logger = logging.getLogger(__name__)


# --- Campaigns ------------------------------------------------------------------------------
def campaign_create(*, actor, fields: dict) -> Campaign:
    """A new campaign from the form's or the API's fields (`agents`: users, set after)."""
    fields = dict(fields)
    agents = fields.pop("agents", None)
    with transaction.atomic():
        campaign = Campaign.objects.create(**fields)
        if agents is not None:
            campaign.agents.set(agents)
        audit_record(actor, Action.CAMPAIGN_CREATED, campaign)
    return campaign


def campaign_update(*, campaign: Campaign, actor, fields: dict) -> Campaign:
    """Change a campaign's fields; `is_active` goes through `campaign_set_active`. The audit
    entry names the fields that changed (and the old and new name)."""
    fields = dict(fields)
    is_active = fields.pop("is_active", None)
    agents = fields.pop("agents", None)
    changed = [name for name, value in fields.items() if getattr(campaign, name) != value]
    with transaction.atomic():
        details = {}
        if "name" in changed:
            details["name"] = {"from": campaign.name, "to": fields["name"]}
        for name in changed:
            setattr(campaign, name, fields[name])
        if changed:
            campaign.save(update_fields=changed)
        if agents is not None and {u.pk for u in agents} != set(
            campaign.agents.values_list("pk", flat=True)
        ):
            campaign.agents.set(agents)
            changed.append("agents")
        if changed:
            audit_record(actor, Action.CAMPAIGN_CHANGED, campaign, fields=changed, **details)
    if is_active is not None:
        campaign_set_active(campaign=campaign, is_active=is_active, actor=actor)
    return campaign


def campaign_set_active(*, campaign: Campaign, is_active: bool, actor=None) -> Campaign:
    """(De)activate. An inactive campaign accepts no new entry points and its pages' deliveries
    are kept but ignored (messenger.services). Only a real change is recorded: a conditional
    UPDATE, so of two admins pressing the same button one entry is kept."""
    with transaction.atomic():
        changed = Campaign.objects.filter(pk=campaign.pk, is_active=not is_active).update(
            is_active=is_active
        )
        campaign.is_active = is_active
        if changed:
            action = Action.CAMPAIGN_ACTIVATED if is_active else Action.CAMPAIGN_DEACTIVATED
            audit_record(actor, action, campaign)
    return campaign


# --- Entry points ---------------------------------------------------------------------------
class CampaignInactive(Exception):
    """An inactive campaign accepts no new entry points."""


CAMPAIGN_INACTIVE_NO_NEW_ENTRY_POINTS = (
    "This campaign is inactive: it accepts no new entry points. Activate it first."
)


def campaign_check_accepts_entry_points(campaign: Campaign) -> None:
    """Raise CampaignInactive unless the campaign may get a new entry point (any kind's)."""
    if not campaign.is_active:
        raise CampaignInactive(CAMPAIGN_INACTIVE_NO_NEW_ENTRY_POINTS)


@transaction.atomic
def entry_point_create(*, campaign: Campaign, kind: str, name: str, actor=None) -> EntryPoint:
    """What every kind's `create_entry_point` hook does first: the entry point itself, in the
    hook's transaction (its settings row is created beside it), recorded in the audit log."""
    # The campaign's row is locked, so a deactivation at the same moment waits, then holds.
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign_check_accepts_entry_points(campaign)
    entry_point = EntryPoint.objects.create(campaign=campaign, name=name, kind=kind)
    audit_record(actor, Action.ENTRY_POINT_CREATED, entry_point, kind=kind)
    return entry_point


# --- Archive and erase ------------------------------------------------------------------------
class EntryPointArchived(Exception):
    """The entry point is archived: kept to read, no longer to change or connect."""


ARCHIVED_READ_ONLY = "This entry point is archived: it can be read and erased, not changed."


class EntryPointNotArchived(Exception):
    """Its conversations can be erased only once the entry point is archived."""


@dataclass(frozen=True)
class ConversationsSize:
    """What an entry point's conversations hold: what archiving keeps and erasing deletes."""

    contacts: int
    messages: int
    deliveries: int  # inbound posts a kind keeps raw (Messenger's webhook deliveries)
    keeps_deliveries: bool = True  # False: its kind keeps none, so they go unmentioned

    @property
    def conversations(self):
        """ "1 contact and 2 messages"."""
        return f"{_count(self.contacts, 'contact')} and {_count(self.messages, 'message')}"

    def __str__(self):
        """ "1 contact, 2 messages and 1 webhook delivery" (or "1 contact and 2 messages")."""
        if not self.keeps_deliveries:
            return self.conversations
        return (
            f"{_count(self.contacts, 'contact')}, {_count(self.messages, 'message')} and "
            f"{_count(self.deliveries, 'webhook delivery', 'webhook deliveries')}"
        )


def _count(n, one, many=None):
    return f"{n} {one if n == 1 else many or one + 's'}"


@transaction.atomic
def entry_point_archive(
    *, entry_point: EntryPoint, actor=None, moved_to: EntryPoint | None = None
) -> EntryPoint:
    """Archive an entry point instead of deleting it. Its kind's `archive` hook turns its
    inbound off (Messenger: the webhook), it leaves the builder's lists and the agents'
    desktop, and its conversations stay, for admins to read. `moved_to`: what it held (a
    Facebook page) is being connected there, and the audit entry says where. Idempotent: of
    two archives at once, one does it (a conditional UPDATE) and is recorded."""
    now = timezone.now()
    archived = EntryPoint.objects.filter(pk=entry_point.pk, is_archived=False).update(
        is_archived=True, archived_at=now
    )
    if not archived:
        entry_point.refresh_from_db(fields=["is_archived", "archived_at"])
        return entry_point
    entry_point.is_archived, entry_point.archived_at = True, now
    turn_inbound_off = _kind_hook(entry_point, "archive", None)
    if turn_inbound_off:
        turn_inbound_off(entry_point)
    details = {}
    if moved_to is not None:
        details = {
            "page_moved_to": {"entry_point": moved_to.name, "campaign": moved_to.campaign.name}
        }
    audit_record(actor, Action.ENTRY_POINT_ARCHIVED, entry_point, **details)
    logger.info("entry point archived entry_point=%s", entry_point.pk)
    return entry_point


def entry_point_conversations_size(entry_point: EntryPoint) -> ConversationsSize:
    contacts, messages = conversations.count(entry_point)
    count_deliveries = _kind_hook(entry_point, "deliveries_count", None)
    deliveries = count_deliveries(entry_point) if count_deliveries else 0
    return ConversationsSize(contacts, messages, deliveries, count_deliveries is not None)


@transaction.atomic
def entry_point_erase_conversations(*, entry_point: EntryPoint, actor=None) -> ConversationsSize:
    """Delete an archived entry point's contacts, messages, kept files and stored webhook
    posts, for good; the entry point itself stays archived. Returns what was erased. The
    only way its contacts are deleted: the database refuses the cascade (PROTECT)."""
    if not entry_point.is_archived:
        raise EntryPointNotArchived(
            "Archive the entry point first: its conversations can be erased only once its "
            "webhook is off."
        )
    contacts, messages = conversations.erase(entry_point)
    erase_deliveries = _kind_hook(entry_point, "deliveries_erase", None)
    deliveries = erase_deliveries(entry_point) if erase_deliveries else 0
    erased = ConversationsSize(contacts, messages, deliveries, erase_deliveries is not None)
    audit_record(
        actor,
        Action.CONVERSATIONS_ERASED,
        entry_point,
        contacts=erased.contacts,
        messages=erased.messages,
        deliveries=erased.deliveries,
    )
    logger.info("conversations erased entry_point=%s: %s", entry_point.pk, erased)
    return erased


def _kind_hook(entry_point, name, default):
    """The entry point's kind's optional hook, or `default` when the kind has none (or its app
    is no longer installed: its entry points can still be archived and erased)."""
    try:
        return kind_named(entry_point.kind).hook(name) or default
    except UnknownKind:
        return default
