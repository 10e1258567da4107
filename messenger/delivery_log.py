"""Reads and the replay of the delivery log an admin sees for an entry point."""

import json
from dataclasses import fields

from django.db.models.functions import Length

from messenger import events as ev
from messenger import services
from messenger.models import WebhookDelivery


def deliveries_of(facebook_page, *, status=""):
    deliveries = (
        WebhookDelivery.objects.filter(facebook_page=facebook_page)
        .defer("body")
        .annotate(body_size=Length("body"))
    )
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-received_at", "-pk")


def count(facebook_page):
    return WebhookDelivery.objects.filter(facebook_page=facebook_page).count()


def erase(facebook_page):
    """Delete the page's stored webhook posts (their raw bodies hold the customers' messages).
    Returns how many."""
    erased, _ = WebhookDelivery.objects.filter(facebook_page=facebook_page).delete()
    return erased


def describe(delivery):
    """The delivery's parsed events (each as label/value pairs) and its body, pretty-printed.

    Bodies hold customer data but never our secrets: the signature is checked, not stored.
    The body is shown as it came, code points no page can hold written as their JSON escapes;
    the events as they were processed, with those code points replaced."""
    try:
        body = json.loads(delivery.body)
    except (ValueError, RecursionError):
        return {"events": [], "pretty_body": delivery.body, "parse_error": "not JSON"}
    pretty = ev.UNSAFE_CODE_POINTS.sub(_json_escape, json.dumps(body, indent=2, ensure_ascii=False))
    try:
        parsed = ev.parse_body(ev.storable(body))
    except ev.PayloadError as exc:
        return {"events": [], "pretty_body": pretty, "parse_error": str(exc)}
    return {
        "events": [_event_rows(event) for event in parsed.events],
        "pretty_body": pretty,
        "parse_error": parsed.ignored_reason,
    }


def replay(delivery):
    services.retry_delivery(delivery)


def _json_escape(match):
    """`\\ud800` for a lone surrogate, a pair of escapes for a code point past U+FFFF."""
    units = match.group().encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _event_rows(event):
    rows = []
    for field in fields(event):
        value = getattr(event, field.name)
        if value in ("", (), {}, None, False):
            continue
        if field.name == "attachments":
            value = ", ".join(a.type for a in value)
        rows.append((field.name.replace("_", " "), value))
    return {"kind": event.kind, "ignored": isinstance(event, ev.IgnoredEvent), "rows": rows}
