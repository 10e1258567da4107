"""On MEDIA_ORIGIN's host name only the signed links to kept files answer (agent_desktop.media):
no page, login or API of the app is reachable from the origin that serves what agents and
customers sent, and no signed link serves a file from the app's own origin."""

from django.http import HttpResponseNotFound

from agent_desktop import media

KEPT_FILE_VIEW = "agent_desktop:kept_file"


class MediaOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = media.media_host()
        if host and request.get_host().lower() == host:
            request.on_media_origin = True
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        on_media_origin = getattr(request, "on_media_origin", False)
        if on_media_origin != (request.resolver_match.view_name == KEPT_FILE_VIEW):
            return HttpResponseNotFound("Not found", content_type="text/plain")
        return None
