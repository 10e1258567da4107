"""Posting webhook events the way Facebook does: the same bytes, the same signatures.

Used by the tests and by the sandbox's customer simulator. Facebook sends compact JSON with
non-ASCII escaped as \\uXXXX and `/` escaped as `\\/`, and signs those exact bytes.
"""

import hashlib
import hmac
import itertools
import json
import time

import requests

_mid_counter = itertools.count(1)


def encode_like_facebook(payload) -> bytes:
    # "/" only ever occurs inside JSON strings, so escaping every one is exact.
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


def signature_headers(body: bytes, app_secret: str) -> dict:
    key = app_secret.encode()
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "Facebook-API-Version": "v25.0",
        "User-Agent": "facebookexternalua",
    }


def post_signed(url, payload, app_secret, *, timeout=10):
    body = payload if isinstance(payload, bytes) else encode_like_facebook(payload)
    return requests.post(
        url, data=body, headers=signature_headers(body, app_secret), timeout=timeout
    )


def now_ms():
    return int(time.time() * 1000)


def new_mid():
    return f"m_sandbox{now_ms()}x{next(_mid_counter)}"


def page_body(page_id, *items, standby=False):
    """A body with one entry for `page_id` holding the given messaging items."""
    key = "standby" if standby else "messaging"
    return {"object": "page", "entry": [{"id": page_id, "time": now_ms(), key: list(items)}]}


def text_item(page_id, psid, text, *, mid=None, timestamp=None):
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": timestamp or now_ms(),
        "message": {"mid": mid or new_mid(), "text": text},
    }
