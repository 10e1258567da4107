"""The one client for Facebook's Graph API, and the typed errors it raises.

Every call goes through one `requests.Session`, to `settings.GRAPH_API_URL`, with a timeout and
an `appsecret_proof`. Graph's error JSON is mapped to a small hierarchy by code and subcode (never
by message text) so callers decide between retrying, failing, and telling an admin what to fix.
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

import requests
import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from config import remote_urls

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


class CallbackVerificationFailed(GraphError):
    """Setting an app's webhook failed because Facebook's verify handshake with the callback URL
    did not succeed (code 2200): the URL is unreachable or did not echo the challenge."""


class Transient(GraphError):
    """A temporary failure on Facebook's side (5xx, codes 1, 2, 1200)."""

    retryable = True


class Unreachable(Transient):
    """No answer at all: connection refused, DNS failure or timeout. Raised as such, the request
    never went out; its subclass OutcomeUnknown says it may have."""


class OutcomeUnknown(Unreachable):
    """The request went out but no answer came back (read timeout, connection dropped): a POST
    may have taken effect on Facebook's side. Retrying a send could deliver it twice."""


TOKEN_CODES = {102, 190}
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80006}
TRANSIENT_CODES = {1, 2, 1200}
PERMISSION_CODES = {3, 10, 230} | set(range(200, 300))
CALLBACK_VERIFICATION_CODE = 2200


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
    if code == CALLBACK_VERIFICATION_CODE:
        return CallbackVerificationFailed
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


@sensitive_variables()
def appsecret_proof(access_token, app_secret):
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


# Extra seconds for calls during which Facebook itself calls our webhook (its verify handshake).
WEBHOOK_HANDSHAKE_ALLOWANCE = 10.0


@dataclass(frozen=True)
class PageIdentity:
    id: str
    name: str


# The fields of a message the Conversations API gives (the mid is its `id`).
MESSAGE_FIELDS = "id,created_time,from,to,message"


