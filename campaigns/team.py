"""The team: people who log in, their role and the campaigns they work in.

One set of services for `manage.py add_user`, the Team pages and `/api/users/`. Each records
what it changed in the audit log (names and facts, never a password or a token).
"""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from rest_framework.authtoken.models import Token

from campaigns import invitations
from campaigns.audit import Action, audit_record
from campaigns.models import Person
from campaigns.people import person_of, presence_of
from campaigns.roles import ADMIN_GROUP, SUPERVISOR_GROUP, user_role

User = get_user_model()

# Sent with `user_id` when a person may or may not log in any more by a write that sends no model
# signal (is_active set by a conditional UPDATE): whoever keeps what they know of a person reads
# it again (agent_desktop.desk_versions).
person_access_changed = Signal()

ROLES = {"agent": "Agent", "supervisor": "Supervisor", "admin": "Admin"}
ROLES_HELP = (
    "Agent: the conversations of their campaigns. Supervisor: all conversations and reports of "
    "their campaigns, and takes over. Admin: everything, in every campaign."
)


class TeamError(Exception):
    """A change the team's rules refuse; `field` names the input at fault (or None)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def person_state(user):
    """ "deactivated", "invited" (has never set a password) or "active"."""
    if not user.is_active:
        return "deactivated"
    return "invited" if invitation_pending(user) else "active"


def invitation_pending(user):
    return user.last_login is None and not user.has_usable_password()


def username_taken(username):
    # Case-blind: "Maria" and "maria" would be two people nobody tells apart at login.
    return User.objects.filter(username__iexact=username).exists()


def email_taken(email, *, exclude=None):
    return bool(email) and User.objects.filter(email__iexact=email).exclude(pk=exclude).exists()


# --- Creating people ---------------------------------------------------------------------------
def person_add(
    *, actor, username, email="", first_name="", last_name="", role, campaigns, password
):
    """A person who logs in with `password` (already validated by the caller's form)."""
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        _set_groups(user, role)
        user.campaigns.set(campaigns)
        audit_record(actor, Action.PERSON_ADDED, user, role=role, **_campaign_names(campaigns))
    return user


def person_invite(
    *, actor, username, email, first_name="", last_name="", role, campaigns, request=None
):
    """A person who sets their own password by the link mailed to `email` (valid 72 hours).

    Returns (user, sent): `sent` is False when the mail server refused; the person is kept and
    the admin can resend from the Team page."""
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    with transaction.atomic():
        user.save()
        _set_groups(user, role)
        user.campaigns.set(campaigns)
        audit_record(actor, Action.PERSON_INVITED, user, role=role, **_campaign_names(campaigns))
    # Mailed after the commit: no transaction stays open while the mail server answers.
    return user, invitations.invitation_send(user, request=request)


def invitation_resend(*, actor, user, request=None):
    """A new link for an invited person; links sent before stop working."""
    if not invitation_pending(user):
        raise TeamError(f"{user.get_username()} has set a password already: nothing to resend.")
    if not user.email:
        raise TeamError("This person has no e-mail address to send the invitation to.", "email")
    # A fresh unusable password changes what the tokens are made of: older links are void.
    user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(actor, Action.PERSON_INVITED, user, resent=True)
    return invitations.invitation_send(user, request=request)


def _campaign_names(campaigns):
    return {"campaigns": sorted(c.name for c in campaigns)}


# --- Role, membership, capacity ---------------------------------------------------------------
def _set_groups(user, role):
    if role not in ROLES:
        raise TeamError(f"Unknown role {role!r}: one of {', '.join(ROLES)}.", "role")
    admin_group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    supervisor_group, _ = Group.objects.get_or_create(name=SUPERVISOR_GROUP)
    user.groups.remove(admin_group, supervisor_group)
    if role == "admin":
        user.groups.add(admin_group)
    elif role == "supervisor":
        user.groups.add(supervisor_group)
    # roles.py caches group membership on the user object.
    for cached in ("_is_admin_group_member", "_is_supervisor_group_member"):
        user.__dict__.pop(cached, None)


def _lock_active_admins():
    """The ids of the active admins, read once every admin's row is locked for this
    transaction: two admins demoting or deactivating each other at once are served one after
    the other, and the second sees what the first left (the team never ends up without one)."""
    admins = User.objects.filter(
        Q(is_staff=True) | Q(is_superuser=True) | Q(groups__name=ADMIN_GROUP), is_active=True
    )
    # Waits for a change in flight. Its result may predate that change (a role lives in the
    # groups table, not in the locked row), so the admins are read again by a new statement.
    list(User.objects.filter(pk__in=admins.values("pk")).select_for_update().values_list("pk"))
    return set(admins.values_list("pk", flat=True))


def person_set_role(*, actor, user, role):
    if role not in ROLES:
        raise TeamError(f"Unknown role {role!r}: one of {', '.join(ROLES)}.", "role")
    if (user.is_staff or user.is_superuser) and role != "admin":
        raise TeamError(
            "This person is Django staff, an admin whatever their role here: change their staff "
            "status in the Django admin first.",
            "role",
        )
    before = user_role(user)
    if before == role:
        return False
    with transaction.atomic():
        if before == "admin" and _lock_active_admins() == {user.pk}:
            raise TeamError("The last active admin cannot stop being an admin.", "role")
        _set_groups(user, role)
        audit_record(actor, Action.ROLE_CHANGED, user, **{"from": before, "to": role})
    return True


def person_set_campaigns(*, actor, user, campaigns):
    """Make `campaigns` the person's campaigns; one audit entry per campaign joined or left."""
    wanted = set(campaigns)
    with transaction.atomic():
        current = set(user.campaigns.all())
        for campaign in sorted(wanted - current, key=lambda c: c.pk):
            campaign.agents.add(user)
            audit_record(
                actor,
                Action.MEMBERSHIP_CHANGED,
                user,
                campaign=campaign,
                change="added",
                campaign_name=campaign.name,
            )
        for campaign in sorted(current - wanted, key=lambda c: c.pk):
            campaign.agents.remove(user)
            audit_record(
                actor,
                Action.MEMBERSHIP_CHANGED,
                user,
                campaign=campaign,
                change="removed",
                campaign_name=campaign.name,
            )
    return wanted != current


def campaign_add_member(*, actor, campaign, user):
    return person_set_campaigns(actor=actor, user=user, campaigns={*user.campaigns.all(), campaign})


def campaign_remove_member(*, actor, campaign, user):
    remaining = set(user.campaigns.all()) - {campaign}
    return person_set_campaigns(actor=actor, user=user, campaigns=remaining)


def person_set_capacity(*, user, capacity):
    person = person_of(user)
    person.capacity = capacity
    person.save(update_fields=["capacity"])


def person_set_names(*, user, first_name, last_name, email):
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.save(update_fields=["first_name", "last_name", "email"])


def person_update(*, actor, user, **changes):
    """Apply what an admin changed of a person (any of first_name, last_name, email, role,
    campaigns, capacity, is_active), all or nothing: a refused change (TeamError) undoes the
    others."""
    with transaction.atomic():
        if {"first_name", "last_name", "email"} & changes.keys():
            person_set_names(
                user=user,
                first_name=changes.get("first_name", user.first_name),
                last_name=changes.get("last_name", user.last_name),
                email=changes.get("email", user.email),
            )
        if "role" in changes:
            person_set_role(actor=actor, user=user, role=changes["role"])
        if "campaigns" in changes:
            person_set_campaigns(actor=actor, user=user, campaigns=changes["campaigns"])
        if "capacity" in changes:
            person_set_capacity(user=user, capacity=changes["capacity"])
        if changes.get("is_active") is False:
            person_deactivate(actor=actor, user=user)
        elif changes.get("is_active") is True:
            person_reactivate(actor=actor, user=user)


# --- Deactivating ------------------------------------------------------------------------------
def person_deactivate(*, actor, user):
    """Stop `user` at once: no login, their sessions and API token gone. Refuses the actor
    themself and the last active admin. Returns False when they were deactivated already."""
    if actor is not None and actor.pk == user.pk:
        raise TeamError("You cannot deactivate yourself: ask another admin.", "is_active")
    with transaction.atomic():
        if user_role(user) == "admin" and _lock_active_admins() == {user.pk}:
            raise TeamError("The last active admin cannot be deactivated.", "is_active")
        # Conditional: of two admins deactivating the same person, one records it.
        changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
        user.is_active = False
        if not changed:
            return False
        Token.objects.filter(user=user).delete()
        sessions_end(user)
        person_access_changed.send(sender=User, user_id=user.pk)
        audit_record(actor, Action.PERSON_DEACTIVATED, user)
    return True


def person_reactivate(*, actor, user):
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk, is_active=False).update(is_active=True)
        user.is_active = True
        if changed:
            person_access_changed.send(sender=User, user_id=user.pk)
            audit_record(actor, Action.PERSON_REACTIVATED, user)
    return bool(changed)


