"""Messenger webhook bodies parsed into typed events (shared/messenger/PROTOCOL.md, section 4).

`parse_body` accepts any decoded JSON value. It raises only `PayloadError`, for a body that is not
a Messenger page body at all; inside a page body, items it can't use become `IgnoredEvent`s with
the reason, so one odd item never costs the others.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

HANDOVER_KEYS = ("pass_thread_control", "take_thread_control", "request_thread_control")


class PayloadError(Exception):
    """The body is not a Messenger page webhook body."""


# Code points a valid JSON body can carry (as \u escapes) that no database or page can hold:
# lone surrogates (UTF-8 can't encode them, so SQLite, PostgreSQL and the response to the
# browser all fail on them) and the noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF and their
# copies in every plane). NUL (PostgreSQL's text and jsonb refuse it) is dropped instead.
UNSAFE_CODE_POINTS = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
    + "]"
)


def load_body(text):
    """A stored webhook body decoded, with every string made safe to store and show (see
    `storable`). Every reader of a body goes through it: the workers' batches and single
    retries (messenger.processing) and the delivery log."""
    value = json.loads(text)
    if text.isascii() and "\\u" not in text:
        return value  # no escapes, no raw non-ASCII: nothing to replace (most of Facebook's)
    return storable(value)


def storable(value):
    """`value` with NUL taken out of every string (keys too) and the other unsafe code points
    replaced by U+FFFD: the customer's text is kept, with the replacement character where
    theirs could not be."""
    if isinstance(value, str):
        return UNSAFE_CODE_POINTS.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Attachment:
    type: str
    url: str = ""
    title: str = ""
    payload: dict = field(default_factory=dict)

    def as_dict(self):
        data = {"type": self.type, "url": self.url}
        if self.title:
            data["title"] = self.title
        if self.type == "location":
            coordinates = self.payload.get("coordinates") or {}
            data["lat"], data["long"] = coordinates.get("lat"), coordinates.get("long")
        if self.payload.get("sticker_id"):
            data["sticker_id"] = self.payload["sticker_id"]
        return data


@dataclass(frozen=True)
class MessengerEvent:
    """Common to every event: the page, the customer's PSID, the time, and the thread owner."""

    page_id: str
    psid: str
    timestamp: datetime | None
    standby: bool

    kind = "event"


@dataclass(frozen=True)
class MessageEvent(MessengerEvent):
    mid: str
    text: str = ""
    attachments: tuple = ()
    quick_reply_payload: str = ""
    reply_to_mid: str = ""
    is_echo: bool = False
    app_id: str = ""
    metadata: str = ""
    # Fetched from the Conversations API after a gap in deliveries (messenger.recovery), not
    # delivered by the webhook: the desk notes it.
    recovered: bool = False

    @property
    def kind(self):
        return "echo" if self.is_echo else "message"


@dataclass(frozen=True)
class DeliveryEvent(MessengerEvent):
    watermark: datetime | None
    mids: tuple = ()
    kind = "delivery"


@dataclass(frozen=True)
class ReadEvent(MessengerEvent):
    watermark: datetime | None
    kind = "read"


@dataclass(frozen=True)
class PostbackEvent(MessengerEvent):
    mid: str
    title: str = ""
    payload: str = ""
    referral: dict = field(default_factory=dict)
    kind = "postback"


@dataclass(frozen=True)
class ReferralEvent(MessengerEvent):
    ref: str = ""
    source: str = ""
    referral_type: str = ""
    ad_id: str = ""
    referer_uri: str = ""
    kind = "referral"


@dataclass(frozen=True)
class ReactionEvent(MessengerEvent):
    target_mid: str
    reaction: str = ""
    emoji: str = ""
    action: str = "react"
    kind = "reaction"


@dataclass(frozen=True)
class EditEvent(MessengerEvent):
    """The customer edited a message they sent (`message_edits` field: `message_edit`)."""

    target_mid: str
    text: str = ""
    num_edit: int = 0
    kind = "edit"


@dataclass(frozen=True)
class UnsendEvent(MessengerEvent):
    """The customer unsent (removed) a message: `message` with `is_deleted`/`is_unsent`, or
    `message_unsend`."""

    target_mid: str
    kind = "unsend"


