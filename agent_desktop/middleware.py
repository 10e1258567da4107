"""On MEDIA_ORIGIN's host name only the signed links to kept files answer (agent_desktop.media):
no page, login or API of the app, not even its error pages, is reachable from the origin that
serves what agents and customers sent."""

from django.http import HttpResponseNotFound
from django.urls import Resolver404, resolve

from agent_desktop import media

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
