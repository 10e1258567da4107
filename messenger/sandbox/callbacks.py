"""Which URLs the sandbox's fake Graph API may call back: this app's own webhook URLs, no other.

Facebook calls back whatever URL an app registers (`POST /{app-id}/subscriptions`) and says what
it answered. The fake, served by this app to any caller with the demo app's token (it is in the
source), would GET any address for them, inside the developer's network, and echo the answer.
So the fake calls back only the path of our webhook view (`/messenger/webhook/<key>/`), and the
app's own sandbox only on the origins this app answers on.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve

WEBHOOK_VIEW = "messenger:webhook"
DEFAULT_PORTS = {"http": 80, "https": 443}


def webhook_callback_problem(url, *, origins=None):
    """Why the fake must not call `url` back ("" when it may): it must be an http(s) URL of
    our webhook view, written plainly (no user info, backslash, query or fragment, which HTTP
    clients and URL parsers read differently) and, when `origins` is given, on one of them."""
    refusal = "The callback URL must be this app's own Webhook URL"
    if not (url.isascii() and url.isprintable()) or any(c in url for c in "\\ @"):
        return f"{refusal}, written plainly."
    parts = urlsplit(url)
    try:
        origin = _origin(parts)
    except ValueError:
        return f"{refusal}, with a valid port."
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.query or parts.fragment:
        return f"{refusal} (http or https, without a query)."
    try:
        view = resolve(parts.path).view_name
    except Resolver404:
        view = ""
    if view != WEBHOOK_VIEW:
        return f"{refusal} (/{settings.WEBHOOK_PATH_PREFIX}/webhook/<key>/)."
    if origins is not None and origin not in origins:
        return f"{refusal}, on this app's address."
    return ""


def app_origins():
    """The origins this app answers on: where it serves the sandbox (GRAPH_API_URL's origin),
    PUBLIC_BASE_URL, and each host name of ALLOWED_HOSTS on the sandbox's scheme and port (a
    developer may open the app as localhost while the sandbox is reached as 127.0.0.1)."""
    sandbox = urlsplit(settings.GRAPH_API_URL)
    origins = {_origin(sandbox)}
    if settings.PUBLIC_BASE_URL:
        origins.add(_origin(urlsplit(settings.PUBLIC_BASE_URL)))
    for host in settings.ALLOWED_HOSTS:
        if host and not host.startswith((".", "*")):
            origins.add((sandbox.scheme, host.strip("[]").lower(), _port(sandbox)))
    return origins


def own_webhook_callback_problem(url):
    """`webhook_callback_problem` for the sandbox this app serves: on this app's origins."""
    return webhook_callback_problem(url, origins=app_origins())


def _origin(parts):
    return (parts.scheme, (parts.hostname or "").lower(), _port(parts))


def _port(parts):
    return parts.port or DEFAULT_PORTS.get(parts.scheme)
