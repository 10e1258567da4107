"""The fake Graph API's set-up part (debug_token, subscriptions, the verify handshake), and the
Graph client's calls for it, over real HTTP."""

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from messenger import graph
from messenger.sandbox.fake_graph import (
    GRAPH_VERSION,
    FakeGraphAPI,
    response_bytes,
    response_headers,
)
from tests.conftest import PAGE
from tests.fixtures import messenger_payload

APP_ID = PAGE["app_id"]
PAGE_ID = PAGE["page_id"]
FIELDS = ["messages", "message_deliveries"]


def page_client(token=PAGE["access_token"]):
    return graph.GraphClient(token, PAGE["app_secret"])


def app_client(secret=PAGE["app_secret"], app_id=APP_ID):
    return graph.GraphClient.for_app(app_id, secret)


# --- Serving without a socket ------------------------------------------------------------------
def test_it_binds_no_socket_until_started_and_answers_handle_directly():
    fake = FakeGraphAPI(public_origin="http://localhost:8000/sandbox/graph/")
    fake.add_page(**PAGE)
    assert fake.url == f"http://localhost:8000/sandbox/graph/{GRAPH_VERSION}"
    assert fake.profile_pic_url("42") == "http://localhost:8000/sandbox/graph/pics/42.png"

    status, body = fake.handle(
        "GET", f"/{GRAPH_VERSION}/me?access_token={PAGE['access_token']}", b"", ""
    )
    assert (status, body) == (200, {"id": PAGE_ID, "name": PAGE["name"]})
    status, picture = fake.handle("GET", "/pics/42.png", b"", "")
    assert status == 200 and picture.startswith(b"\x89PNG")
    assert response_headers(status, picture)["Content-Type"] == "image/png"
    assert response_bytes(picture) is picture

    status, body = fake.handle("GET", f"/{GRAPH_VERSION}/me?access_token=nope", b"", "")
    assert status == 400 and body["error"]["code"] == 190
    assert "invalid_token" in response_headers(status, body)["WWW-Authenticate"]
    fake.stop()  # never started: nothing to stop


def test_without_a_public_origin_the_address_comes_from_start():
    fake = FakeGraphAPI()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    fake.start()
    try:
        assert fake.url.startswith("http://127.0.0.1:")
    finally:
        fake.stop()


# --- debug_token -------------------------------------------------------------------------------
def test_debug_token_describes_a_page_token_like_payload_97(fake_graph):
    data = app_client().debug_token(PAGE["access_token"])
    assert set(data) == set(messenger_payload("97")["data"])
    assert data["is_valid"] is True and data["type"] == "PAGE"
    assert (data["app_id"], data["profile_id"], data["expires_at"]) == (APP_ID, PAGE_ID, 0)
    assert {"pages_messaging", "pages_manage_metadata", "pages_show_list"} <= set(data["scopes"])
    assert {"scope": "pages_messaging", "target_ids": [PAGE_ID]} in data["granular_scopes"]
    (call,) = fake_graph.calls_to("GET", "/debug_token")
    assert call.access_token == f"{APP_ID}|{PAGE['app_secret']}"
    assert call.query["appsecret_proof"] == graph.appsecret_proof(
        call.access_token, PAGE["app_secret"]
    )


def test_debug_token_reports_the_scopes_and_expiry_it_was_given(fake_graph):
    expiry = datetime.now(UTC) + timedelta(days=3)
    fake_graph.set_token(PAGE["access_token"], scopes=["pages_show_list"], expires_at=expiry)
    data = app_client().debug_token(PAGE["access_token"])
    assert data["scopes"] == ["pages_show_list"]
    assert data["expires_at"] == int(expiry.timestamp())


def test_an_expired_token_is_invalid_like_payload_98_and_refused_with_463(fake_graph):
    fake_graph.expire_token(PAGE["access_token"])
    data = app_client().debug_token(PAGE["access_token"])
    assert data["is_valid"] is False
    assert set(data) == set(messenger_payload("98")["data"])
    assert (data["error"]["code"], data["error"]["subcode"]) == (190, 463)
    with pytest.raises(graph.TokenInvalid) as caught:
        page_client().get_page_identity()
    assert caught.value.subcode == 463


def test_a_revoked_token_is_invalid_too(fake_graph):
    fake_graph.set_token(PAGE["access_token"], valid=False)
    assert app_client().debug_token(PAGE["access_token"])["is_valid"] is False
    with pytest.raises(graph.TokenInvalid):
        page_client().get_page_identity()


def test_debug_token_of_an_unknown_token_says_invalid(fake_graph):
    data = app_client().debug_token("EAAGnotAKnownTokenAtAll000000")
    assert data["is_valid"] is False and data["error"]["code"] == 190


@pytest.mark.parametrize(
    ("app_id", "secret"), [(APP_ID, "f" * 32), ("999999999", PAGE["app_secret"])]
)
def test_an_app_token_with_a_wrong_secret_or_app_id_is_refused_with_190(fake_graph, app_id, secret):
    with pytest.raises(graph.TokenInvalid) as caught:
        app_client(secret=secret, app_id=app_id).debug_token(PAGE["access_token"])
    assert caught.value.code == 190


