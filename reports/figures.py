"""The figures of a report (reports.period.Scope), from SQL aggregates over indexed columns of
the cycle table and of Message.

Percentiles: linear interpolation between the two nearest ranks (PostgreSQL's percentile_cont,
which computes them there; on SQLite the same arithmetic over the durations the database
sorted; see percentiles()).
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.db import connections
from django.db.models import Aggregate, Avg, Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncHour

from agent_desktop.models import Message
from reports import csat, rollup
from reports.models import ConversationCycle, MessageDay
from reports.rollup import COUNTED_KINDS, day_start

# What counts as a message (reports.rollup.COUNTED_KINDS): the customer's and the team's words,
# files and button taps, not reactions, edits, referrals and other signals.


def percentile(sorted_values, fraction):
    """Linear interpolation between closest ranks (percentile_cont); None for no values."""
    return _at(sorted_values, len(sorted_values), fraction) if sorted_values else None


def percentiles(rows, column, *, by=None):
    """{group: {"median", "p90"}} of `column` over `rows` (a queryset), per value of the `by`
    column (or one group, None); groups without values are left out.

    PostgreSQL computes them itself (percentile_cont, no values leave the server); elsewhere
    the values come sorted by the database and are read here. At 100 000 conversations the
    aggregate took less than half the time of numbering each group's values with a window
    function, the way this worked before (bench/reports.py)."""
    rows = rows.filter(**{f"{column}__isnull": False}).order_by()
    if connections[rows.db].vendor == "postgresql":
        return _computed_by_postgresql(rows, column, by)
    groups = {}
    fields = (column,) if by is None else (by, column)
    for row in rows.order_by(column).values_list(*fields):
        groups.setdefault(None if by is None else row[0], []).append(row[-1])
    return {group: _spread_of(values, len(values)) for group, values in groups.items()}


class _MedianAndP90(Aggregate):
    """PostgreSQL's percentile_cont at 1/2 and 9/10: linear interpolation between the closest
    ranks, in the float arithmetic _at() repeats, so both paths round to the same seconds."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())


def _computed_by_postgresql(rows, column, by):
    if by is None:
        both = rows.aggregate(both=_MedianAndP90(column))["both"]
        grouped = [] if both is None else [(None, both)]
    else:
        grouped = rows.values(by).annotate(both=_MedianAndP90(column)).values_list(by, "both")
    return {group: {"median": round(median), "p90": round(p90)} for group, (median, p90) in grouped}


def _spread_of(values, count):
    """Median and p90 of `count` sorted values."""
    return {"median": _at(values, count, 0.5), "p90": _at(values, count, 0.9)}


def _at(values, count, fraction):
    rank = (count - 1) * fraction
    low = int(rank)
    high = min(low + 1, count - 1)
    return round(values[low] + (values[high] - values[low]) * (rank - low))


def spread(rows, column):
    return percentiles(rows, column).get(None, {"median": None, "p90": None})


# --- The rows a scope covers ----------------------------------------------------------------------
def _in_scope(rows, scope, *, to_contact):
    """Rows narrowed to the scope's campaigns, entry point, channel and label; `to_contact` is
    the path from a row to its contact ("contact__" for a message; "" for a cycle, which keeps
    copies of its contact's campaign, entry point and channel)."""
    if scope.campaign_ids is not None:
        campaign = f"{to_contact}entry_point__campaign_id" if to_contact else "campaign_id"
        rows = rows.filter(**{f"{campaign}__in": scope.campaign_ids})
    if scope.entry_point is not None:
        rows = rows.filter(**{f"{to_contact}entry_point": scope.entry_point})
    if scope.channel:
        rows = rows.filter(**{f"{to_contact}channel": scope.channel})
    if scope.label:
        rows = rows.filter(contact__labels__name=scope.label)
    return rows


def cycles(scope):
    rows = _in_scope(ConversationCycle.objects.all(), scope, to_contact="")
    if scope.agent is not None:
        rows = rows.filter(Q(first_responder=scope.agent) | Q(assignee=scope.agent))
    return rows


def opened(scope):
    return cycles(scope).filter(opened_at__gte=scope.since, opened_at__lt=scope.until)


def closed(scope):
    return cycles(scope).filter(closed_at__gte=scope.since, closed_at__lt=scope.until)


def messages(scope, since=None, until=None):
    """The scope's messages (of [since, until) when given: a part of its period)."""
    rows = Message.objects.filter(
        sent_at__gte=since or scope.since, sent_at__lt=until or scope.until, kind__in=COUNTED_KINDS
    )
    rows = _in_scope(rows, scope, to_contact="contact__")
    if scope.agent is not None:
        # The agent's own replies, and what their customers wrote.
        handled = cycles(scope).values("contact_id")
        rows = rows.filter(
            Q(direction=Message.Direction.OUT, sent_by=scope.agent)
            | Q(direction=Message.Direction.IN, contact_id__in=handled)
        )
    return rows


def message_counts(scope):
    """{(direction, source, sent_by id): messages} of the scope: the summary's in and out and
    the agents' replies both read it (the page counts once). Whole days the rollup holds come
    from its daily totals, the rest (the period's edges, today) from the messages; filters the
    totals can't apply (label, agent) count every message."""
    days = None
    if not scope.label and scope.agent is None:
        days = rollup.rolled_days(scope.since, scope.until)
    if days is None:
        return _counted(messages(scope), Count("pk"))
    first, end = days
    counts = _counted(_message_days(scope, first, end), Sum("count"))
    for since, until in ((scope.since, day_start(first)), (day_start(end), scope.until)):
        if since < until:
            for key, count in _counted(messages(scope, since, until), Count("pk")).items():
                counts[key] = counts.get(key, 0) + count
    return counts


