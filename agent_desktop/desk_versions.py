"""Change tokens that let an unchanged desk poll be answered without touching the database.

Every write that can alter what a desk shows gives fresh tokens, after its transaction commits,
to the contacts it touched, to their campaigns and to "any" (what admins, who see every
campaign, compare). A poll compares the token it was rendered with to one built from the cache
alone: the same token means nothing it shows can have changed.

Tokens are random values, never counters: a write only ever sets a value no reader has seen, so
two writers racing (or a cache without atomic increments, like the file cache of the embedded
defaults) can never bring back a token a desk already holds. A token missing from the cache (a
flush, an eviction, a restart) is replaced by a new one: the desk renders again, never misses.

The tokens live in the "desk" cache (config/settings.py), which every process shares: Redis,
or files under VAR_DIR with the embedded defaults. Changes no write here reports (presence,
entry point health) show within REFRESH_SECONDS anyway: each token also carries a time slot,
staggered per user so desks do not all render again at the same second. Times shown as ages
("5 min") tick on the page itself (static/js/desktop.js), so the slot can be long: each redraw
of every desk costs CPU (at 1 000 desks, 30 s slots were 33 redraws a second).
"""

import contextlib
import hashlib
import logging
import secrets
import time

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import constant_time_compare
from redis.exceptions import RedisError

from campaigns.roles import is_campaign_admin
from campaigns.selectors import campaigns_for_user

ANY = "desk:any"
EVERYTHING = "desk:all"  # memberships, roles, campaigns, entry points: what a desk is made of
REFRESH_SECONDS = 300
# The cache unreachable (Redis restarting, a full disk): desks keep working from the database.
# A read gets fresh tokens, so every poll renders again; a renewal is lost, which those fresh
# tokens cover while it lasts and REFRESH_SECONDS bounds after.
UNREACHABLE = (RedisError, OSError)

logger = logging.getLogger(__name__)


def _cache():
    return caches["desk"]


def _campaign_key(campaign_id):
    return f"desk:c:{campaign_id}"


def _contact_key(contact_id):
    return f"desk:k:{contact_id}"


def _person_key(user_id):
    return f"desk:p:{user_id}"


# --- Writers (agent_desktop.desk_changes says which contacts and campaigns a write touched) ----
# Each renews at once and again once the transaction commits. The renewal at commit is the one
# that counts: a desk that read the first one while the write was not yet visible still holds
# a token the second replaces. The first lets the writing transaction's own reads see it.
def changed(*, contact_ids=(), campaign_ids=()):
    """Fresh tokens for these contacts and campaigns (and for admins' "any")."""
    keys = {_contact_key(pk) for pk in contact_ids if pk is not None}
    keys |= {_campaign_key(pk) for pk in campaign_ids if pk is not None}
    if keys:
        _twice([ANY, *keys])


def everything_changed():
    """Fresh tokens for every desk (a membership, a role, a campaign or an entry point)."""
    _twice([EVERYTHING, ANY])


def person_changed(user_id):
    """What a poll knows of this person (poll_viewer) is read again from the database at their
    next poll: for writes that send no signal, like (de)activating by a conditional UPDATE."""
    _twice([_person_key(user_id)])


def _twice(keys):
    _renew(keys)
    if transaction.get_connection().in_atomic_block:

        def renew_at_commit():
            _renew(keys)

        renew_at_commit.renews_desk_tokens = True  # tests/conftest.py tells them from sends
        transaction.on_commit(renew_at_commit, robust=True)


def _renew(keys):
    try:
        _cache().set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)
    except UNREACHABLE as exc:
        logger.warning("desk change tokens not renewed, the desk cache is unreachable: %r", exc)


# --- Readers ----------------------------------------------------------------------------------
# An unchanged poll reads the cache three times: its session, then the person (their tokens and
# what was kept of them, in one read), then the tokens of what the desk shows (one read).
def _tokens(keys, *, along=()):
    """The tokens of `keys` (made where missing), and everything read: `along` are other keys
    read in the same round trip."""
    try:
        found = _cache().get_many([*keys, *along])
        missing = [key for key in keys if key not in found]
        if missing:
            # add() keeps a value another process set meanwhile; read back whichever won.
            for key in missing:
                _cache().add(key, secrets.token_hex(8), timeout=None)
            found.update(_cache().get_many(missing))
    except UNREACHABLE as exc:
        logger.warning("desk change tokens unknown, the desk cache is unreachable: %r", exc)
        return [secrets.token_hex(8) for _ in keys], {}
    return [str(found.get(key)) for key in keys], found


