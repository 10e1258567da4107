"""Realistic Messenger webhook bodies for the benchmark, signed the way Facebook signs them.

A body holds 1-3 messaging items of one customer (Facebook batches what happened to a page in
the same second): mostly text (some with accents and emoji, which Facebook escapes as \\uXXXX),
some image attachments with a CDN URL, some delivery receipts. Mids look like Facebook's (about
90 characters) and are random, so every message is new to the database.
"""

import random
import secrets
import time
from dataclasses import dataclass, field

from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers

TEXTS = [
    "Hi, is this still available?",
    "Hello! I ordered last week and nothing has arrived yet. Order #48213",
    "Can I change the size to M?",
    "Thanks 🙏",
    "¿Tienen envío a Valencia?",
    "Bonjour, je voudrais échanger mon article, comment faire ?",
    "ok",
    "Do you ship to Norway? And how long does it usually take, roughly?",
    "The link in your ad doesn't work on my phone 😕",
    "Grüße aus München, ist der Rabatt noch gültig?",
    "What are your opening hours on Sunday?",
    "I was charged twice for the same order, can you check? I paid with Visa ending 4242.",
]
IMAGE_URL = (
    "https://scontent.xx.fbcdn.net/v/t1.15752-9/{n}_1234567890123456_{m}_n.jpg"
    "?_nc_cat=1&ccb=1-7&_nc_sid=fc17b8&_nc_ohc=AbCdEf&oh=03_Q7cD1gE&oe=67A1B2C3"
)
# How many items a body holds, and of which kind (weights).
ITEMS_PER_BODY = {1: 60, 2: 28, 3: 12}
ITEM_KINDS = {"text": 75, "image": 15, "delivery": 10}
MEAN_ITEMS_PER_BODY = sum(n * w for n, w in ITEMS_PER_BODY.items()) / sum(ITEMS_PER_BODY.values())


def new_mid(rng):
    return "m_" + "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k=86)
    )


def new_psid(rng):
    return str(rng.randrange(10**15, 10**16))


@dataclass
class SignedBody:
    body: bytes
    headers: dict
    events: int
    mids: list = field(default_factory=list)  # mids of the messages it carries


def signed_bodies(*, count, page_id, app_secret, customers=0, psids=None, seed=None):
    """`count` signed bodies from the given `psids`, or from `customers` new random ones."""
    rng = random.Random(seed if seed is not None else secrets.randbits(64))
    psids = psids or [new_psid(rng) for _ in range(customers)]
    clock = int(time.time() * 1000)
    out = []
    for _ in range(count):
        psid = rng.choice(psids)
        n = rng.choices(list(ITEMS_PER_BODY), weights=ITEMS_PER_BODY.values())[0]
        items, mids = [], []
        for _ in range(n):
            clock += rng.randrange(1, 40)
            kind = rng.choices(list(ITEM_KINDS), weights=ITEM_KINDS.values())[0]
            item = _item(rng, kind, page_id, psid, clock)
            items.append(item)
            if "message" in item:
                mids.append(item["message"]["mid"])
        payload = {
            "object": "page",
            "entry": [{"id": page_id, "time": clock + 5, "messaging": items}],
        }
        body = encode_like_facebook(payload)
        out.append(SignedBody(body, signature_headers(body, app_secret), n, mids))
    return out


def _item(rng, kind, page_id, psid, at_ms):
    base = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": at_ms}
    if kind == "delivery":
        # A receipt for one of our replies: no new message, an UPDATE on the worker's side.
        return {
            "sender": base["sender"],
            "recipient": base["recipient"],
            "delivery": {"mids": [new_mid(rng)], "watermark": at_ms},
        }
    if kind == "image":
        url = IMAGE_URL.format(n=rng.randrange(10**8, 10**9), m=rng.randrange(10**18, 10**19))
        message = {"mid": new_mid(rng), "attachments": [{"type": "image", "payload": {"url": url}}]}
    else:
        message = {"mid": new_mid(rng), "text": rng.choice(TEXTS)}
    return {**base, "message": message}
