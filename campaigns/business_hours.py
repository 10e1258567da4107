"""A campaign's business hours: a weekly schedule in one time zone, with holidays.

The schedule is a JSON object (the campaign API exposes it as `business_hours`)::

    {"timezone": "Europe/Berlin",
     "days": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]],
              "wed": [], ...},
     "holidays": ["2026-12-25"]}

- `timezone`: an IANA name; times and holiday dates are read on that zone's wall clock, so a
  daylight saving change moves nothing ("09:00" stays nine in the morning).
- `days`: "mon" to "sun", each a list of [open, close] "HH:MM" ranges, open before close;
  "24:00" closes at midnight. A range can't run past midnight: split it over two days. A day
  left out, or with no ranges, is closed.
- `holidays`: ISO dates ("YYYY-MM-DD") closed all day.

No schedule (None) means always open. `validate_schedule` checks one and returns it in the
normalised form above (every day present, ranges and holidays sorted).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone as django_timezone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
DAY_NAMES = dict(
    zip(
        DAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
DASH = "\u2013"  # an en dash, between the times of a range
MAX_HOLIDAYS = 400
# The away reply goes out as one message: no longer than the shortest text a channel takes
# (Messenger's, messenger.limits.MAX_TEXT_LENGTH; campaigns may not import a channel).
AWAY_MESSAGE_MAX_LENGTH = 1999
MAX_RANGES_PER_DAY = 6
MIDNIGHT = 24 * 60
KEYS = {"timezone", "days", "holidays"}


class ScheduleInvalid(ValueError):
    """What is wrong with a schedule, by part: {"timezone" | "days" | "days.mon".."days.sun" |
    "holidays" | "business_hours" (the whole): [messages]}."""

    def __init__(self, errors):
        super().__init__("; ".join(self.messages_of(errors)))
        self.errors = errors

    @staticmethod
    def messages_of(errors):
        return [
            message if part == "business_hours" else f"{_part_name(part)}: {message}"
            for part, messages in errors.items()
            for message in messages
        ]


def _part_name(part):
    if part.startswith("days."):
        return DAY_NAMES.get(part[5:], part)
    return {"timezone": "Time zone"}.get(part, part.capitalize())


def validate_business_hours(value):
    """The model field's validator (the admin, model forms): one message per fault."""
    if value is None:
        return
    try:
        validate_schedule(value)
    except ScheduleInvalid as exc:
        raise ValidationError(ScheduleInvalid.messages_of(exc.errors)) from exc


def validate_schedule(value):
    """The schedule, normalised; ScheduleInvalid naming each part at fault otherwise."""
    if not isinstance(value, dict):
        raise ScheduleInvalid(
            {"business_hours": ['Business hours are an object: {"timezone", "days", "holidays"}.']}
        )
    errors = {}
    unknown = sorted(set(value) - KEYS, key=str)
    if unknown:
        errors["business_hours"] = [
            f"Unknown key {', '.join(map(repr, unknown))}: use timezone, days and holidays."
        ]
    timezone = _timezone(value.get("timezone"), errors)
    days = _days(value.get("days", {}), errors)
    holidays = _holidays(value.get("holidays", []), errors)
    if errors:
        raise ScheduleInvalid(errors)
    return {"timezone": timezone, "days": days, "holidays": holidays}


@cache
def zone_names():
    """The IANA time zone names this machine knows, sorted (read from disk once)."""
    return tuple(sorted(available_timezones()))


def _timezone(name, errors):
    if not isinstance(name, str) or not name:
        errors["timezone"] = ["Choose a time zone, e.g. “Europe/Berlin”."]
        return None
    if name not in zone_names():
        errors["timezone"] = [f"“{name[:60]}” is not a time zone name like “Europe/Berlin”."]
        return None
    return name


def _days(days, errors):
    if not isinstance(days, dict):
        errors["days"] = ['Days are an object like {"mon": [["09:00", "17:00"]]}.']
        return {}
    unknown = sorted(str(key) for key in days if key not in DAYS)
    if unknown:
        errors["days"] = [f"Unknown day {', '.join(map(repr, unknown))}: use {', '.join(DAYS)}."]
    normalised = {}
    for day in DAYS:
        try:
            normalised[day] = _ranges(days.get(day) or [])
        except ValueError as exc:
            errors[f"days.{day}"] = [str(exc)]
    return normalised


def _ranges(ranges):
    if not isinstance(ranges, list):
        raise ValueError('Give a list of opening hours, like [["09:00", "17:00"]].')
    if len(ranges) > MAX_RANGES_PER_DAY:
        raise ValueError(f"At most {MAX_RANGES_PER_DAY} opening hours a day.")
    parsed = []
    for item in ranges:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise ValueError('Each opening is a pair of times, like ["09:00", "17:00"].')
        opens, closes = _minutes(item[0], closing=False), _minutes(item[1], closing=True)
        if closes <= opens:
            raise ValueError(
                f"Closes ({item[1]}) before it opens ({item[0]}). Hours can't run past "
                f"midnight: split them, e.g. 22:00{DASH}24:00 and 00:00{DASH}06:00 the next day."
            )
        parsed.append((opens, closes))
    parsed.sort()
    for (_, closes), (opens, _) in pairwise(parsed):
        if opens < closes:
            raise ValueError("Opening hours overlap: give each time once.")
    return [[_hhmm(opens), _hhmm(closes)] for opens, closes in parsed]


