"""Content-Security-Policy on every response (Django 5.2 has none built in).

The policy is settings.CONTENT_SECURITY_POLICY: scripts and styles only from our own static
files, so a customer's name or message that slipped past escaping still could not run. When the
Graph API is not Facebook's (the sandbox, a test's fake), its origin serves the pictures and
media that Facebook's CDNs serve in production, so it is allowed for those too; so is
MEDIA_ORIGIN, when kept files are served from an origin of their own.
"""

from urllib.parse import urlsplit

from django.conf import settings

from config import remote_urls

HEADER = "Content-Security-Policy"
MEDIA_DIRECTIVES = ("img-src", "media-src")


def content_security_policy():
    directives = {name: list(sources) for name, sources in settings.CONTENT_SECURITY_POLICY.items()}
    sandbox = remote_urls.sandbox_graph_base()
    extra = [settings.MEDIA_ORIGIN] if settings.MEDIA_ORIGIN else []
    if sandbox:
        parts = urlsplit(sandbox)
        extra.append(f"{parts.scheme}://{parts.netloc}")
    for origin in extra:
        for name in MEDIA_DIRECTIVES:
            if name in directives and origin not in directives[name]:
                directives[name].append(origin)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            # Django's debug error pages are built with inline scripts and styles.
            return response
        if HEADER not in response:
            response[HEADER] = content_security_policy()
        return response