def _slot(user_id, at):
    return int((at + user_id * 7.919) // REFRESH_SECONDS)


def _digest(parts):
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def _identity(user_id, user=None):
    """What a desk's tokens and a poll's login check need of a person ({active, session_hash,
    admin, campaign_ids}) and the token of everything. Kept in the cache with the tokens it was
    read under, the token of everything and the person's own (person_changed): kept under older
    tokens, it is read again from the database. `user`, when given, is that person, loaded."""
    key = f"desk:u:{user_id}"
    tokens, found = _tokens([EVERYTHING, _person_key(user_id)], along=[key])
    kept = found.get(key)
    if kept is not None and kept.get("read_under") == tokens:
        return kept, tokens[0]
    if user is None:
        user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        return {"active": False}, tokens[0]
    admin = is_campaign_admin(user)
    kept = {
        "read_under": tokens,
        "active": user.is_active,
        # The session's copy of it must match, as django.contrib.auth.get_user checks: a
        # password changed since the login ends the session.
        "session_hash": user.get_session_auth_hash(),
        "admin": admin,
        "campaign_ids": (
            [] if admin else sorted(campaigns_for_user(user).values_list("pk", flat=True))
        ),
    }
    # Unreachable: read from the database again next time (_tokens() has said so in the log).
    with contextlib.suppress(UNREACHABLE):
        _cache().set(key, kept, timeout=3600)
    return kept, tokens[0]


def viewer(user):
    """What of the user a desk's token depends on: (user id, admin?, campaign ids, the token of
    everything), so a membership or role change is seen at the next poll."""
    found, everything = _identity(user.pk, user)
    return user.pk, found["admin"], found["campaign_ids"], everything


def poll_viewer(session):
    """viewer() of a poll's user from its session and the cache alone, with no query; None when
    that cannot vouch for the session (no login, an unknown backend, a deactivated person, a
    changed password): the poll then goes through Django's own authentication."""
    user_id = session.get(SESSION_KEY)
    if user_id is None or session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        user_id = get_user_model()._meta.pk.to_python(user_id)
    except ValidationError:  # a malformed session: the full way decides
        return None
    found, everything = _identity(user_id)
    if not found["active"]:
        return None
    if not constant_time_compare(session.get(HASH_SESSION_KEY) or "", found["session_hash"]):
        return None
    return user_id, found["admin"], found["campaign_ids"], everything


def _list_keys(view):
    _user_id, admin, campaign_ids, _everything = view
    return [ANY] if admin else [_campaign_key(pk) for pk in campaign_ids]


def list_state(view):
    """What a contact list is drawn under, read now: (the tokens of its campaigns, the token of
    everything, when). Kept with rows drawn for many desks (agent_desktop.desk_lists), it gives
    each of them the token of what they were sent."""
    tokens, _ = _tokens(_list_keys(view))
    return tokens, view[3], time.time()


def list_token_of(view, params, state):
    """The list token of `view` for what was drawn under `state` (list_state())."""
    tokens, everything, at = state
    user_id = view[0]
    return "L" + _digest([user_id, everything, tokens, sorted(params.items()), _slot(user_id, at)])


def desk_tokens(view, params, contact_id=None):
    """(the contact list's token, the conversation's or None) for `view` (from viewer()), the
    page's own parameters and the open conversation, with one read of the cache."""
    user_id, _admin, _campaign_ids, everything = view
    list_keys = _list_keys(view)
    contact_keys = [_contact_key(contact_id)] if contact_id is not None else []
    tokens, _ = _tokens([*list_keys, *contact_keys])
    now = time.time()
    listed = list_token_of(view, params, (tokens[: len(list_keys)], everything, now))
    if contact_id is None:
        return listed, None
    shown = [contact_id, tokens[len(list_keys) :], sorted(params.items()), _slot(user_id, now)]
    return listed, "C" + _digest([user_id, everything, *shown])


def list_token(view, params):
    return desk_tokens(view, params)[0]


def conversation_token(view, contact_id, params):
    return desk_tokens(view, params, contact_id)[1]
