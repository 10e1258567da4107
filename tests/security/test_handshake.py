"""The verify handshake and the entry point's own trust: the challenge comes back as plain text
only (never HTML), a wrong token or mode gets 403, and an entry point that can't check
signatures refuses every POST (fails closed). The recorded handshake cases are in
tests/campaigns/test_webhook_verify.py."""

import hashlib
import hmac

from cryptography.fernet import Fernet

from messenger import setup as page_setup
from messenger.models import FacebookPage, WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE
from tests.messenger.conftest import load_payload

BODY = encode_like_facebook(load_payload("01"))
CHALLENGES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "<!doctype html><html><body onload=alert(1)>",
    '"><svg/onload=alert(1)>',
    "1158201444",
]


def handshake(client, page, **query):
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", **query}
    params = {key: value for key, value in params.items() if value is not None}
    return client.get(page_setup.webhook_path(page), params)


def signed(body, secret):
    return {"X-Hub-Signature-256": signature_headers(body, secret)["X-Hub-Signature-256"]}


def post(client, page, body, headers):
    return client.post(
        page_setup.webhook_path(page), data=body, content_type="application/json", headers=headers
    )


def test_the_challenge_comes_back_as_plain_text_never_html(client, connected_page, counts):
    answers = []
    for challenge in CHALLENGES:
        response = handshake(
            client,
            connected_page,
            **{"hub.verify_token": connected_page.verify_token, "hub.challenge": challenge},
        )
        assert response.status_code == 200
        assert response.content.decode() == challenge
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response["Content-Security-Policy"]
        answers.append((challenge, response))
    counts(
        "handshake challenges",
        echoed=sum(r.content.decode() == challenge for challenge, r in answers),
        as_text_plain_with_nosniff=sum(
            r["Content-Type"].startswith("text/plain") and r["X-Content-Type-Options"] == "nosniff"
            for _, r in answers
        ),
        as_html=sum("html" in r["Content-Type"] for _, r in answers),
    )


def test_a_wrong_verify_token_or_mode_gets_403_and_verifies_nothing(
    client, connected_page, entry_point, counts
):
    token = connected_page.verify_token
    other = page_setup.facebook_page_entry_point_create(campaign=entry_point.campaign, name="Other")
    page_setup.facebook_page_generate_webhook(page=other.facebook_page)
    attempts = [
        {"hub.verify_token": "wrong-token"},
        {"hub.verify_token": ""},
        {"hub.verify_token": None},
        {"hub.verify_token": token.upper() if token.upper() != token else token.lower()},
        {"hub.verify_token": token[:-1]},
        {"hub.verify_token": token + " "},
        {"hub.verify_token": other.facebook_page.verify_token},  # another page's token
        {"hub.verify_token": token, "hub.mode": "unsubscribe"},
        {"hub.verify_token": token, "hub.mode": "SUBSCRIBE"},
        {"hub.verify_token": token, "hub.mode": ""},
        {"hub.verify_token": token, "hub.mode": None},
    ]
    statuses = [handshake(client, connected_page, **query).status_code for query in attempts]
    assert statuses == [403] * len(attempts)
    verified = FacebookPage.objects.filter(
        pk__in=[connected_page.pk, other.facebook_page.pk], webhook_verified_at__isnull=False
    ).count()
    assert verified == 0
    counts(
        "handshakes with a wrong token or mode",
        tried=len(statuses),
        refused_403=statuses.count(403),
        verified=verified,
    )


def test_an_entry_point_without_an_app_secret_refuses_every_post(client, entry_point, counts):
    """Fails closed: with no secret there is nothing to check a signature against."""
    page = entry_point.facebook_page
    page_setup.facebook_page_generate_webhook(page=page)
    attempts = [
        (BODY, {}),
        (BODY, signed(BODY, PAGE["app_secret"])),
        (BODY, signed(BODY, "")),  # an HMAC keyed with the empty secret
        (BODY, {"X-Hub-Signature-256": "sha256=" + "0" * 64}),
        (BODY, {"X-Hub-Signature-256": "sha256=" + hmac.new(b"", b"", hashlib.sha256).hexdigest()}),
        (b"", signed(b"", "")),
    ]
    statuses = [post(client, page, body, headers).status_code for body, headers in attempts]
    assert statuses == [403] * len(attempts)
    stored = WebhookDelivery.objects.count()
    assert stored == 0
    counts(
        "entry point without an app secret",
        tried=len(statuses),
        refused=statuses.count(403),
        stored=stored,
    )


def test_an_entry_point_whose_secret_cannot_be_decrypted_refuses_every_post(
    client, connected_page, settings, counts
):
    """Our fault, not Facebook's: 503, so Facebook retries once the secret is entered again."""
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    attempts = [signed(BODY, PAGE["app_secret"]), signed(BODY, ""), {}]
    statuses = [post(client, connected_page, BODY, headers).status_code for headers in attempts]
    assert statuses == [503] * len(attempts)
    stored = WebhookDelivery.objects.count()
    assert stored == 0
    counts(
        "entry point whose secret can't be decrypted",
        tried=len(statuses),
        refused_503=statuses.count(503),
        stored=stored,
    )
