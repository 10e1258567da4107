"""The one client for Facebook's Graph API, and the typed errors it raises.

Every call goes through one `requests.Session`, to `settings.GRAPH_API_URL`, with a timeout and
an `appsecret_proof`. Graph's error JSON is mapped to a small hierarchy by code and subcode (never
by message text) so callers decide between retrying, failing, and telling an admin what to fix.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)


class GraphError(Exception):
    """Graph answered with an error, or could not be reached. `retryable`: may succeed later."""

    retryable = False

    def __init__(self, message, *, code=None, subcode=None, http_status=None, fbtrace_id=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id

    def __str__(self):
        where = f"code {self.code}" + (f"/{self.subcode}" if self.subcode else "")
        return f"{self.message} ({where})" if self.code is not None else self.message


class TokenInvalid(GraphError):
    """The access token is invalid, expired or revoked: a person must provide a new one."""


class PermissionMissing(GraphError):
    """The app or token lacks a permission (app not live, pages_messaging not granted, …)."""


class InvalidRequest(GraphError):
    """Graph refused a parameter (code 100), e.g. an appsecret_proof made with the wrong secret."""


class RateLimited(GraphError):
    retryable = True


class OutsideWindow(GraphError):
    """The message falls outside the messaging window (24 h, or 7 days with HUMAN_AGENT)."""


class RecipientUnavailable(GraphError):
    """The person can't receive messages from the page (blocked, deleted, no matching user)."""


class ProfileUnavailable(GraphError):
    """The person has no profile to show (accounts made with a phone number)."""


class ProfileFieldsDenied(GraphError):
    """Some profile fields asked for need permissions the page does not have."""


class Transient(GraphError):
    """A temporary failure on Facebook's side (5xx, codes 1, 2, 1200)."""

    retryable = True


class Unreachable(Transient):
    """No answer at all: connection refused, DNS failure or timeout."""


TOKEN_CODES = {102, 190}
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80006}
TRANSIENT_CODES = {1, 2, 1200}
PERMISSION_CODES = {3, 10, 230} | set(range(200, 300))


def error_from_graph(body, http_status):
    """Turn Graph's `{"error": {...}}` body into the matching GraphError subclass."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        cls = Transient if http_status >= 500 else GraphError
        return cls(f"Graph API answered HTTP {http_status}", http_status=http_status)
    code = error.get("code")
    subcode = error.get("error_subcode")
    cls = _error_class(code, subcode, http_status)
    return cls(
        str(error.get("message") or "Graph API error"),
        code=code,
        subcode=subcode,
        http_status=http_status,
        fbtrace_id=error.get("fbtrace_id"),
    )


def _error_class(code, subcode, http_status):
    if code in TOKEN_CODES:
        return TokenInvalid
    if (code, subcode) in {(10, 2018278), (10, 2018065)}:
        return OutsideWindow
    if code == 551 or (code, subcode) in {(100, 2018001), (10, 2018108)}:
        return RecipientUnavailable
    if (code, subcode) == (100, 2018218):
        return ProfileUnavailable
    if (code, subcode) == (100, 2018247):
        return ProfileFieldsDenied
    if code in RATE_LIMIT_CODES:
        return RateLimited
    if code in TRANSIENT_CODES or http_status >= 500:
        return Transient
    if code in PERMISSION_CODES:
        return PermissionMissing
    if code == 100:
        return InvalidRequest
    return GraphError


def appsecret_proof(access_token, app_secret):
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PageIdentity:
    id: str
    name: str


def _new_session():
    session = requests.Session()
    # Connection reuse across calls; retries are the caller's decision (tasks back off).
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "campaign-builder/1.0"
    return session


_session = _new_session()


class GraphClient:
    """Graph API calls made with one access token (a page token, or an app token)."""

    def __init__(self, access_token, app_secret, *, base_url=None, timeout=None):
        self.access_token = access_token
        self.app_secret = app_secret
        self.base_url = (base_url or settings.GRAPH_API_URL).rstrip("/")
        self.timeout = timeout or settings.GRAPH_API_TIMEOUT

    @classmethod
    def for_page(cls, facebook_page):
        """A client for a FacebookPage's token (raises SecretUnreadable if it can't be read)."""
        return cls(facebook_page.page_access_token, facebook_page.app_secret)

    def get_page_identity(self):
        """`GET /me` with a page token: which page the token belongs to."""
        data = self.request("GET", "/me", params={"fields": "id,name"})
        return PageIdentity(id=str(data["id"]), name=str(data.get("name", "")))

    def get_user_profile(self, psid, fields):
        """User Profile API: `GET /{PSID}?fields=…` (Graph adds `id`)."""
        return self.request("GET", f"/{psid}", params={"fields": ",".join(fields)})

    def request(self, method, path, *, params=None, json=None):
        query = dict(params or {})
        query["access_token"] = self.access_token
        query["appsecret_proof"] = appsecret_proof(self.access_token, self.app_secret)
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = _session.request(method, url, params=query, json=json, timeout=self.timeout)
        except requests.Timeout:
            raise Unreachable(f"no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            # The exception text can include the URL with the token: never pass it on.
            raise Unreachable(f"connection failed: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            error = error_from_graph(body, response.status_code)
            logger.info(
                "graph %s %s failed: %s %s",
                method,
                path.split("?")[0],
                type(error).__name__,
                error,
            )
            raise error
        if not isinstance(body, dict):
            raise Transient(f"Graph API answered HTTP {response.status_code} without JSON")
        return body


class MediaRefused(Exception):
    """A media URL we will not fetch (not Facebook's, too big, not the expected type)."""


def fetch_media(url, *, allowed_hosts, max_bytes, content_type_prefix="image/", timeout=None):
    """Download a file Facebook points at (profile pictures expire), from Facebook's hosts only.

    `allowed_hosts` holds host names; a leading dot allows every subdomain. Redirects are not
    followed, so an allowed host can't bounce the request elsewhere (SSRF).
    """
    parsed = urlsplit(url)
    host = (parsed.hostname or "").lower()
    if parsed.scheme not in {"http", "https"} or not _host_allowed(host, allowed_hosts):
        raise MediaRefused(f"not a Facebook media host: {host or url[:40]!r}")
    try:
        with _session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=timeout or settings.GRAPH_API_TIMEOUT,
        ) as response:
            if response.status_code != 200:
                raise Transient(f"media download answered HTTP {response.status_code}")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            if not content_type.startswith(content_type_prefix):
                raise MediaRefused(f"unexpected content type {content_type!r}")
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise MediaRefused(f"larger than {max_bytes} bytes")
            return bytes(data), content_type
    except requests.Timeout:
        raise Unreachable("media download timed out") from None
    except requests.RequestException as exc:
        raise Unreachable(f"media download failed: {type(exc).__name__}") from None


def _host_allowed(host, allowed_hosts):
    for allowed in allowed_hosts:
        allowed = allowed.lower()
        if host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False
