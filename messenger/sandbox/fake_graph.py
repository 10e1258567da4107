"""A fake of Facebook's Graph API: a real HTTP server on loopback for tests and the sandbox.

It speaks the part of the protocol we use (see shared/messenger/PROTOCOL.md, section 11): it
checks `access_token` and `appsecret_proof` like Graph does, answers with Graph's error bodies,
records every call, and can be told to fail or stall the next calls.

    fake = FakeGraphAPI().start()
    fake.add_page(page_id="1", name="Acme", access_token="tok", app_id="9", app_secret="s")
    settings.GRAPH_API_URL = fake.url
    fake.fail_next("190_463_token_expired")

The Send API part simulates Messenger's rules: the 24-hour window (and 7 days with the
HUMAN_AGENT tag) counted from `customer_wrote(psid)`, blocked people, apps in development mode
that may only message people with a role, and Graph's parameter checks. Accepted sends are kept
for inspection: `fake.sent_messages(psid)`.
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
    }
)

MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"}
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}
UPLOAD_TYPES = {"image", "video", "audio", "file"}
ATTACHMENT_TYPES = UPLOAD_TYPES | {"template"}
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_TEXT_LENGTH = 1999  # Graph: text "< 2000 characters"
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


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


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body."""

    filename: str
    content_type: str
    content: bytes


EXTENDED_PROFILE_FIELDS = frozenset({"locale", "timezone", "gender"})
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


class GraphRequestError(Exception):
    def __init__(self, error_key, http_status=400):
        self.error_key = error_key
        self.http_status = http_status


class FakeGraphAPI:
    def __init__(self, host="127.0.0.1", port=0):
        self._state = _State()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = None
        self._ids = itertools.count(1)  # never reset: ids stay unique across tests

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self):
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
    ):
        page = FakePage(
            page_id,
            name,
            access_token,
            app_id,
            app_secret,
            frozenset(denied_profile_fields),
            app_live=app_live,
        )
        with self._lock:
            self._state.pages[access_token] = page
        return page

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
        """Returns (http_status, json_body). Runs on the server's request threads."""
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
        if method == "GET" and split.path.startswith("/pics/"):
            return 200, _picture(split.path)

        failure = self._take_failure(path)
        if failure and failure.delay:
            time.sleep(failure.delay)
        elif failure:
            if failure.error is None:
                return failure.http_status, {"error_html": "Bad Gateway"}
            return failure.http_status, ERROR_BODIES[failure.error]
        try:
            page = self._authenticate(query)
            return 200, self._route(method, path, query, body, page)
        except GraphRequestError as exc:
            return exc.http_status, ERROR_BODIES[exc.error_key]

    def _authenticate(self, query):
        with self._lock:
            page = self._state.pages.get(query.get("access_token", ""))
        if page is None:
            raise GraphRequestError("190_invalid_token")
        proof = query.get("appsecret_proof")
        if proof is not None:
            expected = hmac.new(
                page.app_secret.encode(), page.access_token.encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(proof, expected):
                raise GraphRequestError("100_invalid_appsecret_proof")
        return page

    def _route(self, method, path, query, body, page):
        if method == "GET" and path == "/me":
            return _select_fields({"id": page.page_id, "name": page.name}, query)
        if method == "GET" and path.count("/") == 1 and path[1:].isdigit():
            return self._profile(path[1:], query, page)
        node, _, edge = path.strip("/").partition("/")
        if method == "POST" and node in {"me", page.page_id}:
            params = {**query, **(body if isinstance(body, dict) else {})}
            if edge == "messages":
                return self._send(page, params)
            if edge == "message_attachments":
                return self._upload(page, params)
        return _unsupported(method, path)

    # --- Send API ------------------------------------------------------------------------------
    def _send(self, page, params):
        recipient = _json_object(params.get("recipient"))
        psid = str((recipient or {}).get("id") or "")
        if not psid:
            raise GraphRequestError("100_recipient_required")
        message = _json_object(params.get("message"))
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


def _make_handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake.handle(
                self.command, self.path, body, self.headers.get("Content-Type", "")
            )
            is_image = isinstance(payload, bytes)
            data = payload if is_image else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", "image/png" if is_image else "application/json; charset=UTF-8"
            )
            self.send_header("Content-Length", str(len(data)))
            self.send_header("facebook-api-version", GRAPH_VERSION)
            if not is_image and status == 400 and payload.get("error", {}).get("code") == 190:
                self.send_header(
                    "WWW-Authenticate",
                    'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."',
                )
            self.end_headers()
            # The client may have given up (a timeout test): nothing to tell it then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format, *args):
            pass  # request lines carry access tokens; the call record is the log

    return Handler
