"""A fake of Facebook's Graph API: a real HTTP server on loopback for tests and the sandbox.

It speaks the part of the protocol we use (see shared/messenger/PROTOCOL.md, section 11): it
checks `access_token` and `appsecret_proof` like Graph does, answers with Graph's error bodies,
records every call, and can be told to fail or stall the next calls.

    fake = FakeGraphAPI().start()
    fake.add_page(page_id="1", name="Acme", access_token="tok", app_id="9", app_secret="s")
    settings.GRAPH_API_URL = fake.url
    fake.fail_next("190_463_token_expired")
"""

import contextlib
import hashlib
import hmac
import json
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
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


@dataclass
class FakePage:
    page_id: str
    name: str
    access_token: str
    app_id: str
    app_secret: str
    # Profile fields this page's app is not approved for (asking for any fails the whole call).
    denied_profile_fields: frozenset = frozenset()


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
        self, *, page_id, name, access_token, app_id, app_secret, denied_profile_fields=()
    ):
        page = FakePage(
            page_id, name, access_token, app_id, app_secret, frozenset(denied_profile_fields)
        )
        with self._lock:
            self._state.pages[access_token] = page
        return page

    def add_profile(self, psid, **fields):
        """A known person; `add_profile(psid, none=True)` is one with no profile (2018218)."""
        with self._lock:
            self._state.profiles[psid] = None if fields.get("none") else fields

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
            return 200, self._route(method, path, query, page)
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

    def _route(self, method, path, query, page):
        if method == "GET" and path == "/me":
            return _select_fields({"id": page.page_id, "name": page.name}, query)
        if method == "GET" and path.count("/") == 1 and path[1:].isdigit():
            return self._profile(path[1:], query, page)
        return _unsupported(method, path)

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
    return body_bytes.decode(errors="replace")


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
