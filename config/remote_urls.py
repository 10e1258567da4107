"""The one check for every remote URL the app downloads or shows (SSRF, and media the agent's
browser loads by itself).

Parsers disagree on odd URLs: `http://127.0.0.1:8399\\@scontent.xx.fbcdn.net/x.png` is on
Facebook's host for `urllib.parse`, on 127.0.0.1 for the HTTP client, and browsers read a
backslash as a slash. So the check interprets nothing: it accepts only URLs that every parser
reads the same way, printable ASCII without a backslash, `http(s)://` then a DNS name (no user
info, no IP literal, no port but the scheme's own, no trailing dot) and a path.

- **Media** (downloaded by the server, or loaded by the browser without a click: pictures,
  stickers, videos, audio) must be https on FACEBOOK_MEDIA_HOSTS (a leading dot: any subdomain).
  The one exception is the sandbox's fake Graph API (GRAPH_API_URL when it is not Facebook's),
  which serves its pictures below its own base URL, on 127.0.0.1 in tests and `make run`.
- **Links** (a page a customer shared, which an agent may click) may go to any such DNS name.

A download also resolves the name once, refuses it when any address is not a public one, and
connects to one of those very addresses (`public_addresses`, messenger.graph.fetch_media), so a
DNS answer can't change between the check and the connection.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}
_URL = re.compile(
    r"(?P<scheme>[A-Za-z]+)://(?P<host>[^/?#:]*)(?::(?P<port>[0-9]{1,5}))?(?P<target>[/?#].*)?",
    re.S,
)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# At least two labels, the last one letters only: `2130706433`, `0x7f.1` and `127.0.0.1` are
# addresses to the resolver, not names.
_DNS_NAME = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:[/?#]|$)")


class UnsafeURL(ValueError):
    """A URL the app will neither fetch nor show."""


@dataclass(frozen=True)
class RemoteURL:
    url: str
    scheme: str
    host: str
    port: int
    target: str  # the path and query, as the request line carries them
    sandbox: bool = False  # the sandbox's fake Graph API: on a loopback address by design

    @property
    def netloc(self):
        return self.host if self.port == DEFAULT_PORTS[self.scheme] else f"{self.host}:{self.port}"


def media_url(url):
    """`url` as a RemoteURL when it is Facebook media (or the sandbox's); else UnsafeURL."""
    remote = _parse(url)
    if _in_sandbox(remote):
        return replace(remote, sandbox=True)
    _check_name(remote)
    if remote.scheme != "https":
        raise UnsafeURL("media must come over https")
    if not _host_allowed(remote.host, settings.FACEBOOK_MEDIA_HOSTS):
        raise UnsafeURL(f"{remote.host} is not one of Facebook's media hosts")
    return remote


def link_url(url):
    """`url` as a RemoteURL when it is a link an agent may follow: any DNS name; else UnsafeURL."""
    remote = _parse(url)
    if not _in_sandbox(remote):
        _check_name(remote)
    return remote


def is_media_url(url):
    return _passes(media_url, url)


def is_link_url(url):
    return _passes(link_url, url)


def public_addresses(remote):
    """The addresses to connect to for `remote`, resolved once, in the resolver's order:
    UnsafeURL when the name has any address that is not public (loopback, private, link-local,
    …), except the sandbox's own. Raises OSError when the name does not resolve."""
    answers = socket.getaddrinfo(remote.host, remote.port, type=socket.SOCK_STREAM)
    addresses = [_address(info[4][0]) for info in answers]
    if not addresses:
        raise OSError(f"{remote.host} has no address")
    if not remote.sandbox and not all(address and _public(address) for address in addresses):
        raise UnsafeURL(f"{remote.host} resolves to an address that is not public")
    return list(dict.fromkeys(str(address) for address in addresses if address))


def sandbox_graph_base():
    """Where the sandbox's fake Graph API serves (GRAPH_API_URL without its version), or ""
    when GRAPH_API_URL is Facebook's."""
    graph = urlsplit(settings.GRAPH_API_URL)
    host = (graph.hostname or "").lower()
    if not host or host == "facebook.com" or host.endswith(".facebook.com"):
        return ""
    return settings.GRAPH_API_URL.rsplit("/", 1)[0]


def _parse(url):
    if not isinstance(url, str) or not url.isascii() or not url.isprintable():
        raise UnsafeURL("not a URL of printable ASCII characters")
    if " " in url or "\\" in url:
        raise UnsafeURL("a space or a backslash in the URL")
    match = _URL.fullmatch(url)
    if match is None:
        raise UnsafeURL("not an http(s)://host/path URL (user info, a port that is not a number)")
    scheme = match["scheme"].lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL(f"the scheme {scheme!r} is not http or https")
    port = int(match["port"]) if match["port"] else DEFAULT_PORTS[scheme]
    target = (match["target"] or "/").split("#", 1)[0] or "/"
    if target.startswith("?"):
        target = "/" + target
    if _DOT_SEGMENT.search(target.split("?", 1)[0]):
        raise UnsafeURL("a . or .. segment in the path")
    return RemoteURL(url, scheme, match["host"].lower(), port, target)


def _check_name(remote):
    if not _DNS_NAME.fullmatch(remote.host) or len(remote.host) > 253:
        raise UnsafeURL(f"{remote.host!r} is not a host name (an address, or no name at all)")
    if remote.port != DEFAULT_PORTS[remote.scheme]:
        raise UnsafeURL(f"the port {remote.port} is not {remote.scheme}'s own")


def _in_sandbox(remote):
    base = sandbox_graph_base()
    if not base:
        return False
    parts = urlsplit(base)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    return (remote.scheme, remote.host, remote.port) == (
        parts.scheme,
        parts.hostname,
        port,
    ) and remote.target.startswith(parts.path.rstrip("/") + "/")


def _host_allowed(host, allowed_hosts):
    for allowed in allowed_hosts:
        allowed = allowed.lower()
        if host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def _address(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:  # e.g. an IPv6 address with a zone ("fe80::1%eth0"): link-local
        return None


def _public(address):
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def _passes(check, url):
    try:
        check(url)
    except UnsafeURL:
        return False
    return True
