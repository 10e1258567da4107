"""Bad input at the webhook: every forged, malformed or oversized post gets its status, stores
nothing, logs one line without the secret, and never causes a 500 (a fixed list, then
Hypothesis). Signed bodies whose strings hold code points no database or page can take (lone
surrogates, noncharacters, NUL) are stored, processed and shown on every page."""

import http.client
import json
import sys
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_desktop.models import Contact, Message
from messenger import events as ev
from messenger import services
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE
from tests.messenger.conftest import load_payload
from tests.processes import Process, free_port, port_open, wait_until

SECRET = PAGE["app_secret"]
SIGNED_EXAMPLE = load_payload("99")
BODY = encode_like_facebook(load_payload("01"))
OTHER_BODY = encode_like_facebook(load_payload("04"))
TEN_MIB = b'{"object":"page","entry":[],"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}'
JUST_OVER_ONE_MIB = b'{"object":"page","entry":[],"pad":"' + b"x" * (1024 * 1024) + b'"}'
NESTED_ARRAYS = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECTS = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


def signed(body, secret=SECRET):
    return {"X-Hub-Signature-256": signature_headers(body, secret)["X-Hub-Signature-256"]}


def sha1_only(body):
    return {"X-Hub-Signature": signature_headers(body, SECRET)["X-Hub-Signature"]}