@dataclass(frozen=True)
class OptinEvent(MessengerEvent):
    ref: str = ""
    optin_type: str = ""
    kind = "optin"


@dataclass(frozen=True)
class HandoverEvent(MessengerEvent):
    action: str = ""
    new_owner_app_id: str = ""
    previous_owner_app_id: str = ""
    metadata: str = ""
    kind = "handover"


@dataclass(frozen=True)
class PolicyEnforcementEvent:
    """Facebook blocked, warned or unblocked the app on this page for a policy
    (`messaging_policy_enforcement`): about the page, not a customer (no sender)."""

    page_id: str
    timestamp: datetime | None
    action: str = ""
    reason: str = ""
    kind = "policy_enforcement"


@dataclass(frozen=True)
class IgnoredEvent:
    """An item kept in the delivery log but not acted on, with why."""

    page_id: str
    event_kind: str
    reason: str

    @property
    def kind(self):
        return self.event_kind


@dataclass(frozen=True)
class ParsedBody:
    events: list
    ignored_reason: str = ""  # set when the whole body is of no use to us (another object)

    @property
    def kinds(self):
        return [event.kind for event in self.events]

    @property
    def actionable(self):
        return [event for event in self.events if not isinstance(event, IgnoredEvent)]


def parse_body(body):
    """Parse a decoded webhook body into events, in the order they came."""
    if not isinstance(body, dict):
        raise PayloadError(f"expected a JSON object, got {type(body).__name__}")
    obj = body.get("object")
    if obj != "page":
        return ParsedBody([], ignored_reason=f"object {_short(obj)!s} is not a Messenger page")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("'entry' is not a list")
    events = []
    for entry in entries:
        if not isinstance(entry, dict):
            events.append(IgnoredEvent("", "unknown", "an entry is not an object"))
            continue
        page_id = _string(entry.get("id"))
        entry_time = _time(entry.get("time"))
        found = False
        for key, standby in (("messaging", False), ("standby", True)):
            items = entry.get(key)
            if not isinstance(items, list):
                continue
            found = True
            for item in items:
                events.append(_parse_item(item, page_id, entry_time, standby))
        if not found:
            kind = "changes" if "changes" in entry else "unknown"
            events.append(IgnoredEvent(page_id, kind, "no messaging or standby items"))
    return ParsedBody(events)


