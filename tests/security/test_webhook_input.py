"""Bad input at the webhook: every forged, malformed or oversized post gets its status, stores
nothing, logs one line without the secret, and never causes a 500 (a fixed list, then
Hypothesis)."""

import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_desktop.models import Message
from campaigns import services as builder
from messenger import services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE
from tests.messenger.conftest import load_payload

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
    ("invalid JSON, signed", b'{"object":', signed(b'{"object":'), 400),
    ("not JSON at all, signed", b"not json", signed(b"not json"), 400),
    ("not UTF-8, signed", "\u00e4".encode("latin-1"), signed("\u00e4".encode("latin-1")), 400),
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
    path = builder.webhook_path(connected_page)
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
    response = post(client, builder.webhook_path(connected_page), body, signed(body))
    assert response.status_code == 200
    delivery = services.process_delivery(WebhookDelivery.objects.get().pk)
    assert delivery.status == "processed"
    message = Message.objects.get()
    assert (message.text, message.mid, message.contact.external_id) == ("ab", "m_nul", "651")


def test_a_signed_body_nested_within_jsons_limits_is_stored_and_processed_as_ignored(
    client, connected_page
):
    body = b'{"object":"page","entry":' + b"[" * 500 + b"]" * 500 + b"}"
    response = post(client, builder.webhook_path(connected_page), body, signed(body))
    assert response.status_code == 200
    assert services.process_delivery(WebhookDelivery.objects.get().pk).status == "ignored"


# --- Hypothesis ------------------------------------------------------------------------------
bodies = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
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
    path = builder.webhook_path(connected_page)
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


def test_signed_random_bodies_are_stored_only_when_they_are_json(client, connected_page, counts):
    path = builder.webhook_path(connected_page)
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
    counts(
        "signed random bodies",
        tried=sum(statuses.values()),
        stored_as_json=stored,
        refused_400=statuses[400],
        server_errors=sum(n for status, n in statuses.items() if status >= 500),
    )
