"""The verify handshake on the generated webhook URL (tests/fixtures/messenger/00)."""

import pytest

from messenger import setup as page_setup
from tests.fixtures import messenger_payload

CASES = messenger_payload("00")["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['expect_status']}-{sorted(c['query'])}")
def test_the_handshake_follows_the_recorded_cases(client, connected_page, case):
    query = {
        key: connected_page.verify_token if value == "<configured verify token>" else value
        for key, value in case["query"].items()
    }
    response = client.get(page_setup.webhook_path(connected_page), query)
    assert response.status_code == case["expect_status"]
    connected_page.refresh_from_db()
    if case["expect_status"] == 200:
        assert response.content.decode() == case["expect_body"]
        assert response["Content-Type"].startswith(case["expect_content_type"])
        assert connected_page.webhook_verified_at is not None
    else:
        assert connected_page.webhook_verified_at is None


def test_an_unknown_webhook_key_is_404(client, db):
    response = client.get(
        "/messenger/webhook/not-a-key/",
        {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
    )
    assert response.status_code == 404


def test_a_rotated_webhook_refuses_the_old_url_and_token(client, connected_page):
    old_path, old_token = page_setup.webhook_path(connected_page), connected_page.verify_token
    page_setup.facebook_page_generate_webhook(page=connected_page, rotate=True)
    query = {"hub.mode": "subscribe", "hub.challenge": "42"}
    assert client.get(old_path, {**query, "hub.verify_token": old_token}).status_code == 404
    new_path = page_setup.webhook_path(connected_page)
    assert client.get(new_path, {**query, "hub.verify_token": old_token}).status_code == 403
    ok = client.get(new_path, {**query, "hub.verify_token": connected_page.verify_token})
    assert ok.status_code == 200


def test_get_webhook_refuses_to_rotate_without_being_asked(connected_page):
    key = connected_page.webhook_key
    with pytest.raises(page_setup.WebhookAlreadyExists):
        page_setup.facebook_page_generate_webhook(page=connected_page)
    connected_page.refresh_from_db()
    assert connected_page.webhook_key == key


def test_webhook_keys_and_tokens_are_long_and_distinct(entry_point):
    page = entry_point.facebook_page
    seen = set()
    for _ in range(20):
        page_setup.facebook_page_generate_webhook(page=page, rotate=True)
        assert len(page.webhook_key) >= 40 and len(page.verify_token) >= 30
        seen.update([page.webhook_key, page.verify_token])
    assert len(seen) == 40