def sessions_end(user):
    """End every live session of `user`: their rows, and the copies SESSION_ENGINE (cached_db)
    keeps in the cache, which a request reads first. A session only names its user inside its
    encoded data, so each live one is decoded; there are as many as people logged in, which
    stays small."""
    user_id = str(user.pk)
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == user_id
    ]
    Session.objects.filter(pk__in=ended).delete()
    _drop_cached_sessions(ended)
    # Again once the rows are gone for everyone: a request reading a session between the first
    # drop and the commit found its row still there and cached it again.
    transaction.on_commit(lambda: _drop_cached_sessions(ended), robust=True)
    return len(ended)


def _drop_cached_sessions(session_keys):
    store = import_module(settings.SESSION_ENGINE).SessionStore
    prefix = getattr(store, "cache_key_prefix", None)  # the cache-backed engines have one
    if prefix is not None and session_keys:
        caches[settings.SESSION_CACHE_ALIAS].delete_many([prefix + key for key in session_keys])


# --- Reading -----------------------------------------------------------------------------------
def _with_roles_known(user):
    """Tell roles.py the user's groups from the prefetched ones: no query per person."""
    names = {group.name for group in user.groups.all()}
    user._is_admin_group_member = ADMIN_GROUP in names
    user._is_supervisor_group_member = SUPERVISOR_GROUP in names
    return user


def person_facts(user, now=None):
    """What the Team pages and the API show of a person beside the user's own fields."""
    _with_roles_known(user)
    try:
        person = user.person  # selected along with the user by team_members()
    except Person.DoesNotExist:
        person = person_of(user)
    return {
        "role": user_role(user),
        "state": person_state(user),
        "presence": presence_of(person, now),
        "capacity": person.capacity,
        "has_avatar": bool(person.avatar),
        "campaigns": list(user.campaigns.all()),
    }


def team_members():
    """Everyone who can (or could) log in, active first, with what person_facts reads."""
    return (
        User.objects.order_by("-is_active", "first_name", "last_name", "username")
        .select_related("person")
        .prefetch_related("groups", "campaigns")
    )


def team_rows():
    now = timezone.now()
    return [{"user": user, **person_facts(user, now)} for user in team_members()]
