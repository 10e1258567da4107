"""POST on the webhook URL: a valid body is stored before the 200. (Refused posts: tests/security/
test_webhook_input.py.)"""

import json

import pytest

from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE
from tests.messenger.conftest import load_payload

SIGNED_EXAMPLE = load_payload("99")


def post(client, page, body, headers=None, **extra):
    headers = signature_headers(body, PAGE["app_secret"]) if headers is None else headers
    return client.post(
        page_setup.webhook_path(page),
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
            page_setup.webhook_path(connected_page),
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


def test_stored_random_bodies_are_processed_without_error(client, connected_page, deliver):
    for body in [
        '{"object":"page","entry":[{"messaging":[null,1,{"message":7}]}]}',
        '{"object":"page","entry":[{"id":{"x":1},"messaging":[{"sender":[]}]}]}',
        '{"object":"page","entry":"x"}',
        "[[[[[]]]]]",
        '{"object":null}',
    ]:
        assert deliver(body).status == "ignored", body


def test_posts_after_the_first_need_only_the_insert(
    client, connected_page, django_assert_num_queries
):
    body = encode_like_facebook({"object": "page", "entry": []})
    assert post(client, connected_page, body).status_code == 200
    with django_assert_num_queries(1):  # the page and its secret come from this process's memory
        assert post(client, connected_page, body).status_code == 200
    assert WebhookDelivery.objects.count() == 2


def test_a_secret_changed_by_another_process_is_used_at_once(client, connected_page):
    from campaigns.secrets import encrypt
    from messenger.models import FacebookPage

    body = encode_like_facebook({"object": "page", "entry": []})
    assert post(client, connected_page, body).status_code == 200  # read and kept in memory
    # Another web process saves a new App Secret (a queryset update: no signal reaches us).
    new_secret = "f" * 32
    FacebookPage.objects.filter(pk=connected_page.pk).update(
        app_secret_ciphertext=encrypt(new_secret)
    )
    assert (
        post(client, connected_page, body, signature_headers(body, new_secret)).status_code == 200
    )
    assert post(client, connected_page, body).status_code == 403  # the old secret, refused
    assert WebhookDelivery.objects.count() == 2


def test_a_page_deleted_by_another_process_leaves_nothing_behind(
    client, connected_page, monkeypatch
):
    from django.db import connection

    from messenger import services, webhook_pages

    body = encode_like_facebook({"object": "page", "entry": []})
    assert post(client, connected_page, body).status_code == 200
    WebhookDelivery.objects.all().delete()
    with connection.cursor() as cursor:  # another process deletes the page: no signal here
        cursor.execute("DELETE FROM messenger_facebookpage WHERE id = %s", [connected_page.pk])
    # Within the seconds this process keeps the page, a post is stored; the worker drops it.
    assert post(client, connected_page, body).status_code == 200
    (orphan,) = WebhookDelivery.objects.values_list("pk", flat=True)
    assert services.process_deliveries([orphan]) == []
    assert not WebhookDelivery.objects.exists()
    monkeypatch.setattr(webhook_pages, "TTL_SECONDS", 0)  # then the page is looked up again
    assert post(client, connected_page, body).status_code == 404
    assert not WebhookDelivery.objects.exists()