@dataclass(frozen=True)
class ListPage:
    """One page of a Graph list (`data` and `paging`): its items, and the cursor of the next
    page ("" on the last one: Graph gives `paging.next` only when there is more)."""

    items: list
    after: str = ""

    @classmethod
    def of(cls, body):
        data = body.get("data") if isinstance(body, dict) else None
        items = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        paging = body.get("paging") if isinstance(body, dict) else None
        paging = paging if isinstance(paging, dict) else {}
        cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
        after = str(cursors.get("after") or "") if paging.get("next") else ""
        return cls(items, after)


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

    @sensitive_variables()
    def __init__(self, access_token, app_secret, *, base_url=None, timeout=None):
        self.access_token = access_token
        self.app_secret = app_secret
        self.base_url = (base_url or settings.GRAPH_API_URL).rstrip("/")
        self.timeout = timeout or settings.GRAPH_API_TIMEOUT

    @classmethod
    def for_page(cls, facebook_page):
        """A client for a FacebookPage's token (raises SecretUnreadable if it can't be read)."""
        return cls(facebook_page.page_access_token, facebook_page.app_secret)

    @classmethod
    @sensitive_variables()
    def for_app(cls, app_id, app_secret):
        """A client with the app token `{app_id}|{app_secret}`, for calls about the app itself
        (debug_token, the app's webhook subscription). Holds the secret: never log the token."""
        return cls(f"{app_id}|{app_secret}", app_secret)

    def get_page_identity(self):
        """`GET /me` with a page token: which page the token belongs to."""
        data = self.request("GET", "/me", params={"fields": "id,name"})
        return PageIdentity(id=str(data["id"]), name=str(data.get("name", "")))

    def get_user_profile(self, psid, fields):
        """User Profile API: `GET /{PSID}?fields=…` (Graph adds `id`)."""
        return self.request("GET", f"/{psid}", params={"fields": ",".join(fields)})

    def send_message(self, psid, message, messaging_type, tag=None, metadata=None):
        """Send API, `POST /me/messages`: one message to a PSID; returns Graph's `message_id`.

        `message` is the Send API's message object (`{"text": …}` or `{"attachment": …}`);
        `metadata` (under 1000 characters) comes back in the message's echo.
        """
        body = {
            "recipient": {"id": psid},
            "messaging_type": messaging_type,
            "message": {**message, **({"metadata": metadata} if metadata else {})},
        }
        if tag:
            body["tag"] = tag
        data = self.request("POST", "/me/messages", json=body)
        message_id = data.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            # Graph said yes but not to what: don't retry (it may have gone out), don't guess.
            raise GraphError("Graph accepted the message but returned no message_id")
        return message_id

    def send_sender_action(self, psid, action):
        """Send API `sender_action` (`typing_on`, `typing_off`, `mark_seen`): only `recipient`
        and the action, no message."""
        self.request(
            "POST", "/me/messages", json={"recipient": {"id": psid}, "sender_action": action}
        )

    def upload_attachment(self, attachment_type, filename, content, content_type):
        """Attachment Upload API, `POST /me/message_attachments` (multipart with `filedata`):
        a reusable attachment; returns its `attachment_id` for the Send API."""
        message = {"attachment": {"type": attachment_type, "payload": {"is_reusable": True}}}
        data = self.request(
            "POST",
            "/me/message_attachments",
            data={"message": json.dumps(message)},
            files={"filedata": (filename, content, content_type)},
        )
        attachment_id = data.get("attachment_id")
        if not attachment_id:
            raise GraphError("Graph accepted the upload but returned no attachment_id")
        return str(attachment_id)

    def debug_token(self, input_token):
        """`GET /debug_token` (with an app token): what Graph knows of `input_token`, Graph's
        `data` object (`is_valid`, `app_id`, `type`, `scopes`, `expires_at` (0: never), …). An
        invalid input token is an answer (`is_valid: false`), not an error."""
        body = self.request("GET", "/debug_token", params={"input_token": input_token})
        data = body.get("data")
        if not isinstance(data, dict):
            raise GraphError("Graph answered debug_token without a data object")
        return data

    def get_subscribed_apps(self, page_id):
        """`GET /{page-id}/subscribed_apps` (page token): the apps that get the page's webhook
        events, each `{"id", "name", "subscribed_fields", …}`; empty when none is."""
        data = self.request("GET", f"/{page_id}/subscribed_apps").get("data")
        return [app for app in data if isinstance(app, dict)] if isinstance(data, list) else []

    def subscribe_page(self, page_id, fields):
        """`POST /{page-id}/subscribed_apps` (page token): the token's app gets these fields of
        the page's events. Needs pages_manage_metadata."""
        data = self.request(
            "POST", f"/{page_id}/subscribed_apps", data={"subscribed_fields": ",".join(fields)}
        )
        return data.get("success") is True

    def subscribe_app_webhook(self, app_id, callback_url, verify_token, fields):
        """`POST /{app-id}/subscriptions` (app token): set the app's Page webhook. Facebook
        verifies the callback URL with the GET handshake before it answers, so this call waits
        for our own webhook view; a failed handshake raises CallbackVerificationFailed."""
        data = self.request(
            "POST",
            f"/{app_id}/subscriptions",
            data={
                "object": "page",
                "callback_url": callback_url,
                "verify_token": verify_token,
                "fields": ",".join(fields),
            },
            # Facebook's answer includes its round trip to the callback URL.
            timeout=self.timeout + WEBHOOK_HANDSHAKE_ALLOWANCE,
        )
        return data.get("success") is True

    # --- Conversations API (gap recovery: messenger.recovery) -------------------------------
    def list_conversations(self, page_id, *, after="", limit=25, messages_limit=25):
        """`GET /{page-id}/conversations?platform=messenger` (page token): the page's Messenger
        conversations, most recently updated first, each with `id`, `updated_time` and the
        first page of its `messages` (newest first, see `list_conversation_messages`).
        Facebook allows 2 calls a second per page: the caller paces them."""
        fields = f"id,updated_time,messages.limit({messages_limit}){{{MESSAGE_FIELDS}}}"
        params = {"platform": "messenger", "fields": fields, "limit": limit}
        if after:
            params["after"] = after
        return ListPage.of(self.request("GET", f"/{page_id}/conversations", params=params))

    def list_conversation_messages(self, conversation_id, *, after="", limit=25):
        """`GET /{conversation-id}/messages` (page token): the conversation's messages, newest
        first, each `{id, created_time, message, from: {id, name}, to: {data: [{id}]}}`."""
        params = {"fields": MESSAGE_FIELDS, "limit": limit}
        if after:
            params["after"] = after
        return ListPage.of(self.request("GET", f"/{conversation_id}/messages", params=params))

    # Error reports hide the variables of this call and of every call below it (requests,
    # urllib3): the query holds the access token and its proof.
    @sensitive_variables()
    def request(self, method, path, *, params=None, json=None, data=None, files=None, timeout=None):
        """One Graph call; `json=` for a JSON body, or `data=`/`files=` for a form (multipart
        when `files` is given). Returns the JSON object Graph answered, or raises GraphError."""
        query = dict(params or {})
        query["access_token"] = self.access_token
        query["appsecret_proof"] = appsecret_proof(self.access_token, self.app_secret)
        url = f"{self.base_url}/{path.lstrip('/')}"
        timeout = timeout or self.timeout
        try:
            response = _session.request(
                method,
                url,
                params=query,
                json=json,
                data=data,
                files=files,
                timeout=timeout,
            )
        except requests.ConnectTimeout:
            raise Unreachable(f"no connection within {timeout:g} s") from None
        except requests.Timeout:
            raise OutcomeUnknown(f"no answer within {timeout:g} s") from None
        except requests.ConnectionError as exc:
            # The exception text can include the URL with the token: never pass it on.
            if _never_connected(exc):
                raise Unreachable(f"connection failed: {type(exc).__name__}") from None
            raise OutcomeUnknown(f"connection lost: {type(exc).__name__}") from None
        except requests.RequestException as exc:
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