def _parse_item(item, page_id, entry_time, standby):
    if not isinstance(item, dict):
        return IgnoredEvent(page_id, "unknown", "a messaging item is not an object")
    sender = _string(_dict(item.get("sender")).get("id"))
    recipient = _string(_dict(item.get("recipient")).get("id"))
    timestamp = _time(item.get("timestamp")) or entry_time
    common = {"page_id": page_id, "timestamp": timestamp, "standby": standby}

    if "message" in item:
        message = _dict(item["message"])
        is_echo = message.get("is_echo") is True
        # Echoes are sent by the page: the customer is the recipient.
        psid = recipient if is_echo else sender
        mid = _string(message.get("mid"))
        if not psid or not mid:
            return IgnoredEvent(page_id, "message", "no customer id or no mid")
        if not is_echo and (message.get("is_deleted") is True or message.get("is_unsent") is True):
            return UnsendEvent(**common, psid=psid, target_mid=mid)
        return MessageEvent(
            **common,
            psid=psid,
            mid=mid,
            text=_string(message.get("text")),
            attachments=tuple(_attachments(message.get("attachments"), message.get("sticker_id"))),
            quick_reply_payload=_string(_dict(message.get("quick_reply")).get("payload")),
            reply_to_mid=_string(_dict(message.get("reply_to")).get("mid")),
            is_echo=is_echo,
            app_id=_string(message.get("app_id")),
            metadata=_string(message.get("metadata")),
        )
    kind = _event_key(item)
    if kind == "policy_enforcement":
        policy = _dict(item["policy_enforcement"])
        return PolicyEnforcementEvent(
            page_id=page_id or recipient,
            timestamp=timestamp,
            action=_string(policy.get("action")),
            reason=_string(policy.get("reason")),
        )
    if not sender:
        # Chat-plugin visitors (user_ref only) have no PSID to attach to.
        return IgnoredEvent(page_id, kind, "no sender PSID")
    common["psid"] = sender
    if kind == "delivery":
        delivery = _dict(item["delivery"])
        mids = delivery.get("mids")
        return DeliveryEvent(
            **common,
            watermark=_time(delivery.get("watermark")),
            mids=tuple(_string(m) for m in mids if _string(m)) if isinstance(mids, list) else (),
        )
    if kind == "read":
        return ReadEvent(**common, watermark=_time(_dict(item["read"]).get("watermark")))
    if kind == "postback":
        postback = _dict(item["postback"])
        return PostbackEvent(
            **common,
            mid=_string(postback.get("mid")),
            title=_string(postback.get("title")),
            payload=_string(postback.get("payload")),
            referral=_dict(postback.get("referral")),
        )
    if kind == "referral":
        referral = _dict(item["referral"])
        return ReferralEvent(
            **common,
            ref=_string(referral.get("ref")),
            source=_string(referral.get("source")),
            referral_type=_string(referral.get("type")),
            ad_id=_string(referral.get("ad_id")),
            referer_uri=_string(referral.get("referer_uri")),
        )
    if kind == "reaction":
        reaction = _dict(item["reaction"])
        return ReactionEvent(
            **common,
            target_mid=_string(reaction.get("mid")),
            reaction=_string(reaction.get("reaction")),
            emoji=_string(reaction.get("emoji")),
            action=_string(reaction.get("action")) or "react",
        )
    if kind == "message_edit":
        edit = _dict(item["message_edit"])
        target = _string(edit.get("mid"))
        if not target:
            return IgnoredEvent(page_id, kind, "no mid of the edited message")
        return EditEvent(
            **common, target_mid=target, text=_string(edit.get("text")), num_edit=_count(edit)
        )
    if kind == "message_unsend":
        target = _string(_dict(item["message_unsend"]).get("mid"))
        if not target:
            return IgnoredEvent(page_id, kind, "no mid of the removed message")
        return UnsendEvent(**common, target_mid=target)
    if kind == "optin":
        optin = _dict(item["optin"])
        return OptinEvent(
            **common, ref=_string(optin.get("ref")), optin_type=_string(optin.get("type"))
        )
    if kind in HANDOVER_KEYS:
        handover = _dict(item[kind])
        return HandoverEvent(
            **common,
            action=kind,
            new_owner_app_id=_string(handover.get("new_owner_app_id")),
            previous_owner_app_id=_string(handover.get("previous_owner_app_id")),
            metadata=_string(handover.get("metadata")),
        )
    return IgnoredEvent(page_id, kind, "an event kind we do not handle")


KNOWN_KEYS = (
    "delivery",
    "read",
    "postback",
    "referral",
    "reaction",
    "message_edit",
    "message_unsend",
    "optin",
    "policy_enforcement",
    *HANDOVER_KEYS,
)


def _event_key(item):
    for key in KNOWN_KEYS:
        if key in item:
            return key
    others = [k for k in item if k not in {"sender", "recipient", "timestamp"}]
    return _short(others[0]) if others else "unknown"


def _attachments(value, sticker_id=None):
    if not isinstance(value, list):
        return
    for raw in value:
        if not isinstance(raw, dict):
            continue
        payload = _dict(raw.get("payload"))
        if sticker_id and not payload.get("sticker_id"):  # the id only on the message
            payload = {**payload, "sticker_id": sticker_id}
        # v6.0+ puts url/title in the payload; older fallbacks and templates on the attachment.
        yield Attachment(
            type=_string(raw.get("type")) or "unknown",
            url=_web_url(_string(payload.get("url")) or _string(raw.get("url"))),
            title=_string(payload.get("title")) or _string(raw.get("title")),
            payload=payload,
        )


def _count(edit):
    """`num_edit`: an integer, in the docs' example a string."""
    value = edit.get("num_edit")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _web_url(url):
    """Only http(s) links reach the desktop's src and href attributes (no javascript: or data:)."""
    return url if url.lower().startswith(("https://", "http://")) else ""


def _time(value):
    """Messenger times are epoch milliseconds; some arrive in seconds (seen in production)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = value / 1000 if value >= 1e12 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dict(value):
    return value if isinstance(value, dict) else {}


def _string(value):
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids sometimes arrive as numbers (app_id)
    return ""


def _short(value):
    return str(value)[:40]