# (what, body, headers, expected status); the path is the page's webhook unless said otherwise.
CASES = [
    ("unsigned", BODY, {}, 403),
    ("wrong signature", BODY, {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403),
    ("signature over a different body", BODY, signed(OTHER_BODY), 403),
    ("signed with another app's secret", BODY, signed(BODY, "f" * 32), 403),
    ("SHA-1 header only", BODY, sha1_only(BODY), 403),
    ("SHA-1 value in the SHA-256 header", BODY, {"X-Hub-Signature-256": "sha1=" + "a" * 40}, 403),
    (
        "signature of the body re-serialized unescaped",
        SIGNED_EXAMPLE["raw_body"].encode(),
        {
            "X-Hub-Signature-256": SIGNED_EXAMPLE[
                "note_wrong_signature_if_body_is_reserialized_unescaped"
            ]
        },
        403,
    ),
    ("signature not hex", BODY, {"X-Hub-Signature-256": "sha256=" + "z" * 64}, 403),
    (
        "signature cut short",
        BODY,
        {"X-Hub-Signature-256": signed(BODY)["X-Hub-Signature-256"][:-1]},
        403,
    ),
    (
        "signature without its algorithm",
        BODY,
        {"X-Hub-Signature-256": signed(BODY)["X-Hub-Signature-256"][7:]},
        403,
    ),
    ("empty body, unsigned", b"", {}, 403),
    ("empty body, signed", b"", signed(b""), 400),
    ("10 MiB body, signed", TEN_MIB, signed(TEN_MIB), 413),
    ("1 MiB + 40 bytes, signed", JUST_OVER_ONE_MIB, signed(JUST_OVER_ONE_MIB), 413),
    ("10 MiB body, unsigned", TEN_MIB, {}, 413),
    (
        "Transfer-Encoding: chunked, signed",
        BODY,
        {**signed(BODY), "Transfer-Encoding": "chunked"},
        411,
    ),
    ("invalid JSON, signed", b'{"object":', signed(b'{"object":'), 400),
    ("not JSON at all, signed", b"not json", signed(b"not json"), 400),
    ("not UTF-8, signed", "\u00e4".encode("latin-1"), signed("\u00e4".encode("latin-1")), 400),
    # Raw bytes that are not UTF-8 (JSON's escapes are tested further down).
    *(
        (f"{what}, signed", body, signed(body), 400)
        for what, body in [
            ("overlong UTF-8 for '/'", b'{"object":"page","x":"\xc0\xaf"}'),
            ("UTF-8 bytes of a lone surrogate", b'{"object":"page","x":"\xed\xa0\x80"}'),
            ("byte 0xFF", b'{"object":"page","x":"\xff"}'),
            ("UTF-8 sequence cut short", b'{"object":"page","x":"\xe2\x82"}'),
            ("raw NUL byte in a string", b'{"object":"page","x":"\x00"}'),
        ]
    ),
    ("deeply nested arrays, signed", NESTED_ARRAYS, signed(NESTED_ARRAYS), 400),
    ("deeply nested objects, signed", NESTED_OBJECTS, signed(NESTED_OBJECTS), 400),
]


def is_json(body):
    try:
        json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError
        return False
    return True


def post(client, path, body, headers, method="post"):
    return getattr(client, method)(
        path, data=body, content_type="application/json", headers=headers
    )


def test_every_bad_post_gets_its_status_and_stores_nothing(client, connected_page, caplog, counts):
    path = page_setup.webhook_path(connected_page)
    results = []
    for what, body, headers, expected in CASES:
        results.append((what, post(client, path, body, headers).status_code, expected))
    # An unknown key, and methods Facebook never uses, on a validly signed body.
    results.append(
        (
            "unknown webhook key",
            post(client, "/messenger/webhook/no-such-key/", BODY, signed(BODY)).status_code,
            404,
        )
    )
    for method in ("put", "patch", "delete"):
        status = post(client, path, BODY, signed(BODY), method=method).status_code
        results.append((f"{method.upper()} instead of POST", status, 405))

    wrong = [(what, got, expected) for what, got, expected in results if got != expected]
    assert wrong == []
    assert WebhookDelivery.objects.count() == 0
    refusals = [r for r in caplog.records if "webhook post refused" in r.getMessage()]
    assert len(refusals) == len(CASES)  # one line each (404s and 405s are Django's own)
    assert SECRET not in caplog.text
    statuses = Counter(got for _, got, _ in results)
    counts(
        "bad input at the webhook",
        tried=len(results),
        refused=sum(n for status, n in statuses.items() if 400 <= status < 500),
        stored=WebhookDelivery.objects.count(),
        server_errors=sum(n for status, n in statuses.items() if status >= 500),
        detail=", ".join(f"{n}x {status}" for status, n in sorted(statuses.items())),
    )


def test_nul_characters_in_a_signed_body_are_dropped_not_fatal(client, connected_page):
    """U+0000 is valid JSON but PostgreSQL can't store it in text or jsonb."""
    body = (
        b'{"object":"page","entry":[{"id":"%s","time":1,"messaging":[{"sender":{"id":"651\\u0000"},'
        b'"recipient":{"id":"%s"},"timestamp":1767225600000,"message":{"mid":"m_nul\\u0000",'
        b'"text":"a\\u0000b","attachments":[{"type":"image","payload":{"url":"x\\u0000"}}],'
        b'"quick_reply":{"payload":"\\u0000"}}}]}]}'
    ) % (PAGE["page_id"].encode(), PAGE["page_id"].encode())
    response = post(client, page_setup.webhook_path(connected_page), body, signed(body))
    assert response.status_code == 200
    delivery = services.process_delivery(WebhookDelivery.objects.get().pk)
    assert delivery.status == "processed"
    message = Message.objects.get()
    assert (message.text, message.mid, message.contact.external_id) == ("ab", "m_nul", "651")


# JSON escapes that decode to code points no database or page can take, and what is kept.
UNSAFE_ESCAPES = {
    "lone high surrogate": (r"\ud800", "\ufffd"),
    "lone low surrogate": (r"\udc00", "\ufffd"),
    "surrogates in the wrong order": (r"\udc00\ud800", "\ufffd\ufffd"),
    "noncharacter U+FFFE": (r"\ufffe", "\ufffd"),
    "noncharacter U+FFFF": (r"\uffff", "\ufffd"),
    "noncharacter U+FDD0": (r"\ufdd0", "\ufffd"),
    "NUL": (r"\u0000", ""),
    "a valid surrogate pair": (r"\ud83d\ude00", "\U0001f600"),  # kept: it is an emoji
}
PSID = "6510000000000001"


def body_with_escapes():
    """One message per escape (`"text":"lone <escape> surrogate"`, as the probe sent it), and
    the escapes in a customer id, a mid, a quick reply, an attachment and a postback too.
    Returns the raw body and the texts to expect."""
    page_id = PAGE["page_id"]
    items, expected = [], []
    for n, (what, (_, kept)) in enumerate(UNSAFE_ESCAPES.items()):
        items.append(
            {
                "sender": {"id": PSID},
                "recipient": {"id": page_id},
                "timestamp": 1767225600000 + n,
                "message": {"mid": f"m_escape_{n}", "text": f"lone @{n}@ surrogate"},
            }
        )
        expected.append((what, f"lone {kept} surrogate"))
    items.append(
        {
            "sender": {"id": PSID[:-1] + "@0@"},
            "recipient": {"id": page_id},
            "timestamp": 1767225700000,
            "message": {
                "mid": "m_escape_@1@",
                "quick_reply": {"payload": "@2@"},
                "attachments": [
                    {"type": "file", "payload": {"url": "https://x.example/f", "title": "f@3@"}}
                ],
            },
        }
    )
    items.append(
        {
            "sender": {"id": PSID},
            "recipient": {"id": page_id},
            "timestamp": 1767225800000,
            "postback": {"mid": "m_postback_@4@", "title": "Talk @5@", "payload": "@6@"},
        }
    )
    raw = encode_like_facebook(
        {"object": "page", "entry": [{"id": page_id, "time": 1, "messaging": items}]}
    )
    escapes = [escape for escape, _ in UNSAFE_ESCAPES.values()]
    for n, escape in enumerate(escapes):
        raw = raw.replace(f"@{n}@".encode(), escape.encode())
    return raw, expected


@pytest.mark.parametrize("worker", ["batch", "single"])
def test_unsafe_code_points_in_a_signed_body_are_stored_processed_and_shown(
    client, admin_user, connected_page, worker, counts
):
    """The probe's body (`"text":"lone \ud800 surrogate"`) was stored, failed 5 times, and its
    delivery page answered 500. Both ways a worker applies a delivery replace such code points
    with U+FFFD (NUL is dropped), and every page that shows them renders."""
    body, expected = body_with_escapes()
    assert rb'"text":"lone \ud800 surrogate"' in body
    assert (
        post(client, page_setup.webhook_path(connected_page), body, signed(body)).status_code == 200
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.body == body.decode()  # stored byte for byte

    if worker == "batch":
        assert services.process_deliveries([delivery.pk]) == []
    else:
        services.process_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("processed", "")
    contact = Contact.objects.get(external_id=PSID)
    texts = dict(contact.messages.filter(kind="text").values_list("mid", "text"))
    assert [texts[f"m_escape_{n}"] for n in range(len(expected))] == [t for _, t in expected]
    odd = Message.objects.get(mid="m_escape_\ufffd")  # the second escape (a low surrogate)
    assert odd.contact.external_id == PSID[:-1] + "\ufffd"  # the first one (a high surrogate)
    assert odd.details["quick_reply_payload"] == "\ufffd\ufffd"
    assert odd.attachments[0]["title"] == "f\ufffd"
    postback = Message.objects.get(kind="postback")
    assert (postback.mid, postback.text) == ("m_postback_\ufffd", "Talk \ufffd")

    client.force_login(admin_user)
    entry_point = connected_page.entry_point_id
    pages = {
        "delivery log": reverse("messenger_builder:deliveries", args=[entry_point]),
        "delivery detail": reverse("messenger_builder:delivery", args=[entry_point, delivery.pk]),
        "desktop conversation": reverse("agent_desktop:contact", args=[contact.pk]),
        "desktop queue": reverse("agent_desktop:home"),
        "contacts API": "/api/contacts/",
        "messages API": f"/api/contacts/{contact.pk}/messages/",
    }
    statuses = {name: client.get(url).status_code for name, url in pages.items()}
    assert statuses == dict.fromkeys(pages, 200)
    detail = client.get(pages["delivery detail"]).content.decode()
    assert r"lone \ud800 surrogate" in detail  # the body as it came, escaped where it must be
    assert r"lone \udc00\ud800 surrogate" in detail and "lone \U0001f600 surrogate" in detail
    conversation = client.get(pages["desktop conversation"]).content.decode()
    assert "lone \ufffd surrogate" in conversation
    api_texts = [m["text"] for m in client.get(pages["messages API"]).json()["results"]]
    assert "lone \ufffd surrogate" in api_texts
    counts(
        f"unsafe code points ({worker})",
        tried=len(UNSAFE_ESCAPES),
        stored=WebhookDelivery.objects.count(),
        replaced=sum("\ufffd" in text for _, text in expected),
        server_errors=sum(status >= 500 for status in statuses.values()),
    )


def test_a_failure_whose_error_holds_a_lone_surrogate_is_kept_readable(
    admin_client, connected_page
):
    delivery = WebhookDelivery.objects.create(
        facebook_page=connected_page, body="{}", attempts=services.MAX_PROCESSING_ATTEMPTS
    )
    again = services.record_processing_failure(delivery.pk, ValueError("bad \ud800 value"))
    delivery.refresh_from_db()
    assert again is False
    assert (delivery.status, delivery.last_error) == ("failed", "ValueError: bad \ufffd value")
    entry_point = connected_page.entry_point_id
    for url in (
        reverse("messenger_builder:deliveries", args=[entry_point]),
        reverse("messenger_builder:delivery", args=[entry_point, delivery.pk]),
        # The entry point's page shows it in its health card, which the page loads at once.
        reverse("messenger_builder:health", args=[entry_point]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "ValueError: bad \ufffd value" in response.content.decode(), url


def test_a_signed_body_nested_within_jsons_limits_is_stored_and_processed_as_ignored(
    client, connected_page
):
    body = b'{"object":"page","entry":' + b"[" * 500 + b"]" * 500 + b"}"
    response = post(client, page_setup.webhook_path(connected_page), body, signed(body))
    assert response.status_code == 200
    assert services.process_delivery(WebhookDelivery.objects.get().pk).status == "ignored"


# --- Hypothesis ------------------------------------------------------------------------------
# Any character, and often one of those no database or page takes (Hypothesis's text leaves
# surrogates out unless asked).
awkward_characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(["\x00", "\ufffe", "\uffff", "\ufdd0", "\U0010ffff", "\U0001f600"]),
)


def awkward_text(**size):
    return st.text(alphabet=awkward_characters, **size)


bodies = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | awkward_text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(awkward_text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    ).map(encode_like_facebook),
)


def forged_headers(body):
    """Every way of getting the signature wrong: none, junk, the right HMAC of another body or
    with another key, SHA-1 only, a right-looking header with wrong digits."""
    return st.one_of(
        st.just({}),
        st.dictionaries(
            st.sampled_from(["X-Hub-Signature-256", "X-Hub-Signature"]),
            st.text(max_size=80),
            max_size=2,
        ),
        st.from_regex(r"\Asha256=[0-9a-fA-F]{64}\Z").map(lambda v: {"X-Hub-Signature-256": v}),
        bodies.filter(lambda other: other != body).map(signed),
        st.text(min_size=1, max_size=40)
        .filter(lambda s: s != SECRET)
        .map(lambda s: signed(body, s)),
        st.just(sha1_only(body)),
    )


HYPOTHESIS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_forged_posts_are_all_refused(client, connected_page, counts):
    path = page_setup.webhook_path(connected_page)
    statuses = Counter()

    @HYPOTHESIS
    @given(data=st.data())
    def post_forged(data):
        body = data.draw(bodies)
        headers = data.draw(forged_headers(body))
        status = post(client, path, body, headers).status_code
        statuses[status] += 1
        assert status == 403, (body[:60], headers)

    post_forged()
    stored = WebhookDelivery.objects.count()
    assert stored == 0
    assert statuses[403] >= 100  # Hypothesis really posted (most of its 200 examples)
    counts("forged", tried=sum(statuses.values()), rejected=statuses[403], stored=stored)


def test_signed_random_bodies_are_stored_only_when_they_are_json_and_all_are_shown(
    client, admin_user, connected_page, counts
):
    path = page_setup.webhook_path(connected_page)
    statuses = Counter()

    @HYPOTHESIS
    @given(body=bodies)
    def post_signed(body):
        status = post(client, path, body, signed(body)).status_code
        statuses[status] += 1
        assert status == (200 if is_json(body) else 400)

    post_signed()
    stored = WebhookDelivery.objects.count()
    assert stored == statuses[200]
    assert set(statuses) <= {200, 400}
    assert statuses[200] and statuses[400]  # both kinds of body were posted
    # What was stored is processed (a worker's batch) and shown: nothing fails, nothing 500s.
    services.process_deliveries(list(WebhookDelivery.objects.values_list("pk", flat=True)))
    outcomes = Counter(WebhookDelivery.objects.values_list("status", flat=True))
    assert set(outcomes) <= {"processed", "ignored"}
    client.force_login(admin_user)
    entry_point = connected_page.entry_point_id
    shown = Counter(
        client.get(reverse("messenger_builder:delivery", args=[entry_point, pk])).status_code
        for pk in WebhookDelivery.objects.values_list("pk", flat=True)
    )
    assert (
        client.get(reverse("messenger_builder:deliveries", args=[entry_point])).status_code == 200
    )
    assert set(shown) <= {200}
    counts(
        "signed random bodies",
        tried=sum(statuses.values()),
        stored_as_json=stored,
        refused_400=statuses[400],
        processed_or_ignored=outcomes["processed"] + outcomes["ignored"],
        failed=outcomes["failed"],
        pages_shown=shown[200],
        server_errors=sum(n for status, n in (statuses + shown).items() if status >= 500),
    )


def messenger_body(psid, mid, text, payload, title):
    item = {
        "sender": {"id": psid},
        "recipient": {"id": PAGE["page_id"]},
        "timestamp": 1767225600000,
        "message": {"mid": mid, "text": text, "quick_reply": {"payload": payload}},
    }
    postback = {**item, "postback": {"title": title, "payload": payload}}
    del postback["message"]
    body = {"object": "page", "entry": [{"id": PAGE["page_id"], "messaging": [item, postback]}]}
    return encode_like_facebook(body)


def test_signed_messenger_bodies_with_any_code_points_are_processed_and_shown(
    client, admin_user, connected_page, counts
):
    path = page_setup.webhook_path(connected_page)
    client.force_login(admin_user)
    entry_point = connected_page.entry_point_id
    tried, pages = Counter(), Counter()

    @settings(HYPOTHESIS, max_examples=100)
    @given(
        psid=awkward_text(min_size=1, max_size=12),
        mid=awkward_text(min_size=1, max_size=12),
        text=awkward_text(max_size=30),
        payload=awkward_text(max_size=12),
        title=awkward_text(max_size=12),
        single=st.booleans(),
    )
    def post_and_show(psid, mid, text, payload, title, single):
        body = messenger_body(psid, mid, text, payload, title)
        assert post(client, path, body, signed(body)).status_code == 200
        delivery = WebhookDelivery.objects.latest("pk")
        if single:  # a retry's path, or a worker's batch
            services.process_delivery(delivery.pk)
        else:
            assert services.process_deliveries([delivery.pk]) == []
        delivery.refresh_from_db()
        tried[delivery.status] += 1
        assert delivery.status in {"processed", "ignored"}, delivery.last_error
        urls = [reverse("messenger_builder:delivery", args=[entry_point, delivery.pk])]
        contact = Contact.objects.filter(external_id=ev.storable(psid)).first()
        if contact is not None:
            urls.append(reverse("agent_desktop:contact", args=[contact.pk]))
            urls.append(f"/api/contacts/{contact.pk}/messages/")
        for url in urls:
            status = client.get(url).status_code
            pages[status] += 1
            assert status == 200, url

    post_and_show()
    counts(
        "signed Messenger bodies with any code points",
        tried=sum(tried.values()),
        processed=tried["processed"],
        ignored=tried["ignored"],
        failed=tried["failed"],
        pages_shown=pages[200],
        server_errors=sum(n for status, n in pages.items() if status >= 500),
    )


# --- A real server: chunked posts ------------------------------------------------------------
def raw_post(base_url, path, body, headers, *, chunked):
    """POST with http.client: chunked (no Content-Length) when asked, as Django's test client
    can't (it always sets Content-Length)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        if chunked:
            halves = [body[: len(body) // 2], body[len(body) // 2 :]]
            connection.request("POST", path, body=iter(halves), headers=headers)
        else:
            connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture(params=["runserver", "gunicorn"])
def web_server(request, start_web, process_env):
    """The app in a real server of its own: Django's development server, or gunicorn."""
    if request.param == "runserver":
        return start_web().url
    port = free_port()
    process = Process(
        f"{request.node.name}-gunicorn",
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}"],
        {**process_env, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
    )
    request.addfinalizer(process.stop)
    process.wait_for_output("Booting worker")
    wait_until(lambda: port_open(port), timeout=30, message="gunicorn")
    return f"http://127.0.0.1:{port}"


@pytest.mark.django_db(transaction=True)
def test_a_chunked_post_is_refused_with_411_not_read_as_empty(connected_page, web_server):
    """Without Content-Length the server hands Django an empty body: a signed chunked post was
    refused as if its signature were wrong (403)."""
    path = page_setup.webhook_path(connected_page)
    headers = {"Content-Type": "application/json", **signed(BODY)}

    status, text = raw_post(web_server, path, BODY, headers, chunked=True)
    assert (status, text) == (411, "Refused: no Content-Length (chunked posts are not read).")
    empty_status, _ = raw_post(web_server, path, b"", {**signed(b"")}, chunked=True)
    assert empty_status == 411
    assert WebhookDelivery.objects.count() == 0

    # The same post with its length is read and stored.
    assert raw_post(web_server, path, BODY, headers, chunked=False)[0] == 200
    assert WebhookDelivery.objects.get().body.encode() == BODY
