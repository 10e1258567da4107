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
entry point health, label names) show within REFRESH_SECONDS anyway: each token also carries
a time slot, staggered per user so desks do not all render again at the same second.
"""

import hashlib
import secrets
import time

from django.core.cache import caches
from django.db import transaction

from campaigns.roles import is_campaign_admin
from campaigns.selectors import campaigns_for_user

ANY = "desk:any"
EVERYTHING = "desk:all"  # memberships, roles, campaigns, entry points: what a desk is made of
REFRESH_SECONDS = 30


def _cache():
    return caches["desk"]


def _campaign_key(campaign_id):
    return f"desk:c:{campaign_id}"


def _contact_key(contact_id):
    return f"desk:k:{contact_id}"


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


def _twice(keys):
    _renew(keys)
    if transaction.get_connection().in_atomic_block:

        def renew_at_commit():
            _renew(keys)

        renew_at_commit.renews_desk_tokens = True  # tests/conftest.py tells them from sends
        transaction.on_commit(renew_at_commit, robust=True)


def _renew(keys):
    _cache().set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)


# --- Readers ----------------------------------------------------------------------------------
def _tokens(keys):
    found = _cache().get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        # add() keeps a value another process set meanwhile; read back whichever won.
        for key in missing:
            _cache().add(key, secrets.token_hex(8), timeout=None)
        found.update(_cache().get_many(missing))
    return [str(found.get(key)) for key in keys]


def _slot(user_id):
    return int((time.time() + user_id * 7.919) // REFRESH_SECONDS)


def _digest(parts):
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def viewer(user):
    """What of the user a desk's token depends on: (user id, admin?, campaign ids), cached
    under the token of everything, so a membership or role change is seen at the next poll."""
    (everything,) = _tokens([EVERYTHING])
    key = f"desk:u:{user.pk}:{everything}"
    found = _cache().get(key)
    if found is None:
        admin = is_campaign_admin(user)
        ids = [] if admin else sorted(campaigns_for_user(user).values_list("pk", flat=True))
        found = (admin, ids)
        _cache().set(key, found, timeout=3600)
    admin, ids = found
    return user.pk, admin, ids, everything


def list_token(view, params):
    """The contact list's token for `view` (from viewer()) and the poll's own parameters."""
    user_id, admin, campaign_ids, everything = view
    keys = [ANY] if admin else [_campaign_key(pk) for pk in campaign_ids]
    return "L" + _digest(
        [user_id, everything, _tokens(keys), sorted(params.items()), _slot(user_id)]
    )


def conversation_token(view, contact_id, params):
    user_id, _, _, everything = view
    tokens = _tokens([_contact_key(contact_id)])
    return "C" + _digest(
        [user_id, everything, contact_id, tokens, sorted(params.items()), _slot(user_id)]
    )
