"""The sandbox served by the app (`/sandbox/`): its fake Graph API calls back only this app's
own Webhook URL, answers no other site's page, and the customer simulator is for admins.

The probe: `POST /sandbox/graph/v25.0/<app-id>/subscriptions` with the demo app's token (it is in
the source) and `callback_url=http://127.0.0.1:8399/x` made the server GET that URL and echo its
status and first bytes, from a view any web page could drive (CSRF-exempt, no login)."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from messenger import health
from messenger import setup as page_setup
from messenger.sandbox import simulator
from messenger.sandbox.demo import DEMO_PAGE
from tests.messenger.test_fake_graph_setup import Callback

pytestmark = pytest.mark.django_db(transaction=True)
APP_ID = DEMO_PAGE["app_id"]
APP_TOKEN = f"{APP_ID}|{DEMO_PAGE['app_secret']}"
SUBSCRIPTIONS = f"/sandbox/graph/v25.0/{APP_ID}/subscriptions"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def listener():
    """An address inside the developer's network that must never be fetched."""
    server = Callback()
    yield server
    server.server.shutdown()
    server.server.server_close()


def subscribe(client, callback_url, verify_token="any", **headers):  # noqa: S107
    """What the app's Graph client sends (a form body), or a page of another site could."""
    form = {
        "access_token": APP_TOKEN,
        "object": "page",
        "callback_url": callback_url,
        "verify_token": verify_token,
        "fields": "messages",
    }
    return client.post(SUBSCRIPTIONS, urlencode(form), content_type=FORM, headers=headers)


def test_the_fake_graph_api_calls_back_no_address_but_this_apps_webhook(
    client, sandbox, demo_page, live_server, listener, counts
):
    elsewhere = listener.url.removesuffix("/messenger/webhook/k/")
    own_origin = live_server.url
    refused_urls = [
        f"{elsewhere}/x",  # the probe
        listener.url,  # our webhook's path, on another address
        f"{own_origin}/admin/",  # this app, another path
        f"{own_origin}@{elsewhere.removeprefix('http://')}/messenger/webhook/k/",  # user info
        f"{elsewhere}\\@{own_origin.removeprefix('http://')}/messenger/webhook/k/",  # backslash
        f"{own_origin}/messenger/webhook/k/?next={elsewhere}",  # a query
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
    ]
    answers = [subscribe(client, url) for url in refused_urls]
    assert [a.status_code for a in answers] == [400] * len(refused_urls)
    assert [a.json()["error"]["code"] for a in answers] == [2200] * len(refused_urls), [
        a.json() for a in answers
    ]
    assert all("this app's own Webhook URL" in a.json()["error"]["message"] for a in answers)
    assert listener.requests == []  # nothing was fetched …
    assert all(b"Verification failed" not in a.content for a in answers)  # … nor echoed
    assert sandbox.app_subscriptions(APP_ID) == []

    # This app's own Webhook URL is called back, as Facebook would: the handshake decides.
    own = own_origin + page_setup.webhook_path(demo_page)
    wrong_token = subscribe(client, own, verify_token="not-the-verify-token")
    assert (
        wrong_token.status_code == 400 and "HTTP Status Code = 403" in wrong_token.content.decode()
    )
    right_token = subscribe(client, own, verify_token=demo_page.verify_token)
    assert right_token.json() == {"success": True}
    assert [s["callback_url"] for s in sandbox.app_subscriptions(APP_ID)] == [own]
    counts(
        "sandbox callback URLs",
        tried=len(refused_urls) + 2,
        refused=sum(a.status_code == 400 for a in answers),
        fetched_elsewhere=len(listener.requests),
        own_webhook_subscribed=len(sandbox.app_subscriptions(APP_ID)),
    )


def test_the_fake_graph_api_still_answers_only_valid_tokens(client, sandbox):
    form = urlencode({"access_token": f"{APP_ID}|not-the-secret", "callback_url": "x"})
    answer = client.post(SUBSCRIPTIONS, form, content_type=FORM)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 190
    assert client.get("/sandbox/graph/v25.0/me").json()["error"]["code"] == 190


@pytest.mark.parametrize(
    "browser_headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},  # another port or subdomain of the developer's host
        {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
        {"Origin": "null"},  # a sandboxed frame, a data: page
    ],
)
def test_a_page_of_another_site_cannot_drive_the_fake(client, sandbox, browser_headers):
    me = f"/sandbox/graph/v25.0/me?access_token={DEMO_PAGE['access_token']}"
    calls = len(sandbox.calls)
    assert client.get(me, headers=browser_headers).status_code == 403
    assert subscribe(client, "http://127.0.0.1:9/x", **browser_headers).status_code == 403
    assert len(sandbox.calls) == calls  # refused before the fake saw them
    # The app's Graph client (no browser headers) and the app's own pages are answered.
    assert client.get(me).json()["id"] == DEMO_PAGE["page_id"]
    assert client.get(me, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_connect_automatically_works_through_the_apps_own_sandbox(
    admin_client, demo_page, sandbox, live_server, settings
):
    """The builder's button, opened as localhost while the sandbox is reached as 127.0.0.1:
    both are this app (ALLOWED_HOSTS, same port)."""
    port = live_server.url.rsplit(":", 1)[1]
    settings.GRAPH_API_URL = f"http://127.0.0.1:{port}/sandbox/graph/v25.0"
    simulator.reset()
    simulator.sandbox_graph().add_page(**DEMO_PAGE)
    admin_client.defaults["HTTP_HOST"] = f"localhost:{port}"
    response = admin_client.post(
        reverse("messenger_builder:health", args=[demo_page.entry_point_id])
    )
    assert response.status_code == 200
    demo_page.refresh_from_db()
    assert demo_page.webhook_verified_at is not None  # our webhook answered the handshake
    (subscription,) = simulator.sandbox_graph().app_subscriptions(APP_ID)
    assert subscription["callback_url"] == (
        f"http://localhost:{port}{page_setup.webhook_path(demo_page)}"
    )
    assert health.WEBHOOK_FIELDS[0] in subscription["fields"]


@pytest.mark.parametrize("name", ["simulator", "chat", "thread"])
def test_the_simulator_needs_a_logged_in_admin(client, agent, sandbox, demo_page, name):
    args = [] if name == "simulator" else [demo_page.entry_point_id, "6512345678901234"]
    url = reverse(f"sandbox:{name}", args=args)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(agent)
    assert client.get(url).status_code == 403
    assert client.post(url, {"first_name": "Eve", "text": "hi"}).status_code == 403
