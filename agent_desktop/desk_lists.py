"""Contact list rows drawn once for every desk that shows the same ones.

When customers write to a campaign many times a second, its list changes at every poll of each
of its desks, and drawing it (the queue query, its labels, search hits, fifty rows: about 35 ms
of CPU) for each desk is what filled a 2-core machine at 1 000 agents. Desks that see the same
campaigns with the same filter, search and page are shown the same rows: the first poll that
finds them stale draws them and keeps them in the desk cache with the change tokens they were
drawn under (desk_versions.list_state); for DESK_LIST_SHARE_SECONDS (a setting) the others take
that copy, and each is given the list token of what it was sent, so a change made after the
drawing still reaches it at a later poll. A list thus lags its changes by at most that long and
a poll.

What differs between desks showing the same rows is put in after the drawing (personal()): the
"Mine" badge, the open conversation's row. Full page loads (and so the page after an agent's own
action) always draw afresh, and keep what they drew for the next polls.
"""

import contextlib
import hashlib
import math
import re
import time

from django.conf import settings
from django.core.cache import caches

from agent_desktop import desk_versions


def _cache():
    return caches["desk"]


def _key(view, params):
    """The rows' key: who may see which contacts (admins all; agents their campaigns), the
    filter, search and page; the person for the "mine" filter, whose rows are theirs; and the
    token of everything (labels, campaigns, entry points: what rows are drawn with)."""
    user_id, admin, campaign_ids, everything = view
    readers = ["admin"] if admin else list(campaign_ids)
    if params.get("filter") == "mine":
        readers.append(user_id)
    shown = repr([readers, sorted(params.items()), everything]).encode()
    return "desk:rows:" + hashlib.blake2b(shown, digest_size=12).hexdigest()


def _fresh(state):
    return state is not None and time.time() - state[2] <= settings.DESK_LIST_SHARE_SECONDS


def kept_token(view, params):
    """The list token of the rows kept for desks like this one while they are fresh, else None:
    a poll holding it has the latest rows there are to send."""
    try:
        kept = _cache().get(_key(view, params) + ":state")
    except desk_versions.UNREACHABLE:
        return None
    return desk_versions.list_token_of(view, params, kept) if _fresh(kept) else None


def rows(view, params, draw, *, open_contact_id=None, share=True):
    """(the rows' HTML for this viewer, what was drawn with them, its list token). The rows
    kept for desks like this one while fresh (when `share`), else those of `draw()`, which
    gives (the HTML, a dict of what else all these desks are shown alike), then kept for them."""
    key = _key(view, params)
    kept = None
    if share:
        try:
            kept = _cache().get(key + ":rows")
        except desk_versions.UNREACHABLE:
            kept = None
    if kept is None or not _fresh(kept[0]):
        # Read before the queries: a change committed meanwhile renews a token, and the desks
        # given this drawing ask again.
        kept = (desk_versions.list_state(view), *draw())
        # Unreachable: each desk draws its own until the cache is back.
        with contextlib.suppress(desk_versions.UNREACHABLE):
            # The state alone too: what a poll compares (kept_token), without the rows.
            # Kept only while they can be fresh: every search and page has its own (Redis
            # memory).
            keep = math.ceil(settings.DESK_LIST_SHARE_SECONDS) + 1
            _cache().set_many({key + ":rows": kept, key + ":state": kept[0]}, timeout=keep)
    state, html, drawn_with = kept
    token = desk_versions.list_token_of(view, params, state)
    return personal(html, view[0], open_contact_id), drawn_with, token


# What the rows say of each contact that depends on who looks
# (templates/agent_desktop/partials/_contact_row.html). Names are escaped: no "<" in a badge.
_OWNER_BADGE = '<span class="badge" data-owner="{}">'
_ROW = '<a data-contact="{}" class="contact-row'


def personal(html, user_id, open_contact_id=None):
    """The rows as `user_id` sees them: their own contacts badged "Mine", the conversation they
    have open marked as the current row."""
    mine = re.escape(_OWNER_BADGE.format(user_id)) + "[^<]*</span>"
    badge = f'<span class="badge badge-ok" data-owner="{user_id}">Mine</span>'
    html = re.sub(mine, badge, html)
    if open_contact_id is not None:
        row = _ROW.format(open_contact_id)
        html = html.replace(row, row.replace("<a ", '<a aria-current="true" ') + " active", 1)
    return html
