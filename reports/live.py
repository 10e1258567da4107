"""Live supervision of one campaign, now: who waits and for how long, who is late for the
campaign's first-response target, and each member's presence and load.

A fixed number of queries whatever the size of the campaign (aggregates, one list capped at
LATE_SHOWN rows, one query for the members with their open conversations counted by the
database). The page polls it; `fingerprint` lets an unchanged answer be a bodiless 204.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from agent_desktop.assignment import with_open_count
from agent_desktop.models import Contact
from campaigns.models import Campaign
from campaigns.people import Presence, presence_of
from reports import charts
from reports.models import ConversationCycle

LATE_SHOWN = 50
Status = Contact.Status
# Conversations an agent still has to answer: waiting or held, not snoozed nor pending.
ANSWERABLE = [Status.NEW, Status.ASSIGNED]


@dataclass(frozen=True)
class Late:
    contact_id: int
    name: str
    holder: str  # "" while unassigned
    opened_at: datetime
    waited_seconds: int

    @property
    def waited(self):
        return charts.duration(self.waited_seconds)


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    presence: str
    open_count: int
    capacity: int


@dataclass(frozen=True)
class Live:
    campaign: Campaign
    target_seconds: int
    waiting: int
    longest_wait_seconds: int | None
    late_count: int
    late: list[Late] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)

    @property
    def longest_wait(self):
        return charts.duration(self.longest_wait_seconds)

    @property
    def target(self):
        return charts.duration(self.target_seconds)

    def fingerprint(self):
        """Changes when anything shown changes (waits to the minute, as they are shown)."""
        shown = (
            self.campaign.pk,
            self.waiting,
            _minutes(self.longest_wait_seconds),
            self.late_count,
            [(r.contact_id, r.holder, _minutes(r.waited_seconds)) for r in self.late],
            [(m.user_id, m.presence, m.open_count, m.capacity) for m in self.members],
        )
        return hashlib.sha256(repr(shown).encode()).hexdigest()[:20]


def live_of(campaign, now=None):
    now = now or timezone.now()
    target = campaign.first_response_target_seconds
    open_cycles = ConversationCycle.objects.filter(campaign=campaign, closed_at=None)
    waiting = open_cycles.filter(contact__assigned_to=None, contact__status=Status.NEW).aggregate(
        count=Count("pk"), oldest=Min("opened_at")
    )
    # Wall-clock waits: what a customer feels now, whatever the campaign's business hours.
    late_rows = open_cycles.filter(
        first_response_at=None,
        opened_at__lte=now - timedelta(seconds=target),
        contact__status__in=ANSWERABLE,
    )
    late = [
        Late(
            contact_id=cycle.contact_id,
            name=cycle.contact.name,
            holder=_name(cycle.contact.assigned_to) if cycle.contact.assigned_to else "",
            opened_at=cycle.opened_at,
            waited_seconds=_seconds(now, cycle.opened_at),
        )
        for cycle in late_rows.select_related("contact", "contact__assigned_to").order_by(
            "opened_at", "pk"
        )[:LATE_SHOWN]
    ]
    late_count = len(late) if len(late) < LATE_SHOWN else late_rows.count()
    members = [
        Member(
            user_id=user.pk,
            name=_name(user),
            presence=presence_of(user.person, now) if _has_person(user) else Presence.OFFLINE,
            open_count=user.open_count,
            capacity=user.person.capacity if _has_person(user) else 0,
        )
        for user in with_open_count(campaign.agents.filter(is_active=True))
        .select_related("person")
        .order_by("first_name", "username")
    ]
    oldest = waiting["oldest"]
    return Live(
        campaign=campaign,
        target_seconds=target,
        waiting=waiting["count"],
        longest_wait_seconds=None if oldest is None else _seconds(now, oldest),
        late_count=late_count,
        late=late,
        members=members,
    )


def _has_person(user):
    try:
        return user.person is not None
    except user._meta.model.person.RelatedObjectDoesNotExist:
        return False


def _name(user):
    return user.get_full_name() or user.username


def _seconds(now, since):
    return max(int((now - since).total_seconds()), 0)


def _minutes(seconds):
    return None if seconds is None else seconds // 60
