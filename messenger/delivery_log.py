"""Reads and the replay of the delivery log an admin sees for an entry point."""

import json
from dataclasses import fields

from django.db import transaction
from django.db.models.functions import Length

from campaigns.audit import Action, audit_record
from messenger import events as ev
from messenger.delivery_queue import enqueue_processing, retry_delivery
from messenger.models import WebhookDelivery
from messenger.processing import CAMPAIGN_INACTIVE


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


def replay(delivery, *, actor=None):
    with transaction.atomic():
        retry_delivery(delivery)
        audit_record(
            actor,
            Action.DELIVERIES_REPLAYED,
            delivery.facebook_page.entry_point,
            deliveries=1,
            delivery_id=delivery.pk,
        )


class CampaignStillInactive(Exception):
    """Replaying while the campaign is inactive would only ignore the deliveries again."""


def ignored_while_inactive(facebook_page):
    return WebhookDelivery.objects.filter(
        facebook_page=facebook_page,
        status=WebhookDelivery.Status.IGNORED,
        last_error=CAMPAIGN_INACTIVE,
    )


def replay_ignored_while_inactive(facebook_page, *, actor=None):
    """Process again, now the campaign is active, the page's deliveries kept while it was not.
    Returns how many. Each is taken once: a conditional UPDATE from `ignored`, so two admins
    pressing at once do not enqueue them twice."""
    entry_point = facebook_page.entry_point
    if not entry_point.campaign.is_active:
        raise CampaignStillInactive("Activate the campaign first: they would be ignored again.")
    with transaction.atomic():
        ids = list(ignored_while_inactive(facebook_page).values_list("pk", flat=True))
        taken = ignored_while_inactive(facebook_page).filter(pk__in=ids)
        replayed = taken.update(status=WebhookDelivery.Status.RECEIVED, attempts=0, last_error="")
        if replayed:
            audit_record(actor, Action.DELIVERIES_REPLAYED, entry_point, deliveries=replayed)
            transaction.on_commit(lambda: enqueue_processing(ids))
    return replayed


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