# --- The page's subscribed apps ----------------------------------------------------------------
def test_a_page_starts_unsubscribed_and_subscribing_lists_the_app_like_payload_96(fake_graph):
    assert page_client().get_subscribed_apps(PAGE_ID) == []
    assert page_client().subscribe_page(PAGE_ID, FIELDS) is True
    (app,) = page_client().get_subscribed_apps(PAGE_ID)
    assert set(app) == set(messenger_payload("96")["data"][0])
    assert (app["id"], app["subscribed_fields"]) == (APP_ID, FIELDS)
    assert fake_graph.page_subscriptions(PAGE_ID) == {APP_ID: FIELDS}
    (call,) = fake_graph.calls_to("POST", f"/{PAGE_ID}/subscribed_apps")
    assert call.query["subscribed_fields"] == "messages,message_deliveries"


def test_delete_unsubscribes_the_page(fake_graph):
    fake_graph.set_page_subscription(PAGE_ID, FIELDS)
    assert page_client().request("DELETE", f"/{PAGE_ID}/subscribed_apps") == {"success": True}
    assert fake_graph.page_subscriptions(PAGE_ID) == {}


def test_subscribing_needs_pages_manage_metadata(fake_graph):
    fake_graph.set_token(PAGE["access_token"], scopes=["pages_messaging", "pages_show_list"])
    with pytest.raises(graph.PermissionMissing) as caught:
        page_client().subscribe_page(PAGE_ID, FIELDS)
    assert caught.value.code == 200
    assert fake_graph.page_subscriptions(PAGE_ID) == {}


def test_subscribing_an_unknown_field_is_refused(fake_graph):
    with pytest.raises(graph.InvalidRequest):
        page_client().subscribe_page(PAGE_ID, ["messages", "no_such_field"])


def test_sending_needs_pages_messaging(fake_graph):
    fake_graph.set_token(PAGE["access_token"], scopes=["pages_show_list"])
    with pytest.raises(graph.PermissionMissing) as caught:
        page_client().send_message("6512345678901234", {"text": "Hi"}, "RESPONSE")
    assert caught.value.code == 230


# --- The app's webhook and the verify handshake ------------------------------------------------
class Callback:
    """A stand-in webhook: records each handshake and answers as told."""

    def __init__(self):
        self.requests = []
        self.answer = "echo"  # "echo", "wrong", or an HTTP status
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = dict(parse_qsl(urlsplit(self.path).query))
                callback.requests.append(query)
                status, text = 200, query.get("hub.challenge", "")
                if callback.answer == "wrong":
                    text = "EVENT_RECEIVED"
                elif callback.answer != "echo":
                    status, text = callback.answer, "Verification failed"
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messenger/webhook/k/"


@pytest.fixture
def callback():
    server = Callback()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_setting_the_app_webhook_makes_the_verify_handshake_first(fake_graph, callback):
    ok = app_client().subscribe_app_webhook(APP_ID, callback.url, "the-verify-token", FIELDS)
    assert ok is True
    (handshake,) = callback.requests
    assert handshake["hub.mode"] == "subscribe"
    assert handshake["hub.verify_token"] == "the-verify-token"
    assert handshake["hub.challenge"].isdigit()
    (subscription,) = fake_graph.app_subscriptions(APP_ID)
    assert subscription["object"] == "page"
    assert (subscription["callback_url"], subscription["fields"]) == (callback.url, FIELDS)
    answer = app_client().request("GET", f"/{APP_ID}/subscriptions")
    assert answer["data"][0]["callback_url"] == callback.url
    assert [f["name"] for f in answer["data"][0]["fields"]] == FIELDS


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(403, "HTTP Status Code = 403"), ("wrong", "does not match challenge")],
)
def test_a_failed_handshake_is_error_2200_and_sets_nothing(fake_graph, callback, answer, reason):
    callback.answer = answer
    with pytest.raises(graph.CallbackVerificationFailed) as caught:
        app_client().subscribe_app_webhook(APP_ID, callback.url, "the-verify-token", FIELDS)
    assert caught.value.code == 2200
    assert "callback verification failed" in caught.value.message
    assert reason in caught.value.message
    assert fake_graph.app_subscriptions(APP_ID) == []


def test_an_unreachable_callback_fails_the_handshake_and_sets_nothing(fake_graph):
    with pytest.raises(graph.CallbackVerificationFailed, match="Could not connect") as caught:
        app_client().subscribe_app_webhook(
            APP_ID, "http://127.0.0.1:9/messenger/webhook/k/", "t", FIELDS
        )
    assert caught.value.code == 2200
    assert fake_graph.app_subscriptions(APP_ID) == []


def test_only_an_app_token_sets_the_app_webhook(fake_graph, callback):
    with pytest.raises(graph.InvalidRequest):
        page_client().subscribe_app_webhook(APP_ID, callback.url, "t", FIELDS)
    assert callback.requests == []
