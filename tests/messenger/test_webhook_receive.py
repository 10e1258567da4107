"""POST on the webhook URL: contract statuses; a valid body is stored before the 200."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns import services as builder
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE
from tests.messenger.conftest import load_payload

SIGNED_EXAMPLE = load_payload("99")


def post(client, page, body, headers=None, **extra):
    headers = signature_headers(body, PAGE["app_secret"]) if headers is None else headers
    return client.post(
        builder.webhook_path(page),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
        **extra,
    )


def test_the_recorded_signed_example_is_accepted_and_stored_byte_for_byte(
    client, connected_page, django_capture_on_commit_callbacks
):
    assert SIGNED_EXAMPLE["app_secret"] == PAGE["app_secret"]
    body = SIGNED_EXAMPLE["raw_body"].encode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            builder.webhook_path(connected_page),
            data=body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": SIGNED_EXAMPLE["headers"]["X-Hub-Signature-256"]},
        )
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.body.encode() == body
    assert delivery.status == "received" and delivery.facebook_page == connected_page
    assert len(callbacks) == 1  # processing is enqueued once the row is committed


def test_we_sign_exactly_like_facebook():
    body = encode_like_facebook(json.loads(SIGNED_EXAMPLE["raw_body"]))
    assert body == SIGNED_EXAMPLE["raw_body"].encode()
    headers = signature_headers(body, SIGNED_EXAMPLE["app_secret"])
    assert headers["X-Hub-Signature-256"] == SIGNED_EXAMPLE["headers"]["X-Hub-Signature-256"]
    assert headers["X-Hub-Signature"] == SIGNED_EXAMPLE["headers"]["X-Hub-Signature"]


BODY = encode_like_facebook(load_payload("01"))
OTHER_BODY = encode_like_facebook(load_payload("04"))


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("unsigned", {}),
        ("wrong signature", {"X-Hub-Signature-256": "sha256=" + "0" * 64}),
        ("signed over another body", signature_headers(OTHER_BODY, PAGE["app_secret"])),
        ("signed with another secret", signature_headers(BODY, "f" * 32)),
        (
            "sha1 only",
            {"X-Hub-Signature": signature_headers(BODY, PAGE["app_secret"])["X-Hub-Signature"]},
        ),
        (
            "re-serialized body's signature",
            {
                "X-Hub-Signature-256": SIGNED_EXAMPLE[
                    "note_wrong_signature_if_body_is_reserialized_unescaped"
                ]
            },
        ),
        ("not hex", {"X-Hub-Signature-256": "sha256=zz"}),
    ],
)
def test_unsigned_or_wrongly_signed_posts_get_403_and_store_nothing(
    client, connected_page, case, headers, caplog
):
    response = post(client, connected_page, BODY, headers)
    assert response.status_code == 403, case
    assert WebhookDelivery.objects.count() == 0
    assert "webhook post refused" in caplog.text
    assert PAGE["app_secret"] not in caplog.text


def test_a_signed_body_that_is_not_json_gets_400(client, connected_page):
    for body in [b"not json", b'{"object":', "\u00e4".encode("latin-1"), b"[" * 100_000]:
        assert post(client, connected_page, body).status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_a_body_over_one_mib_gets_413(client, connected_page):
    body = b'{"object":"page","entry":[],"pad":"' + b"x" * (1024 * 1024) + b'"}'
    assert post(client, connected_page, body).status_code == 413
    assert WebhookDelivery.objects.count() == 0


def test_an_unknown_key_gets_404(client, connected_page):
    response = client.post(
        "/messenger/webhook/unknown-key/",
        data=BODY,
        content_type="application/json",
        headers={
            "X-Hub-Signature-256": signature_headers(BODY, PAGE["app_secret"])[
                "X-Hub-Signature-256"
            ]
        },
    )
    assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 0


def test_an_entry_point_without_an_app_secret_refuses_every_post(client, entry_point):
    page = entry_point.facebook_page
    builder.facebook_page_generate_webhook(page=page)
    assert post(client, page, BODY).status_code == 403
    empty = signature_headers(BODY, "")
    assert post(client, page, BODY, empty).status_code == 403
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize(
    "body", [{"object": "instagram", "entry": []}, [], "just a string", {"object": "page"}]
)
def test_any_other_signed_json_is_stored_and_acknowledged(client, connected_page, body):
    response = post(client, connected_page, encode_like_facebook(body))
    assert response.status_code == 200
    assert WebhookDelivery.objects.count() == 1


def test_no_processing_happens_inside_the_request(client, connected_page, fake_graph):
    fake_graph.reset()
    response = post(client, connected_page, BODY)
    assert response.status_code == 200
    from agent_desktop.models import Contact

    assert Contact.objects.count() == 0
    assert fake_graph.calls == []


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode), signed=st.booleans())
def test_random_posts_never_get_a_500(client, connected_page, body, signed):
    headers = signature_headers(body, PAGE["app_secret"]) if signed else {}
    response = post(client, connected_page, body, headers)
    assert response.status_code in ({200, 400} if signed else {403})


def test_stored_random_bodies_are_processed_without_error(client, connected_page, deliver):
    for body in [
        '{"object":"page","entry":[{"messaging":[null,1,{"message":7}]}]}',
        '{"object":"page","entry":[{"id":{"x":1},"messaging":[{"sender":[]}]}]}',
        '{"object":"page","entry":"x"}',
        "[[[[[]]]]]",
        '{"object":null}',
    ]:
        assert deliver(body).status == "ignored", body
