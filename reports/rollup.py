"""Message counts per day (MessageDay), so a year's report does not scan a million messages.

A beat task recounts the last RECOUNTED days in full every few minutes (delete and count
again, in one transaction): late deliveries (a channel's timestamp hours in the past) and
erasures within that window are picked up. Older days change only through `reports_backfill
--messages`, which recounts everything. Reports read whole UTC days before `rolled_until`
from here and count the rest (the period's edges, today) from Message itself, so a figure is
the same either way.
"""

from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from agent_desktop.models import Message
from reports.models import MessageDay, RollupState

RECOUNTED = timedelta(days=3)
COUNTED_KINDS = (Message.Kind.TEXT, Message.Kind.ATTACHMENT, Message.Kind.POSTBACK)


def day_start(day):
    return datetime.combine(day, time(), tzinfo=UTC)


def roll(*, now=None, everything=False):
    """Count the days from the last RECOUNTED (or all, the first time or with `everything`)
    up to today (excluded). Returns the days counted."""
    today = (now or timezone.now()).astimezone(UTC).date()
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
        if everything or state.rolled_until is None:
            first = Message.objects.aggregate(first=Min("sent_at"))["first"]
            start = first.astimezone(UTC).date() if first else today
        else:
            start = min(state.rolled_until, today - RECOUNTED)
        MessageDay.objects.filter(day__gte=start).delete()
        rows = (
            Message.objects.filter(
                sent_at__gte=day_start(start), sent_at__lt=day_start(today), kind__in=COUNTED_KINDS
            )
            .annotate(day=TruncDate("sent_at", tzinfo=UTC))
            .order_by()
            .values_list(
                "day",
                "contact__entry_point",
                "contact__entry_point__campaign",
                "contact__channel",
                "direction",
                "source",
                "sent_by",
            )
            .annotate(count=Count("pk"))
        )
        MessageDay.objects.bulk_create(
            [
                MessageDay(
                    day=day,
                    entry_point_id=entry_point,
                    campaign_id=campaign,
                    channel=channel,
                    direction=direction,
                    source=source,
                    sent_by_id=sent_by,
                    count=count,
                )
                for day, entry_point, campaign, channel, direction, source, sent_by, count in rows
            ],
            batch_size=5000,
        )
        state.rolled_until = today
        state.save(update_fields=["rolled_until"])
    return (today - start).days


def rolled_days(since, until):
    """The whole UTC days within [since, until) that the rollup holds: (first, end) with end
    excluded, or None."""
    rolled_until = RollupState.objects.filter(pk=1).values_list("rolled_until", flat=True).first()
    if rolled_until is None:
        return None
    first = since.astimezone(UTC).date()
    if day_start(first) < since:
        first += timedelta(days=1)
    end = min(until.astimezone(UTC).date(), rolled_until)
    return (first, end) if first < end else None
