"""A fake of Facebook's Graph API: a real HTTP server on loopback for tests and the sandbox.

It speaks the part of the protocol we use (see shared/messenger/PROTOCOL.md, section 11): it
checks `access_token` and `appsecret_proof` like Graph does, answers with Graph's error bodies,
records every call, and can be told to fail or stall the next calls.

    fake = FakeGraphAPI().start()
    fake.add_page(page_id="1", name="Acme", access_token="tok", app_id="9", app_secret="s")
    settings.GRAPH_API_URL = fake.url
    fake.fail_next("190_463_token_expired")

Without `start()` no socket is bound: a host application can serve it itself by passing each
request to `handle()` (and `response_headers()`), with `public_origin` set to where it is
mounted, e.g. `FakeGraphAPI(public_origin="http://localhost:8000/sandbox/graph")`.

The Send API part simulates Messenger's rules: the 24-hour window (and 7 days with the
HUMAN_AGENT tag) counted from `customer_wrote(psid)`, blocked people, apps in development mode
that may only message people with a role, and Graph's parameter checks. Accepted sends are kept
for inspection: `fake.sent_messages(psid)`.

The set-up part answers `debug_token` (token validity, scopes and expiry, see `set_token` and
`expire_token`), keeps the page's `subscribed_apps`, and sets an app's webhook through
`POST /{app-id}/subscriptions` only after the same verify handshake with the callback URL that
Facebook makes (a real GET to it), and only to a URL of our webhook view (`callback_check`).
"""

import ast
import contextlib
import email.policy
import hashlib
import hmac
import itertools
import json
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests

from messenger.limits import MAX_ATTACHMENT_BYTES, MAX_TEXT_LENGTH
from messenger.sandbox.callbacks import webhook_callback_problem
from messenger.sandbox.fake_conversations import CONVERSATIONS_ERRORS, ConversationsMixin

GRAPH_VERSION = "v25.0"
# Graph's error bodies, as recorded in shared/messenger/payloads/70-87 (keyed by code_subcode_what).
ERROR_BODIES = json.loads((Path(__file__).with_name("graph_errors.json")).read_text())
ERROR_BODIES["100_33_unsupported_request"] = {
    "error": {
        "message": "Unsupported request - method type or path not supported by the fake Graph API",
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": "FakeGraph000",
    }
}
ERROR_BODIES.update(CONVERSATIONS_ERRORS)


def _invalid_parameter(message, subcode=None):
    error = {"message": message, "type": "OAuthException", "code": 100}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": {**error, "fbtrace_id": "FakeGraph100"}}


# Send API parameter errors (code 100), worded like Graph's.
ERROR_BODIES.update(
    {
        "100_recipient_required": _invalid_parameter("(#100) The parameter recipient is required"),
        "100_2018034_empty_message": _invalid_parameter(
            "(#100) Message cannot be empty, must provide valid attachment or text", 2018034
        ),
        "100_text_and_attachment": _invalid_parameter(
            "(#100) Only one of text or attachment can be specified"
        ),
        "100_messaging_type_invalid": _invalid_parameter(
            "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}"
        ),
        "100_tag_required": _invalid_parameter(
            "(#100) Param tag is required when messaging_type is MESSAGE_TAG"
        ),
        "100_tag_not_supported": _invalid_parameter(
            "(#100) Param tag is not supported: message tags other than HUMAN_AGENT "
            "(ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, …) are rejected"
        ),
        "100_sender_action_with_message": _invalid_parameter(
            "(#100) sender_action can't be sent together with message"
        ),
        "100_sender_action_invalid": _invalid_parameter(
            "(#100) Param sender_action must be one of {typing_on, typing_off, mark_seen}"
        ),
        "100_attachment_type_invalid": _invalid_parameter(
            "(#100) Param message[attachment][type] must be one of "
            "{image, audio, video, file, template}"
        ),
        "100_attachment_id_invalid": _invalid_parameter(
            "(#100) The attachment_id is not valid for this page"
        ),
        "100_attachment_payload_missing": _invalid_parameter(
            "(#100) An attachment needs payload.url, payload.attachment_id or filedata"
        ),
        # Set-up calls (subscriptions): parameters, permissions and the verify handshake.
        "100_subscribed_fields_required": _invalid_parameter(
            "(#100) The parameter subscribed_fields is required"
        ),
        "100_subscribed_fields_invalid": _invalid_parameter(
            "(#100) Param subscribed_fields must be a list of page webhook fields"
        ),
        "100_input_token_required": _invalid_parameter(
            "(#100) The parameter input_token is required"
        ),
        "100_subscription_params_required": _invalid_parameter(
            "(#100) object, callback_url, verify_token and fields are required"
        ),
        "190_invalid_app_token": {
            "error": {
                "message": "Invalid OAuth access token signature.",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": "FakeGraph190",
            }
        },
        "200_requires_pages_manage_metadata": {
            "error": {
                "message": "(#200) The permission pages_manage_metadata is required to manage "
                "the page's app subscriptions",
                "type": "OAuthException",
                "code": 200,
                "fbtrace_id": "FakeGraph200",
            }
        },
        "2200_callback_verification_failed": {
            "error": {
                "message": "(#2200) callback verification failed: The URL couldn't be validated.",
                "type": "OAuthException",
                "code": 2200,
                "is_transient": False,
                "fbtrace_id": "FakeGraph2200",
            }
        },
    }
)

MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"}
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}
UPLOAD_TYPES = {"image", "video", "audio", "file"}
ATTACHMENT_TYPES = UPLOAD_TYPES | {"template"}
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# What a page token made in the app's Messenger settings is granted (payload 97).
DEFAULT_SCOPES = (
    "pages_show_list",
    "pages_messaging",
    "pages_manage_metadata",
    "pages_read_engagement",
    "public_profile",
)
# Fields an app can take of a page's webhook events (Messenger's, and a few others).
PAGE_WEBHOOK_FIELDS = frozenset(
    {
        "messages",
        "message_deliveries",
        "message_reads",
        "message_echoes",
        "message_reactions",
        "message_edits",
        "messaging_postbacks",
        "messaging_optins",
        "messaging_referrals",
        "messaging_handovers",
        "messaging_policy_enforcement",
        "messaging_account_linking",
        "standby",
        "feed",
    }
)
# Meta's Send API limits per page: calls a second for text (anything but audio and video) and
# for audio and video (`limit_send_rate`).
SEND_RATE_TEXT = 300.0
SEND_RATE_MEDIA = 10.0
MEDIA_ATTACHMENT_TYPES = {"audio", "video"}
CALLBACK_TIMEOUT_SECONDS = 5.0
# How long `answer_together` holds calls for the others to arrive.
HOLD_TIMEOUT_SECONDS = 10.0


@dataclass
class FakePage:
    page_id: str
    name: str
    access_token: str
    app_id: str
    app_secret: str
    # Profile fields this page's app is not approved for (asking for any fails the whole call).
    denied_profile_fields: frozenset = frozenset()
    # An app in development mode may only message people with a role on it (`add_role`).
    app_live: bool = True
    app_name: str = "Acme Agent Desk"
    # What debug_token says of the token; calls with an invalid or expired token fail with 190.
    scopes: tuple = DEFAULT_SCOPES
    expires_at: int = 0  # epoch seconds; 0: never expires
    valid: bool = True
    issued_at: int = field(default_factory=lambda: int(time.time()) - 86400)

    @property
    def expired(self):
        return bool(self.expires_at) and self.expires_at <= time.time()