def _never_connected(exc):
    """True when the connection was never made (refused, DNS), so the request did not go out."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


class MediaRefused(Exception):
    """A media URL we will not fetch (not Facebook's, too big, not the expected type)."""


MEDIA_USER_AGENT = "campaign-builder"


def fetch_media(url, *, max_bytes, content_type_prefix="image/", timeout=None):
    """Download a file Facebook points at (profile pictures expire), from Facebook's media hosts
    only (config.remote_urls). Returns (bytes, the Content-Type the server declared).

    The host name is resolved once and the connection made to the checked addresses (the Host
    header and TLS name stay the URL's), so DNS can't point it elsewhere in between; redirects
    are not followed, so an allowed host can't bounce the request elsewhere (SSRF).
    """
    try:
        remote = remote_urls.media_url(url)
        addresses = remote_urls.public_addresses(remote)
    except remote_urls.UnsafeURL as exc:
        raise MediaRefused(f"not a Facebook media URL ({exc}): {url[:60]!r}") from None
    except OSError:
        raise Unreachable(f"media host {remote.host} not found") from None
    timeout = timeout or settings.GRAPH_API_TIMEOUT
    for address in addresses:  # as the HTTP client would: the next address if refused
        try:
            return _download(remote, address, timeout, max_bytes, content_type_prefix)
        except urllib3.exceptions.NewConnectionError:
            continue
    raise Unreachable(f"media download failed: no connection to {remote.host}")


def _download(remote, address, timeout, max_bytes, content_type_prefix):
    pool = media_connection(remote, address, timeout=timeout)
    try:
        response = pool.urlopen(
            "GET",
            remote.target,
            headers={"Host": remote.netloc, "User-Agent": MEDIA_USER_AGENT},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            return _read_media(response, max_bytes, content_type_prefix)
        finally:
            response.release_conn()
    except urllib3.exceptions.NewConnectionError:
        raise  # the caller tries the next address, if any
    except urllib3.exceptions.TimeoutError:
        raise Unreachable("media download timed out") from None
    except urllib3.exceptions.HTTPError as exc:
        raise Unreachable(f"media download failed: {type(exc).__name__}") from None
    finally:
        pool.close()


def media_connection(remote, address, *, timeout, ca_certs=None):
    """A connection pool to `address` for `remote`: TLS checks the certificate against the URL's
    host name, whatever address it was reached at."""
    options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False}
    if remote.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            remote.port,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs or requests.certs.where(),
            server_hostname=remote.host,
            assert_hostname=remote.host,
            **options,
        )
    return urllib3.HTTPConnectionPool(address, remote.port, **options)


def _read_media(response, max_bytes, content_type_prefix):
    if response.status != 200:
        raise Transient(f"media download answered HTTP {response.status}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if not content_type.startswith(content_type_prefix):
        raise MediaRefused(f"unexpected content type {content_type!r}")
    data = bytearray()
    for chunk in response.stream(64 * 1024):
        data.extend(chunk)
        if len(data) > max_bytes:
            raise MediaRefused(f"larger than {max_bytes} bytes")
    return bytes(data), content_type