def _message_days(scope, first, end):
    rows = MessageDay.objects.filter(day__gte=first, day__lt=end)
    if scope.campaign_ids is not None:
        rows = rows.filter(campaign_id__in=scope.campaign_ids)
    if scope.entry_point is not None:
        rows = rows.filter(entry_point=scope.entry_point)
    if scope.channel:
        rows = rows.filter(channel=scope.channel)
    return rows


def _counted(rows, total):
    return {
        (direction, source, sent_by): count
        for direction, source, sent_by, count in rows.order_by()
        .values_list("direction", "source", "sent_by")
        .annotate(count=total)
    }


# --- The figures ------------------------------------------------------------------------------
def summary(scope, counts_by_sender=None):
    """The API's summary (DESIGN.md "Reports"), with reopened and the target share's counts.
    `counts_by_sender`: message_counts(scope), when the caller has it already."""
    counts = opened(scope).aggregate(
        opened=Count("pk"),
        reopened=Count("pk", filter=Q(reopened=True)),
        responded=Count("pk", filter=Q(first_response_seconds__isnull=False)),
        within=Count(
            "pk",
            filter=Q(first_response_seconds__lte=F("campaign__first_response_target_seconds")),
        ),
    )
    closing = closed(scope).aggregate(
        closed=Count("pk"), csat_responses=Count("csat_rating"), csat_average=Avg("csat_rating")
    )
    surveys = csat.survey_counts(closed(scope))
    directions = {}
    for (direction, _, _), count in (
        message_counts(scope) if counts_by_sender is None else counts_by_sender
    ).items():
        directions[direction] = directions.get(direction, 0) + count
    within = counts["within"] / counts["responded"] if counts["responded"] else None
    return {
        "conversations_opened": counts["opened"],
        "conversations_closed": closing["closed"],
        "conversations_reopened": counts["reopened"],
        "messages_in": directions.get(Message.Direction.IN, 0),
        "messages_out": directions.get(Message.Direction.OUT, 0),
        "first_response_seconds": spread(opened(scope), "first_response_seconds"),
        "resolution_seconds": spread(closed(scope), "resolution_seconds"),
        "first_response_within_target": None if within is None else round(within, 4),
        "first_responses": counts["responded"],
        "first_responses_within_target": counts["within"],
        "csat": {
            "responses": closing["csat_responses"],
            "average": _rounded(closing["csat_average"]),
        },
        "csat_sent": surveys["sent"],
        "csat_skipped": surveys["skipped"],
        "since": scope.since.astimezone(scope.zone).isoformat(),
        "until": scope.until.astimezone(scope.zone).isoformat(),
        "tz": scope.tz,
    }


def agents(scope, counts_by_sender=None):
    """Per agent: conversations handled (closed while theirs), replies sent, their median first
    response, CSAT average (of conversations closed while theirs)."""
    handled = {
        row["assignee"]: row
        for row in closed(scope)
        .exclude(assignee=None)
        .order_by()
        .values("assignee")
        .annotate(conversations=Count("pk"), csat=Avg("csat_rating"))
    }
    replies = {
        sent_by: count
        for (direction, source, sent_by), count in (
            message_counts(scope) if counts_by_sender is None else counts_by_sender
        ).items()
        if direction == Message.Direction.OUT
        and source == Message.Source.AGENT
        and sent_by is not None
    }
    firsts = percentiles(
        opened(scope).exclude(first_responder=None), "first_response_seconds", by="first_responder"
    )
    user_ids = set(handled) | set(replies) | set(firsts)
    if scope.agent is not None:
        user_ids &= {scope.agent.pk}
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("first_name", "username")
    return [
        {
            "user": user.pk,
            "name": user.get_full_name() or user.username,
            "conversations": handled.get(user.pk, {}).get("conversations", 0),
            "replies": replies.get(user.pk, 0),
            "first_response_seconds_median": firsts.get(user.pk, {}).get("median"),
            "csat_average": _rounded(handled.get(user.pk, {}).get("csat")),
        }
        for user in users
    ]


def heat_map(scope):
    """Conversations opened by weekday (0 = Monday) and hour on the scope's clock: 7 rows of 24.
    Counted per local hour by the database (measured faster than extracting weekday and hour).
    The rows (8 760 in a year) are read without Django's per-row conversion to an aware
    datetime, which took longer than the query: the local wall-clock hour is all it needs."""
    grid = [[0] * 24 for _ in range(7)]
    rows = (
        opened(scope)
        .annotate(local_hour=TruncHour("opened_at", tzinfo=scope.zone))
        .order_by()
        .values_list("local_hour")
        .annotate(count=Count("pk"))
    )
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        for local_hour, count in cursor.fetchall():
            # PostgreSQL: a timestamp without time zone; SQLite: its text.
            if isinstance(local_hour, str):
                local_hour = datetime.fromisoformat(local_hour)
            grid[local_hour.weekday()][local_hour.hour] += count
    return grid


def _rounded(value):
    return None if value is None else round(value, 2)
