"""On MEDIA_ORIGIN's host name only the signed links to kept files answer (agent_desktop.media):
no page, login or API of the app, not even its error pages, is reachable from the origin that
serves what agents and customers sent."""

import functools
from importlib import import_module

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import Resolver404, resolve, reverse

from agent_desktop import desk_polls, media

KEPT_FILE_VIEW = "agent_desktop:kept_file"


class MediaOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = media.media_host()
        request.on_media_origin = bool(host) and request.get_host().lower() == host
        if request.on_media_origin and _view_name(request.path_info) != KEPT_FILE_VIEW:
            return HttpResponseNotFound("Not found", content_type="text/plain")
        return self.get_response(request)


def _view_name(path):
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


class UnchangedDeskPollMiddleware:
    """The desk's poll (agent_desktop.desk_polls) answered 204 before the middleware after this
    one runs when nothing it shows changed: most of a desk's requests, from every open desk
    every 1.5 s. Only what the view's own check would answer (desk_polls.answered_from_cache),
    from the session and the cache alone; anything else goes on down the stack to the view."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, request):
        if request.method == "GET" and request.path_info == _poll_path():
            session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            if session_key and desk_polls.unchanged_for(self.session_store(session_key), request):
                return HttpResponse(status=204)
        return self.get_response(request)


@functools.cache
def _poll_path():
    return reverse("agent_desktop:poll")
