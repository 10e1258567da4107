"""Automatic assignment: in a campaign with `auto_assign` on, a conversation waiting for an agent
(new, or reopened without a holder) goes to the online member with the fewest open
conversations under their capacity; ties go to the one assigned longest ago (never first).

Giving is one conditional UPDATE (the contact is still unassigned and new), so it never has two
owners, and it happens inside a short transaction that first locks the agent's Person row
(PostgreSQL: SELECT … FOR UPDATE; SQLite: the IMMEDIATE transaction serializes writers): two
conversations given at the same moment count each other, and nobody goes over capacity.

With nobody available a conversation waits unassigned, and is given when someone comes online,
frees capacity, or by the minute's sweep (`assign_all_waiting`). All entry points here are
idempotent: they look at the rows as they are now, never at what a caller saw. None talks to a
channel, so none holds a transaction across a network call.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from agent_desktop.contact_state import OPEN, activity_record
from agent_desktop.models import Activity, Contact, Notification
from campaigns.models import Campaign, Person
from campaigns.people import online_q
from campaigns.roles import ADMIN_GROUP

logger = logging.getLogger(__name__)
Status = Contact.Status


# --- Who and what ------------------------------------------------------------------------------
def open_conversations(user_id):
    """How many open conversations the user holds (every campaign: capacity is the person's)."""
    return Contact.objects.filter(assigned_to_id=user_id, status__in=OPEN).count()


def with_open_count(users):
    """The users (a queryset), each with `open_count`: open conversations held, as above."""
    return users.annotate(
        open_count=Count(
            "assigned_contacts", filter=Q(assigned_contacts__status__in=OPEN), distinct=True
        )
    )


def available_agents(campaign, *, now=None, excluding=()):
    """The campaign's members who can take a conversation now, best first: online (a desktop
    tab beats and is used, not away), agents or supervisors (admins are never given work),
    active, under capacity; fewest open conversations first, then the longest since their last
    assignment. Each carries `open_count`."""
    members = (
        get_user_model()
        .objects.filter(
            online_q(now), campaigns=campaign, is_active=True, is_staff=False, is_superuser=False
        )
        .exclude(groups__name=ADMIN_GROUP)
        .exclude(pk__in=[user.pk for user in excluding])
    )
    users = with_open_count(members).filter(open_count__lt=F("person__capacity"))
    return users.order_by("open_count", F("person__last_assigned_at").asc(nulls_first=True), "pk")


def waiting_contacts(campaign=None):
    """Conversations waiting for an agent in campaigns that assign automatically, longest
    waiting first. Those of archived entry points are nobody's work any more."""
    contacts = Contact.objects.filter(
        status=Status.NEW,
        assigned_to=None,
        entry_point__is_archived=False,
        entry_point__campaign__auto_assign=True,
        entry_point__campaign__is_active=True,
    ).exclude(last_message_at=None)  # no message yet: not a conversation (as the queue says)
    if campaign is not None:
        contacts = contacts.filter(entry_point__campaign=campaign)
    return contacts.select_related("entry_point__campaign").order_by(
        F("last_inbound_at").asc(nulls_last=True), "pk"
    )


# --- Giving ------------------------------------------------------------------------------------
class _Full(Exception):
    """The agent filled up meanwhile (another conversation was given to them first)."""


def assign_next(contact, *, excluding=()):
    """Give this waiting contact to the best available member of its campaign. Returns the agent,
    or None: nobody available, or the contact is not waiting any more (claimed, closed)."""
    campaign = contact.entry_point.campaign
    tried = list(excluding)
    while True:
        agent = available_agents(campaign, excluding=tried).first()
        if agent is None:
            return None
        try:
            given = _give(contact, agent)
        except _Full:
            tried.append(agent)  # someone else's conversation took their last place: next one
            continue
        return agent if given else None


def _give(contact, agent):
    """Assign `contact` to `agent` if it still waits and the agent still has room; True when
    given, False when the contact was taken meanwhile, _Full when the agent has no room."""
    now = timezone.now()
    with transaction.atomic():
        # Everyone giving this agent a conversation queues here, so the count below is exact.
        person = Person.objects.select_for_update().get(user=agent)
        if open_conversations(agent.pk) >= person.capacity:
            raise _Full
        rows = Contact.objects.filter(pk=contact.pk, assigned_to=None, status=Status.NEW).update(
            assigned_to=agent, status=Status.ASSIGNED
        )
        if rows != 1:
            return False
        Person.objects.filter(pk=person.pk).update(last_assigned_at=now)
        activity_record(contact, Activity.Kind.ASSIGNED, None, target=agent)
        if person.notification_preferences.get("assigned", True):  # the person may turn it off
            Notification.objects.create(
                user=agent, kind=Notification.Kind.ASSIGNED, contact=contact
            )
    contact.assigned_to, contact.status = agent, Status.ASSIGNED
    logger.info("assigned contact %s to user %s", contact.pk, agent.pk)
    return True


def assign_waiting(campaign):
    """Give the campaign's waiting conversations out until they or the available agents run
    out; returns how many were given."""
    given = 0
    for contact in waiting_contacts(campaign):
        agent = assign_next(contact)
        if agent is not None:
            given += 1
        elif not available_agents(campaign).exists():
            break  # nobody left with room: the rest wait
    return given


# --- Triggers ----------------------------------------------------------------------------------
def assign_contacts(contact_ids):
    """Customers wrote (a new conversation, or a closed one reopened): those waiting in campaigns
    that assign automatically go to an agent. Called once their messages are committed."""
    given = 0
    for contact in waiting_contacts().filter(pk__in=contact_ids):
        given += assign_next(contact) is not None
    return given


def any_assigns_automatically(contact_ids):
    """Whether any of these contacts is in a campaign that assigns automatically (so that the
    others' messages cost no assignment after their commit)."""
    return Contact.objects.filter(
        pk__in=contact_ids, entry_point__campaign__auto_assign=True
    ).exists()


def assign_waiting_for(user):
    """The user came online or has room again: the waiting conversations of their campaigns
    are given out (to them or to whoever has more room)."""
    campaigns = Campaign.objects.filter(agents=user, auto_assign=True, is_active=True)
    return sum(assign_waiting(campaign) for campaign in campaigns)


def assign_all_waiting():
    """The safety net (beat, every minute): anything still waiting in a campaign that assigns
    automatically, e.g. after a worker died between a commit and its assignment."""
    campaigns = Campaign.objects.filter(
        pk__in=waiting_contacts().values("entry_point__campaign")
    ).order_by("pk")
    return sum(assign_waiting(campaign) for campaign in campaigns)


def when_committed(function, *args, **kwargs):
    """Run an assignment once the caller's transaction commits. A failure is logged, not raised
    (robust): the caller's own work is done, and the minute's sweep assigns what was missed."""
    transaction.on_commit(lambda: function(*args, **kwargs), robust=True)


@receiver(post_save, sender=Campaign)
def _campaign_saved(sender, instance, **kwargs):
    """Automatic assignment switched on (or a campaign saved with it on): what waits goes out.
    A signal, because campaigns (the builder, the API) must not import the desktop."""
    if instance.auto_assign and instance.is_active:
        when_committed(assign_waiting, instance)
