"""The desk's live polls: what a poll sent, what changed since, and the answer from the cache alone.

A desk page polls once every 1.5 s (the `#desk-poll` element) with the change tokens of both
its live regions: the contact list (`list_fp`) and, when one is open, the conversation (`contact`
and `conversation_fp`). The answer is an empty 204 when neither changed, else the regions that
did, swapped in out of band, and the poll element again with the new tokens.

An unchanged poll is decided before anything touches the database: the session is read from
the cache (SESSION_ENGINE cached_db), the person from what desk_versions.poll_viewer keeps of
them, the tokens from the cache. Whatever that cannot vouch for goes the full way, through
Django's authentication; the cache alone only ever answers "nothing changed".
"""

from functools import wraps
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse

from agent_desktop import desk_lists, desk_versions
from campaigns.api import id_param

LIST_FP, CONTACT, CONVERSATION_FP = "list_fp", "contact", "conversation_fp"
# Set by static/js/app.js while the tab is hidden: the conversation is left alone (polling it
# would mark it read with nobody looking); the list goes on for notifications.
AWAY = "away"
# What a poll adds to the page's own query (filter, search, page): not part of what it shows.
POLL_ONLY = ("fp", "centre", LIST_FP, CONTACT, CONVERSATION_FP, AWAY)


def poll_params(request):
    """What of a request, besides the user, decides what its regions show: the filter, search
    and page, the same on the page that renders them and on its polls."""
    return {key: value for key, value in request.GET.items() if key not in POLL_ONLY}


def open_contact_id(request):
    """The conversation the polling page has open and looks at (None when none, or away)."""
    if request.GET.get(AWAY):
        return None
    return id_param(request.GET.get(CONTACT))


def current_tokens(view, request):
    """(list token, conversation token or None) as they are now, for `view` (a viewer)."""
    params = poll_params(request)
    listed, conversation = desk_versions.desk_tokens(view, params, open_contact_id(request))
    return _shared(view, params, listed, request.GET.get(LIST_FP)), conversation


def list_token(view, request, held):
    """The list token a desk holding `held` should have now (the list's own poll)."""
    params = poll_params(request)
    return _shared(view, params, desk_versions.list_token(view, params), held)


def _shared(view, params, listed, held):
    """The list token to compare: while rows drawn for desks like this one are fresh, theirs
    (agent_desktop.desk_lists); read only when the list changed since `held` was given."""
    if held == listed:
        return listed
    return desk_lists.kept_token(view, params) or listed


def changed_regions(request, tokens):
    """{"list": bool, "conversation": bool}: which regions the poll's tokens say are stale."""
    list_token, conversation_token = tokens
    return {
        "list": request.GET.get(LIST_FP) != list_token,
        "conversation": conversation_token is not None
        and request.GET.get(CONVERSATION_FP) != conversation_token,
    }


def nothing_changed(request, view):
    return not any(changed_regions(request, current_tokens(view, request)).values())


def unchanged_for(session, request):
    """True when the session and the cache alone say the desk poll `request` has nothing to
    show; False when something changed or they cannot vouch for the session."""
    viewer = desk_versions.poll_viewer(session)
    return viewer is not None and nothing_changed(request, viewer)


def answered_from_cache(unchanged):
    """A poll view that answers 204 at once when `unchanged(request, viewer, *args)` says so,
    with the viewer read from the session and the cache alone; otherwise the view itself, which
    checks the login as usual."""

    def decorate(view_function):
        @wraps(view_function)
        def poll(request, *args, **kwargs):
            viewer = desk_versions.poll_viewer(request.session)
            if viewer is not None and unchanged(request, viewer, *args, **kwargs):
                return HttpResponse(status=204)
            return view_function(request, *args, **kwargs)

        return poll

    return decorate


def poll_login_required(view_function):
    """login_required for a poll: an htmx poll whose session ended takes its whole page to the
    login (HX-Redirect), rather than swapping the login form into a hidden poll element."""

    @wraps(view_function)
    def poll(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view_function(request, *args, **kwargs)
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        back_to = page.path + (f"?{page.query}" if page.query else "") or request.path
        to_login = redirect_to_login(back_to)
        if not request.headers.get("HX-Request"):
            return to_login
        refused = HttpResponse(status=401)
        refused["HX-Redirect"] = to_login.url
        return refused

    return poll