@dataclass(frozen=True)
class FakeApp:
    """The caller of a request made with an app token `{app_id}|{app_secret}`."""

    app_id: str
    app_secret: str
    name: str


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body."""

    filename: str
    content_type: str
    content: bytes


FIRST_NAMES = [
    "Maria",
    "Jonas",
    "Aiko",
    "Lucas",
    "Amara",
    "Mateo",
    "Sofia",
    "Noah",
    "Leila",
    "Ivan",
]
LAST_NAMES = ["Schmidt", "Okafor", "Tanaka", "Silva", "Haddad", "Novak", "Rossi", "Kim", "Berg"]
LOCALES = ["de_DE", "en_US", "ja_JP", "pt_BR", "fr_FR", "es_ES", "it_IT", "ko_KR", "sv_SE"]


def made_up_profile(psid):
    """The same believable profile for a PSID every time."""
    n = int(hashlib.sha256(psid.encode()).hexdigest(), 16)
    return {
        "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[(n // 7) % len(LAST_NAMES)],
        "locale": LOCALES[(n // 11) % len(LOCALES)],
        "timezone": (n // 13) % 24 - 11,
        "gender": ["female", "male"][(n // 17) % 2],
    }


@dataclass
class RecordedCall:
    method: str
    path: str
    query: dict
    body: object

    @property
    def access_token(self):
        return self.query.get("access_token")


@dataclass
class _Failure:
    error: str | None  # key of ERROR_BODIES, or None for a bare HTTP status
    http_status: int
    delay: float = 0.0
    path_contains: str = ""
    together: threading.Barrier | None = None  # held until the barrier's calls all arrived
    hook: object = None  # called (no arguments) before the call is answered as usual


@dataclass
class _State:
    pages: dict = field(default_factory=dict)  # access token -> FakePage
    profiles: dict = field(default_factory=dict)  # psid -> profile fields (None: no profile)
    calls: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    last_wrote: dict = field(default_factory=dict)  # psid -> when the customer last wrote
    blocked: set = field(default_factory=set)  # psids that blocked the page
    roles: set = field(default_factory=set)  # psids with a role on the app (admin, tester…)
    sent: list = field(default_factory=list)  # accepted Send API messages
    sender_actions: list = field(default_factory=list)
    uploads: dict = field(default_factory=dict)  # attachment_id -> upload record
    page_subscriptions: dict = field(default_factory=dict)  # page_id -> {app_id: [fields]}
    app_subscriptions: dict = field(default_factory=dict)  # app_id -> {object: subscription}
    # The Conversations API and webhook outages (fake_conversations).
    conversations: dict = field(default_factory=dict)  # page_id -> {psid: conversation}
    dropped_webhooks: set = field(default_factory=set)  # page_ids whose events go nowhere
    conversation_calls: dict = field(default_factory=dict)  # page_id -> recent call times
    in_flight: int = 0  # calls being answered now
    most_in_flight: int = 0  # the most calls that were being answered at once
    # Send API pacing: kind -> (calls a second, seconds of calls taken at once); the buckets,
    # (page_id, kind) -> (tokens, monotonic time); and the calls refused for it.
    send_limits: dict = field(
        default_factory=lambda: {"text": (SEND_RATE_TEXT, 1.0), "media": (SEND_RATE_MEDIA, 1.0)}
    )
    send_buckets: dict = field(default_factory=dict)
    rate_limited: list = field(default_factory=list)


class GraphRequestError(Exception):
    def __init__(self, error_key, http_status=400, *, detail=""):
        self.error_key = error_key
        self.http_status = http_status
        self.detail = detail  # appended to the catalogue's message

    def body(self):
        body = ERROR_BODIES[self.error_key]
        if not self.detail:
            return body
        error = body["error"]
        return {"error": {**error, "message": f"{error['message']} {self.detail}"}}


class FakeGraphAPI(ConversationsMixin):
    request_error = GraphRequestError

    def __init__(self, host="127.0.0.1", port=0, *, public_origin=None, callback_check=None):
        """`public_origin`: where the fake is reachable when a host application serves it
        through `handle()` (e.g. `http://localhost:8000/sandbox/graph`); by default, the
        address of the server `start()` binds on `host`:`port`.

        `callback_check(url)` says why a webhook callback URL must not be called ("" when it
        may); by default only our webhook view's path is called back, on any origin (the
        app's own sandbox also checks the origin: messenger.sandbox.callbacks)."""
        self._state = _State()
        self.callback_check = callback_check or webhook_callback_problem
        self._lock = threading.Lock()
        self._address = (host, port)
        self._public_origin = public_origin.rstrip("/") if public_origin else None
        self._server = None
        self._thread = None
        self._ids = itertools.count(1)  # never reset: ids stay unique across tests
        self.callback_timeout = CALLBACK_TIMEOUT_SECONDS  # the verify handshake's wait
        self.hook_errors = []  # what `run_during_next` hooks raised
        # Seconds every answer waits before it is given (a slow Graph API: bench, tests).
        self.latency = 0.0

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self):
        """Serve on a thread of this process (binds the socket now)."""
        self._server = ThreadingHTTPServer(self._address, _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    @property
    def origin(self):
        if self._public_origin:
            return self._public_origin
        if self._server is None:
            raise RuntimeError("the fake Graph API is not started and has no public_origin")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self):
        """The value for settings.GRAPH_API_URL."""
        return f"{self.origin}/{GRAPH_VERSION}"

    # --- set-up and inspection ---------------------------------------------------------------
    def reset(self):
        with self._lock:
            self._state = _State()
            self.hook_errors = []
            self.latency = 0.0

    def add_page(
        self,
        *,
        page_id,
        name,
        access_token,
        app_id,
        app_secret,
        denied_profile_fields=(),
        app_live=True,
        app_name="Acme Agent Desk",
        scopes=DEFAULT_SCOPES,
        expires_at=0,
    ):
        """A page, its token and its app. `scopes` and `expires_at` (epoch seconds or an aware
        datetime; 0: never) are what debug_token says of the token (see `set_token`)."""
        page = FakePage(
            page_id,
            name,
            access_token,
            app_id,
            app_secret,
            frozenset(denied_profile_fields),
            app_live=app_live,
            app_name=app_name,
            scopes=tuple(scopes),
            expires_at=_epoch(expires_at),
        )
        with self._lock:
            self._state.pages[access_token] = page
        return page

    def set_token(self, access_token, *, scopes=None, expires_at=None, valid=True):
        """Change what Graph knows of a page token: its scopes, its expiry (epoch seconds or
        an aware datetime; 0: never) and whether it is valid at all (revoked: `valid=False`)."""
        with self._lock:
            page = self._state.pages[access_token]
            if scopes is not None:
                page.scopes = tuple(scopes)
            if expires_at is not None:
                page.expires_at = _epoch(expires_at)
            page.valid = valid

    def expire_token(self, access_token):
        """The token's session has expired: calls with it fail with 190/463, and debug_token
        says `is_valid: false`."""
        self.set_token(access_token, expires_at=int(time.time()) - 60)

    def set_page_subscription(self, page_id, fields, *, app_id=None):
        """The app (default: the page's own) gets these fields of the page's events; an empty
        `fields` unsubscribes it."""
        app_id = app_id or self._app_of_page(page_id).app_id
        with self._lock:
            apps = self._state.page_subscriptions.setdefault(page_id, {})
            if fields:
                apps[app_id] = list(fields)
            else:
                apps.pop(app_id, None)
        if fields:
            self._subscribed_again(page_id)

    def page_subscriptions(self, page_id):
        """`{app_id: [fields]}` of the apps subscribed to the page's events."""
        with self._lock:
            return {a: list(f) for a, f in self._state.page_subscriptions.get(page_id, {}).items()}

    def app_subscriptions(self, app_id):
        """The app's webhooks set through `POST /{app-id}/subscriptions`: dicts with object,
        callback_url, fields and at (the verify token is not kept)."""
        with self._lock:
            return [dict(s) for s in self._state.app_subscriptions.get(app_id, {}).values()]

    def add_profile(self, psid, **fields):
        """A known person; `add_profile(psid, none=True)` is one with no profile (2018218)."""
        with self._lock:
            self._state.profiles[psid] = None if fields.get("none") else fields

    def customer_wrote(self, psid, when=None):
        """The customer's last message was at `when` (an aware datetime; default now): the
        messaging window counts from there. PSIDs never mentioned count as having just written."""
        with self._lock:
            self._state.last_wrote[psid] = when or datetime.now(UTC)

    def block(self, psid):
        """The person blocked the page: sends to them fail with 551/1545041."""
        with self._lock:
            self._state.blocked.add(psid)

    def unblock(self, psid):
        with self._lock:
            self._state.blocked.discard(psid)

    def add_role(self, psid):
        """The person has a role on the app, so an app in development mode may message them."""
        with self._lock:
            self._state.roles.add(psid)

    def sent_messages(self, psid=None):
        """Accepted sends, oldest first: dicts with psid, page_id, message, messaging_type, tag,
        message_id and at (an aware datetime)."""
        with self._lock:
            sent = [dict(s) for s in self._state.sent]
        return [s for s in sent if psid is None or s["psid"] == psid]

    def sent_sender_actions(self, psid=None):
        with self._lock:
            actions = [dict(a) for a in self._state.sender_actions]
        return [a for a in actions if psid is None or a["psid"] == psid]

    def uploaded_attachments(self):
        """Attachment uploads, oldest first: dicts with attachment_id, page_id, type, filename,
        content_type, content (bytes, for a file upload) or url, and at."""
        with self._lock:
            return [dict(u) for u in self._state.uploads.values()]

    def uploaded_attachment(self, attachment_id):
        """One upload by its attachment_id (a dict as in `uploaded_attachments`), or None."""
        with self._lock:
            upload = self._state.uploads.get(str(attachment_id))
            return dict(upload) if upload else None

    def _app_of_page(self, page_id):
        with self._lock:
            page = next((p for p in self._state.pages.values() if p.page_id == page_id), None)
        if page is None:
            raise KeyError(f"unknown page {page_id!r}: add_page() it first")
        return page

    def profile_pic_url(self, psid):
        return f"{self.origin}/pics/{psid}.png"

    def fail_next(self, error, *, times=1, path_contains="", http_status=None):
        """Answer the next `times` matching calls with a Graph error body from ERROR_BODIES."""
        if error not in ERROR_BODIES:
            raise KeyError(f"unknown Graph error {error!r}; known: {sorted(ERROR_BODIES)}")
        self._queue(_Failure(error, http_status or 400, path_contains=path_contains), times)

    def fail_next_with_status(self, http_status, *, times=1, path_contains=""):
        """Answer the next calls with a bare HTTP status and no Graph body (e.g. a 502)."""
        self._queue(_Failure(None, http_status, path_contains=path_contains), times)

    def stall_next(self, seconds, *, times=1, path_contains=""):
        """Hold the next calls for `seconds` before answering (to trip client timeouts)."""
        self._queue(_Failure(None, 0, delay=seconds, path_contains=path_contains), times)

    def answer_together(self, times, *, path_contains="", timeout=HOLD_TIMEOUT_SECONDS):
        """Hold the next `times` matching calls until all of them are in flight at once, then
        answer them as usual: proof that the client makes that many calls concurrently. If
        they are not all there within `timeout` seconds, the held calls answer a transient
        error (code 2) instead."""
        together = threading.Barrier(times, timeout=timeout)
        self._queue(_Failure(None, 0, path_contains=path_contains, together=together), times)

    def run_during_next(self, hook, *, times=1, path_contains=""):
        """Call `hook()` while answering the next matching calls (then answer them as usual): a
        test's look at the caller's state while it waits on Graph. What the hook raises is
        kept in `hook_errors`."""
        self._queue(_Failure(None, 0, path_contains=path_contains, hook=hook), times)

    def limit_send_rate(self, *, text=SEND_RATE_TEXT, media=SEND_RATE_MEDIA, burst_seconds=1.0):
        """Meta's Send API limits per page, in calls a second (None: no limit); audio and video
        count as `media`, everything else (sender actions too) as `text`. A call over the limit
        is answered Graph's rate-limit error (613) and kept in `rate_limited_sends()`.

        Meta does not say how it counts; here a page may send `burst_seconds` worth of calls at
        once and then `text` a second (a token bucket): a sender that keeps to the rate is never
        refused however its calls bunch up on the way, one that keeps above it soon is."""
        with self._lock:
            self._state.send_limits = {
                kind: (per_second, burst_seconds)
                for kind, per_second in (("text", text), ("media", media))
                if per_second
            }
            self._state.send_buckets = {}

    def rate_limited_sends(self, psid=None):
        """Send API calls refused for the page's rate: dicts with psid, page_id, kind and at."""
        with self._lock:
            refused = [dict(r) for r in self._state.rate_limited]
        return [r for r in refused if psid is None or r["psid"] == psid]

    def _take_send_turn(self, page, psid, kind):
        """Raises Graph's rate-limit error when the page's bucket of this kind is empty."""
        with self._lock:
            limit = self._state.send_limits.get(kind)
            if limit is None:
                return
            per_second, burst_seconds = limit
            capacity = max(1.0, per_second * burst_seconds)
            now = time.monotonic()
            tokens, then = self._state.send_buckets.get((page.page_id, kind), (capacity, now))
            tokens = min(capacity, tokens + (now - then) * per_second)
            allowed = tokens >= 1.0
            self._state.send_buckets[(page.page_id, kind)] = (tokens - allowed, now)
            if not allowed:
                self._state.rate_limited.append(
                    {"psid": psid, "page_id": page.page_id, "kind": kind, "at": _now()}
                )
        if not allowed:
            raise GraphRequestError("613_rate_limit")

    @property
    def most_calls_at_once(self):
        """The most calls the fake was answering at the same time since the last reset."""
        with self._lock:
            return self._state.most_in_flight

    def _queue(self, failure, times):
        with self._lock:
            self._state.failures.extend([failure] * times)

    @property
    def calls(self):
        with self._lock:
            return list(self._state.calls)

    def calls_to(self, method, path):
        return [c for c in self.calls if c.method == method and c.path == path]

    # --- request handling --------------------------------------------------------------------
    def _take_failure(self, path):
        with self._lock:
            for index, failure in enumerate(self._state.failures):
                if failure.path_contains in path:
                    return self._state.failures.pop(index)
        return None

    def handle(self, method, raw_path, body_bytes, content_type):
        """One request: `raw_path` is the path and query below the origin (`/v25.0/me?…`,
        `/pics/1.png`). Returns (http_status, body): bytes for a picture, else a JSON-able dict
        (see `response_headers`). Runs on the server's request threads, or the host's."""
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = _parse_body(body_bytes, content_type)
        if isinstance(body, dict):
            # Graph accepts parameters in the query or the form body alike.
            query = {**{k: v for k, v in body.items() if isinstance(v, str)}, **query}
        prefix = f"/{GRAPH_VERSION}"
        path = split.path[len(prefix) :] if split.path.startswith(prefix) else split.path
        with self._lock:
            self._state.calls.append(RecordedCall(method, path, query, body))
        with self._in_flight():
            return self._answer(method, split.path, path, query, body)

    @contextlib.contextmanager
    def _in_flight(self):
        with self._lock:
            state = self._state
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            yield
        finally:
            with self._lock:
                state.in_flight -= 1

    def _answer(self, method, full_path, path, query, body):
        if method == "GET" and full_path.startswith("/pics/"):
            return 200, _picture(full_path)

        if self.latency:
            time.sleep(self.latency)
        failure = self._take_failure(path)
        if failure and failure.together:
            try:
                failure.together.wait()
            except threading.BrokenBarrierError:
                return 503, ERROR_BODIES["2_service_unavailable"]
        elif failure and failure.hook:
            try:
                failure.hook()
            except Exception as exc:  # kept for the test to see; the call is answered
                self.hook_errors.append(exc)
        elif failure and failure.delay:
            time.sleep(failure.delay)
        elif failure:
            if failure.error is None:
                return failure.http_status, {"error_html": "Bad Gateway"}
            return failure.http_status, ERROR_BODIES[failure.error]
        try:
            caller = self._authenticate(query)
            return 200, self._route(method, path, query, body, caller)
        except GraphRequestError as exc:
            return exc.http_status, exc.body()

    def _authenticate(self, query):
        """The page (page token) or the app (app token `{app_id}|{app_secret}`) calling."""
        token = query.get("access_token", "")
        with self._lock:
            page = self._state.pages.get(token)
        caller = page or self._app_for_token(token)
        proof = query.get("appsecret_proof")
        if proof is not None:
            expected = hmac.new(caller.app_secret.encode(), token.encode(), hashlib.sha256)
            if not hmac.compare_digest(proof, expected.hexdigest()):
                raise GraphRequestError("100_invalid_appsecret_proof")
        if page is not None and page.expired:
            raise GraphRequestError("190_463_token_expired")
        if page is not None and not page.valid:
            raise GraphRequestError("190_460_password_changed")
        return caller

    def _app_for_token(self, token):
        app_id, bar, app_secret = token.partition("|")
        with self._lock:
            apps = [p for p in self._state.pages.values() if p.app_id == app_id]
        if not bar or not apps:
            raise GraphRequestError("190_invalid_token")
        for page in apps:
            if hmac.compare_digest(page.app_secret.encode(), app_secret.encode()):
                return FakeApp(app_id, page.app_secret, page.app_name)
        raise GraphRequestError("190_invalid_app_token")

    def _route(self, method, path, query, body, caller):
        params = {**query, **(body if isinstance(body, dict) else {})}
        if method == "GET" and path == "/debug_token":
            return self._debug_token(query)
        if isinstance(caller, FakeApp):
            return self._route_app(method, path, query, params, caller)
        page = caller
        if method == "GET" and path == "/me":
            return _select_fields({"id": page.page_id, "name": page.name}, query)
        if method == "GET" and path.count("/") == 1 and path[1:].isdigit():
            return self._profile(path[1:], query, page)
        node, _, edge = path.strip("/").partition("/")
        conversations = self._route_conversations(method, node, edge, page, query)
        if conversations is not None:
            return conversations
        if node in {"me", page.page_id} and edge == "subscribed_apps":
            return self._subscribed_apps(method, page, params)
        if method == "POST" and node in {"me", page.page_id}:
            if edge == "messages":
                return self._send(page, params)
            if edge == "message_attachments":
                return self._upload(page, params)
        return _unsupported(method, path)

    def _route_app(self, method, path, query, params, app):
        if method == "GET" and path == "/me":
            return _select_fields({"id": app.app_id, "name": app.name}, query)
        if path.strip("/") == f"{app.app_id}/subscriptions":
            if method == "POST":
                return self._subscribe_app(app, params)
            if method == "GET":
                return self._app_subscriptions_answer(app)
        return _unsupported(method, path)

    # --- Set-up: token checks and subscriptions --------------------------------------------------
    def _debug_token(self, query):
        input_token = query.get("input_token")
        if not input_token:
            raise GraphRequestError("100_input_token_required")
        with self._lock:
            page = self._state.pages.get(input_token)
        if page is None:
            error = {"code": 190, "message": "Invalid OAuth access token - Cannot parse it"}
            return {"data": {"error": error, "is_valid": False, "scopes": []}}
        data = {
            "app_id": page.app_id,
            "type": "PAGE",
            "application": page.app_name,
            "data_access_expires_at": int(time.time()) + 90 * 86400,
            "expires_at": page.expires_at,
            "is_valid": page.valid and not page.expired,
            "issued_at": page.issued_at,
            "profile_id": page.page_id,
            "scopes": list(page.scopes),
            "granular_scopes": [
                {"scope": scope, "target_ids": [page.page_id]}
                for scope in page.scopes
                if scope.startswith("pages_")
            ],
            "user_id": "10212345678901234",
        }
        if not data["is_valid"]:
            # Payload 98: an invalid token's answer says why, and has no granular scopes.
            reason = "190_463_token_expired" if page.expired else "190_460_password_changed"
            error = ERROR_BODIES[reason]["error"]
            del data["granular_scopes"], data["data_access_expires_at"]
            data["error"] = {
                "code": error["code"],
                "message": error["message"],
                "subcode": error["error_subcode"],
            }
        return {"data": data}

    def _subscribed_apps(self, method, page, params):
        if method == "GET":
            with self._lock:
                apps = dict(self._state.page_subscriptions.get(page.page_id, {}))
            return {"data": [self._app_entry(app_id, fields) for app_id, fields in apps.items()]}
        if "pages_manage_metadata" not in page.scopes:
            raise GraphRequestError("200_requires_pages_manage_metadata")
        if method == "POST":
            raw = params.get("subscribed_fields")
            if not raw:
                raise GraphRequestError("100_subscribed_fields_required")
            self.set_page_subscription(page.page_id, _fields(raw), app_id=page.app_id)
            return {"success": True}
        if method == "DELETE":
            self.set_page_subscription(page.page_id, [], app_id=page.app_id)
            return {"success": True}
        return _unsupported(method, f"/{page.page_id}/subscribed_apps")

    def _app_entry(self, app_id, fields):
        with self._lock:
            page = next((p for p in self._state.pages.values() if p.app_id == app_id), None)
        return {
            "category": "Business",
            "link": "https://desk.example.com/",
            "name": page.app_name if page else f"App {app_id}",
            "id": app_id,
            "subscribed_fields": list(fields),
        }

    def _subscribe_app(self, app, params):
        required = ("object", "callback_url", "verify_token", "fields")
        if not all(isinstance(params.get(name), str) and params[name] for name in required):
            raise GraphRequestError("100_subscription_params_required")
        fields = _fields(params["fields"])
        # Never a request to an address the caller chose: only our webhook may be called back.
        problem = self.callback_check(params["callback_url"]) or self._verify_callback(
            params["callback_url"], params["verify_token"]
        )
        if problem:
            raise GraphRequestError("2200_callback_verification_failed", detail=problem)
        subscription = {
            "object": params["object"],
            "callback_url": params["callback_url"],
            "fields": fields,
            "at": _now(),
        }
        with self._lock:
            self._state.app_subscriptions.setdefault(app.app_id, {})[params["object"]] = (
                subscription
            )
        return {"success": True}

    def _verify_callback(self, callback_url, verify_token):
        """Facebook's verify handshake: GET the callback URL, expect 200 and the challenge.
        Returns what went wrong, or "" when it succeeded."""
        challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
        try:
            response = requests.get(
                callback_url,
                params={
                    "hub.mode": "subscribe",
                    "hub.challenge": challenge,
                    "hub.verify_token": verify_token,
                },
                timeout=self.callback_timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return f"Could not connect to the callback URL ({type(exc).__name__})."
        if response.status_code != 200:
            return (
                "Callback verification failed with the following errors: "
                f"HTTP Status Code = {response.status_code}; HTTP Message = {response.reason}"
            )
        if response.text != challenge:
            received = response.text[:40]
            return f'Response does not match challenge, expected value="{challenge}", ' + (
                f'received="{received}"'
            )
        return ""

    def _app_subscriptions_answer(self, app):
        subscriptions = self.app_subscriptions(app.app_id)
        return {
            "data": [
                {
                    "object": s["object"],
                    "callback_url": s["callback_url"],
                    "active": True,
                    "fields": [{"name": f, "version": GRAPH_VERSION} for f in s["fields"]],
                }
                for s in subscriptions
            ]
        }

    # --- Send API ------------------------------------------------------------------------------
    def _send(self, page, params):
        recipient = _json_object(params.get("recipient"))
        psid = str((recipient or {}).get("id") or "")
        if not psid:
            raise GraphRequestError("100_recipient_required")
        message = _json_object(params.get("message"))
        self._take_send_turn(page, psid, _send_kind(message))
        action = params.get("sender_action")
        if action is not None:
            if params.get("message") is not None:
                raise GraphRequestError("100_sender_action_with_message")
            if action not in SENDER_ACTIONS:
                raise GraphRequestError("100_sender_action_invalid")
            self._check_recipient(page, psid)
            with self._lock:
                self._state.sender_actions.append(
                    {"psid": psid, "page_id": page.page_id, "action": action, "at": _now()}
                )
            return {"recipient_id": psid}

        messaging_type = params.get("messaging_type")
        if messaging_type not in MESSAGING_TYPES:
            raise GraphRequestError("100_messaging_type_invalid")
        tag = params.get("tag") or None
        if messaging_type == "MESSAGE_TAG" and not tag:
            raise GraphRequestError("100_tag_required")
        if messaging_type == "MESSAGE_TAG" and tag != "HUMAN_AGENT":
            raise GraphRequestError("100_tag_not_supported")
        if not message or ("text" not in message and "attachment" not in message):
            raise GraphRequestError("100_2018034_empty_message")
        if "text" in message and "attachment" in message:
            raise GraphRequestError("100_text_and_attachment")
        if "pages_messaging" not in page.scopes:
            raise GraphRequestError("230_requires_pages_messaging")
        answer = {}
        if "text" in message:
            text = message["text"]
            if not isinstance(text, str) or not text:
                raise GraphRequestError("100_2018034_empty_message")
            if len(text) > MAX_TEXT_LENGTH:
                raise GraphRequestError("100_text_too_long")
        else:
            answer = self._check_attachment(page, message["attachment"])
        self._check_recipient(page, psid)
        self._check_window(psid, messaging_type, tag)

        message_id = f"m_fake{next(self._ids)}_{secrets.token_urlsafe(16)}"
        with self._lock:
            self._state.sent.append(
                {
                    "psid": psid,
                    "page_id": page.page_id,
                    "message": message,
                    "messaging_type": messaging_type,
                    "tag": tag,
                    "message_id": message_id,
                    "at": _now(),
                }
            )
        return {"recipient_id": psid, "message_id": message_id, **answer}

    def _check_recipient(self, page, psid):
        with self._lock:
            has_role = psid in self._state.roles
            blocked = psid in self._state.blocked
        if not page.app_live and not has_role:
            raise GraphRequestError("200_2018028_app_not_live")
        if blocked:
            raise GraphRequestError("551_1545041_person_unavailable")

    def _check_window(self, psid, messaging_type, tag):
        with self._lock:
            wrote = self._state.last_wrote.get(psid)
        if wrote is None:
            return  # unknown to the fake: as if the customer had just written
        age = _now() - wrote
        if age < STANDARD_WINDOW:
            return
        if messaging_type == "MESSAGE_TAG" and tag == "HUMAN_AGENT" and age < HUMAN_AGENT_WINDOW:
            return
        raise GraphRequestError("10_2018278_outside_window")

    def _check_attachment(self, page, attachment):
        """Returns what Graph adds to the answer (`attachment_id` for a reusable URL)."""
        attachment = attachment if isinstance(attachment, dict) else {}
        kind = attachment.get("type")
        if kind not in ATTACHMENT_TYPES:
            raise GraphRequestError("100_attachment_type_invalid")
        payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
        if kind == "template":
            return {}
        if "attachment_id" in payload:
            with self._lock:
                upload = self._state.uploads.get(str(payload["attachment_id"]))
            if upload is None or upload["page_id"] != page.page_id:
                raise GraphRequestError("100_attachment_id_invalid")
            return {}
        if payload.get("url"):
            if payload.get("is_reusable"):
                upload = self._keep_upload(page, kind, url=str(payload["url"]))
                return {"attachment_id": upload["attachment_id"]}
            return {}
        raise GraphRequestError("100_attachment_payload_missing")

    def _upload(self, page, params):
        message = _json_object(params.get("message")) or {}
        attachment = message.get("attachment") if isinstance(message, dict) else None
        attachment = attachment if isinstance(attachment, dict) else {}
        kind = attachment.get("type")
        if kind not in UPLOAD_TYPES:
            raise GraphRequestError("100_attachment_type_invalid")
        payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
        filedata = params.get("filedata")
        if isinstance(filedata, UploadedFile):
            if len(filedata.content) > MAX_ATTACHMENT_BYTES:
                raise GraphRequestError("100_2018109_attachment_too_large")
            upload = self._keep_upload(
                page,
                kind,
                filename=filedata.filename,
                content_type=filedata.content_type,
                content=filedata.content,
            )
        elif payload.get("url"):
            upload = self._keep_upload(page, kind, url=str(payload["url"]))
        else:
            raise GraphRequestError("100_attachment_payload_missing")
        return {"attachment_id": upload["attachment_id"]}

    def _keep_upload(self, page, kind, **what):
        attachment_id = str(1601472827000000 + next(self._ids))
        upload = {
            "attachment_id": attachment_id,
            "page_id": page.page_id,
            "type": kind,
            "filename": None,
            "content_type": None,
            "content": None,
            "url": None,
            **what,
            "at": _now(),
        }
        with self._lock:
            self._state.uploads[attachment_id] = upload
        return upload

    def _profile(self, psid, query, page):
        fields = {f for f in query.get("fields", "first_name,last_name,profile_pic").split(",")}
        if fields & page.denied_profile_fields:
            raise GraphRequestError("100_2018247_insufficient_profile_permission")
        with self._lock:
            known = psid in self._state.profiles
            profile = self._state.profiles.get(psid)
        if known and profile is None:
            raise GraphRequestError("100_2018218_no_profile")
        profile = {**made_up_profile(psid), **(profile or {})}
        profile["profile_pic"] = self.profile_pic_url(psid)
        return {"id": psid, **{k: v for k, v in profile.items() if k in fields}}


def _now():
    return datetime.now(UTC)


def _send_kind(message):
    """Which of Meta's Send API limits a call counts against."""
    attachment = (message or {}).get("attachment")
    kind = attachment.get("type") if isinstance(attachment, dict) else None
    return "media" if kind in MEDIA_ATTACHMENT_TYPES else "text"


def _epoch(when):
    """Epoch seconds from an aware datetime or a number (0 stays 0: never)."""
    return int(when.timestamp()) if isinstance(when, datetime) else int(when or 0)


def _fields(raw):
    """A comma list of page webhook fields; Graph refuses a name it does not know."""
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if not fields or not set(fields) <= PAGE_WEBHOOK_FIELDS:
        raise GraphRequestError("100_subscribed_fields_invalid")
    return fields


def _json_object(value):
    """A Send API parameter: an object in a JSON body, or a JSON string in a form (the docs'
    curl samples even use single quotes, which Graph accepts)."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    return parsed if isinstance(parsed, dict) else None


def _select_fields(obj, query):
    fields = [f for f in query.get("fields", "").split(",") if f]
    return {k: v for k, v in obj.items() if not fields or k in fields or k == "id"}


def _unsupported(method, path):
    raise GraphRequestError("100_33_unsupported_request")


def _picture(path):
    """A small solid-colour PNG, its colour taken from the PSID (a stand-in for the CDN)."""
    digest = hashlib.sha256(path.encode()).digest()
    return _png(64, 64, digest[:3])


def _png(width, height, rgb):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _parse_body(body_bytes, content_type):
    if not body_bytes:
        return None
    if content_type.startswith("application/json"):
        try:
            return json.loads(body_bytes)
        except ValueError:
            return body_bytes.decode(errors="replace")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body_bytes.decode(), keep_blank_values=True))
    if content_type.startswith("multipart/form-data"):
        return _parse_multipart(body_bytes, content_type)
    return body_bytes.decode(errors="replace")


def _parse_multipart(body_bytes, content_type):
    """A multipart/form-data body as a dict: text fields as str, file parts as UploadedFile."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body_bytes)
    if not message.is_multipart():
        return body_bytes.decode(errors="replace")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields[name] = UploadedFile(filename, part.get_content_type(), content)
        else:
            fields[name] = content.decode(part.get_content_charset() or "utf-8", errors="replace")
    return fields


def response_headers(status, payload):
    """The headers Graph sends with one of `FakeGraphAPI.handle()`'s answers."""
    is_image = isinstance(payload, bytes)
    headers = {
        "Content-Type": "image/png" if is_image else "application/json; charset=UTF-8",
        "facebook-api-version": GRAPH_VERSION,
    }
    if not is_image and status == 400 and payload.get("error", {}).get("code") == 190:
        headers["WWW-Authenticate"] = (
            'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."'
        )
    return headers


def response_bytes(payload):
    """The body of one of `FakeGraphAPI.handle()`'s answers, as sent."""
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def _make_handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm the body waited for the
        # client's delayed ACK, 40 ms on every call (bench/: a profile fetch took 45 ms, not 3).
        disable_nagle_algorithm = True

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake.handle(
                self.command, self.path, body, self.headers.get("Content-Type", "")
            )
            data = response_bytes(payload)
            self.send_response(status)
            for name, value in response_headers(status, payload).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            # The client may have given up (a timeout test): nothing to tell it then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format, *args):
            pass  # request lines carry access tokens; the call record is the log

    return Handler