def _minutes(text, *, closing):
    """Minutes since midnight of "HH:MM"; "24:00" only as a closing time."""
    if isinstance(text, str) and len(text) == 5 and text[2] == ":":
        hours, minutes = text[:2], text[3:]
        if hours.isdigit() and minutes.isdigit() and int(minutes) < 60:
            value = int(hours) * 60 + int(minutes)
            if value < MIDNIGHT or (closing and value == MIDNIGHT):
                return value
    raise ValueError(f"“{str(text)[:20]}” is not a time like 09:00 (00:00 to 23:59, or 24:00).")


def _hhmm(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _holidays(holidays, errors):
    if not isinstance(holidays, list):
        errors["holidays"] = ['Holidays are a list of dates, like ["2026-12-25"].']
        return []
    if len(holidays) > MAX_HOLIDAYS:
        errors["holidays"] = [f"At most {MAX_HOLIDAYS} holidays."]
        return []
    dates, wrong = set(), []
    for item in holidays:
        day = _iso_date(item)
        if day is None:
            wrong.append(f"“{str(item)[:20]}”")
        else:
            dates.add(day)
    if wrong:
        errors["holidays"] = [
            f"{', '.join(wrong[:3])}: give each holiday as a date like 2026-12-25."
        ]
    return sorted(dates)


def _iso_date(value):
    """ "YYYY-MM-DD" of a real day, else None."""
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:  # 2026-02-30
        return None


# --- Reading a (valid) schedule -------------------------------------------------------------
def is_open(schedule, at: datetime) -> bool:
    """Whether the schedule is open at the aware time `at`. None: always open."""
    if schedule is None:
        return True
    local = at.astimezone(ZoneInfo(schedule["timezone"]))
    if local.date().isoformat() in schedule.get("holidays", ()):
        return False
    minute = local.hour * 60 + local.minute
    return any(
        _minutes(opens, closing=False) <= minute < _minutes(closes, closing=True)
        for opens, closes in schedule["days"].get(DAYS[local.weekday()], ())
    )


def next_opening(schedule, at: datetime) -> datetime | None:
    """When the schedule next opens after `at` (in its time zone), or None: always open, or
    never open in the coming year."""
    if schedule is None:
        return None
    zone = ZoneInfo(schedule["timezone"])
    start = at.astimezone(zone)
    holidays = set(schedule.get("holidays", ()))
    for offset in range(367):
        day = start.date() + timedelta(days=offset)
        if day.isoformat() in holidays:
            continue
        for opens, _ in schedule["days"].get(DAYS[day.weekday()], ()):
            minutes = _minutes(opens, closing=False)
            moment = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
            if moment > start:
                return moment
    return None


@dataclass(frozen=True)
class Summary:
    """What the campaign page says of a schedule."""

    hours: str  # "Mon-Fri 09:00-17:00; Sat 10:00-14:00", with en dashes
    timezone: str
    holidays: int
    open_now: bool
    next_opening: datetime | None  # when closed now: when it opens, on the schedule's clock


def summary(schedule, now: datetime | None = None) -> Summary | None:
    """Days with the same hours grouped: "Mon-Fri 09:00-17:00; Sat, Sun 10:00-14:00" (with en
    dashes)."""
    if schedule is None:
        return None
    groups = []  # [first day, last day, hours text]
    for index, day in enumerate(DAYS):
        ranges = schedule["days"].get(day) or []
        text = ", ".join(f"{opens}{DASH}{closes}" for opens, closes in ranges)
        if groups and groups[-1][2] == text and groups[-1][1] == index - 1:
            groups[-1][1] = index
        else:
            groups.append([index, index, text])
    parts = []
    for first, last, text in groups:
        if not text:
            continue
        days = DAYS[first].capitalize()
        if last > first:
            days += (DASH if last > first + 1 else ", ") + DAYS[last].capitalize()
        parts.append(f"{days} {text}")
    now = now or django_timezone.now()
    open_now = is_open(schedule, now)
    return Summary(
        hours="; ".join(parts) or "Closed every day",
        timezone=schedule["timezone"],
        holidays=len(schedule.get("holidays", ())),
        open_now=open_now,
        next_opening=None if open_now else next_opening(schedule, now),
    )


def open_seconds_between(schedule, start: datetime, end: datetime) -> int:
    """Seconds between the aware times `start` and `end` while the schedule is open (reports'
    business-hours durations). None: always open, so all of them. Differences are taken in UTC,
    so a daylight saving change in between counts real seconds."""
    if end <= start:
        return 0
    if schedule is None:
        return int((end - start).total_seconds())
    zone = ZoneInfo(schedule["timezone"])
    holidays = set(schedule.get("holidays", ()))
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    total = 0.0
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day.isoformat() in holidays:
            continue
        for opens, closes in schedule["days"].get(DAYS[day.weekday()], ()):
            opening = _moment(day, _minutes(opens, closing=False), zone)
            closing = _moment(day, _minutes(closes, closing=True), zone)
            overlap = (min(end, closing) - max(start, opening)).total_seconds()
            total += max(overlap, 0)
    return int(total)


def _moment(day, minutes, zone):
    """The aware UTC time `minutes` after midnight of `day` on the zone's clock (1440: the
    next midnight)."""
    if minutes == MIDNIGHT:
        day, minutes = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)
