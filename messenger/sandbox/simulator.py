"""The customer simulator: fake Facebook users chatting with a page the way Messenger would.

What a customer types is posted, signed with the entry point's App Secret, to the entry point's
real webhook URL. The page's replies are what the sandbox's fake Send API accepted; when the
simulator shows them it sends the delivery and read events back, as the Messenger app does.
State lives in the web process's memory, like the sandbox's fake Graph API it talks to.
"""

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from messenger.sandbox.callbacks import own_webhook_callback_problem
from messenger.sandbox.demo import DEMO_PAGE
from messenger.sandbox.facebook_webhooks import new_mid, now_ms, page_body, post_signed
from messenger.sandbox.fake_graph import FakeGraphAPI

_lock = threading.Lock()
_fake = None


def sandbox_graph():
    """The sandbox's fake Graph API, served by this app at /sandbox/graph/ (see GRAPH_API_URL)."""
    global _fake
    origin = settings.GRAPH_API_URL.rsplit("/", 1)[0]
    with _lock:
        if _fake is None or _fake.origin != origin:
            _fake = FakeGraphAPI(public_origin=origin, callback_check=own_webhook_callback_problem)
            _fake.add_page(**DEMO_PAGE)
            _customers.clear()
        return _fake


def reset():
    """Forget the sandbox's state: its fake Graph API and the simulated customers."""
    global _fake
    with _lock:
        _fake = None
        _customers.clear()


@dataclass
class Line:
    """One bubble of the customer's thread."""

    from_customer: bool
    at: datetime
    text: str = ""
    kind: str = "text"  # text, image, location, postback
    mid: str = ""
    status: str = ""
    attachment_id: str = ""  # a page's reply with an uploaded file (shown from the fake)
    filename: str = ""
    # A page's reply with quick replies: [(title, payload)], offered until the customer answers.
    quick_replies: tuple = ()


@dataclass
class Customer:
    psid: str
    first_name: str
    last_name: str
    locale: str
    lines: list = field(default_factory=list)
    acknowledged: set = field(default_factory=set)  # mids we sent delivery/read events for

    @property
    def name(self):
        return f"{self.first_name} {self.last_name}".strip()


_customers: dict[str, Customer] = {}


def make_customer(*, first_name, last_name="", locale="en_US"):
    psid = str(secrets.randbelow(9 * 10**15) + 10**15)
    customer = Customer(psid, first_name.strip(), last_name.strip(), locale)
    sandbox_graph().add_profile(
        psid,
        first_name=customer.first_name,
        last_name=customer.last_name,
        locale=locale,
        timezone=1,
        gender="",
    )
    with _lock:
        _customers[psid] = customer
    return customer


def customers():
    with _lock:
        return sorted(_customers.values(), key=lambda c: c.name.lower())


def customer(psid):
    with _lock:
        return _customers.get(psid)


class SimulatorError(Exception):
    """The webhook refused the simulated event; the message says what it answered."""


def send(*, page, webhook_url, customer, kind, text="", payload=""):
    """Post one customer event to the page's webhook, exactly as Facebook would."""
    if not page.app_secret_is_set or not page.page_id:
        raise SimulatorError(
            "Save this entry point's credentials (they must be checked) before trying it."
        )
    mid = new_mid()
    item = {
        "sender": {"id": customer.psid},
        "recipient": {"id": page.page_id},
        "timestamp": now_ms(),
    }
    if kind == "postback":
        item["postback"] = {
            "mid": mid,
            "title": text or "Talk to an agent",
            "payload": "TALK_TO_AGENT",
        }
    elif kind == "quick_reply":  # a tap on one of the page's quick replies
        item["message"] = {"mid": mid, "text": text, "quick_reply": {"payload": payload}}
    elif kind == "image":
        url = sandbox_graph().profile_pic_url(customer.psid).replace("/pics/", "/pics/photo-")
        item["message"] = {"mid": mid, "attachments": [{"type": "image", "payload": {"url": url}}]}
    elif kind == "location":
        item["message"] = {
            "mid": mid,
            "attachments": [
                {
                    "type": "location",
                    "title": "Pinned location",
                    "payload": {"coordinates": {"lat": 52.5200, "long": 13.4050}},
                }
            ],
        }
    else:
        item["message"] = {"mid": mid, "text": text}
    fake = sandbox_graph()
    if item.get("message", {}).get("text"):  # kept in the conversation, as Facebook keeps it
        fake.customer_sent(page.page_id, customer.psid, mid=mid, text=text, name=customer.name)
    # While Facebook has dropped the page's webhook, the message reaches no webhook: only gap
    # recovery (the Conversations API) finds it.
    if fake.delivers_events(page.page_id):
        _post(page, webhook_url, page_body(page.page_id, item))
    fake.customer_wrote(customer.psid)
    with _lock:
        customer.lines.append(Line(True, datetime.now(UTC), text=text, kind=kind, mid=mid))


def thread(*, page, webhook_url, customer):
    """The customer's view: their messages and the page's replies, in order. Replies shown for
    the first time are acknowledged with delivery and read events."""
    replies = [
        s
        for s in sandbox_graph().sent_messages(customer.psid)
        if s.get("page_id") in (None, page.page_id)
    ]
    fresh = [r["message_id"] for r in replies if r["message_id"] not in customer.acknowledged]
    if fresh:
        watermark = now_ms()
        base = {"sender": {"id": customer.psid}, "recipient": {"id": page.page_id}}
        _post(
            page,
            webhook_url,
            page_body(
                page.page_id,
                {**base, "delivery": {"mids": fresh, "watermark": watermark}},
                {**base, "timestamp": watermark, "read": {"watermark": watermark}},
            ),
        )
        with _lock:
            customer.acknowledged.update(fresh)
    lines = list(customer.lines) + [
        Line(
            False,
            r["at"],
            text=_reply_text(r["message"]),
            kind=_reply_kind(r["message"]),
            mid=r["message_id"],
            status="read",
            quick_replies=tuple(
                (q.get("title", ""), q.get("payload", ""))
                for q in r["message"].get("quick_replies") or ()
            ),
            **_reply_attachment(r["message"]),
        )
        for r in replies
    ]
    return sorted(lines, key=lambda line: line.at)


def _reply_text(message):
    if message.get("text"):
        return message["text"]
    attachment = message.get("attachment") or {}
    return f"[{attachment.get('type', 'attachment')}]"


def _reply_attachment(message):
    """The uploaded file a reply carries (Attachment Upload API), for the thread to show."""
    payload = (message.get("attachment") or {}).get("payload") or {}
    upload = sandbox_graph().uploaded_attachment(payload.get("attachment_id") or "")
    if upload is None or upload.get("content") is None:
        return {}
    return {"attachment_id": upload["attachment_id"], "filename": upload.get("filename") or ""}


def attachment_content(attachment_id):
    """(bytes, filename) of a file a page uploaded to the sandbox, or None."""
    upload = sandbox_graph().uploaded_attachment(attachment_id)
    if upload is None or upload.get("content") is None:
        return None
    return upload["content"], upload.get("filename") or "file"


def _reply_kind(message):
    return "text" if message.get("text") else (message.get("attachment") or {}).get("type", "file")


def _post(page, webhook_url, body):
    response = post_signed(webhook_url, body, page.app_secret, timeout=10)
    if response.status_code != 200:
        raise SimulatorError(f"The webhook answered {response.status_code}: {response.text[:200]}")
