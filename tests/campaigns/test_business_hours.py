"""A campaign's business hours: the schedule's checks, and whether it is open at a moment."""

from datetime import UTC, datetime

import pytest

from campaigns.business_hours import (
    ScheduleInvalid,
    is_open,
    next_opening,
    summary,
    validate_schedule,
)

BERLIN_OFFICE = {
    "timezone": "Europe/Berlin",
    "days": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def errors_of(value):
    with pytest.raises(ScheduleInvalid) as caught:
        validate_schedule(value)
    return caught.value.errors


# --- Checking a schedule ---------------------------------------------------------------------
def test_a_valid_schedule_comes_back_with_every_day_and_sorted_ranges_and_holidays():
    schedule = validate_schedule(
        {
            "timezone": "America/New_York",
            "days": {"mon": [["13:00", "17:00"], ["08:30", "12:00"]], "sat": []},
            "holidays": ["2026-12-25", "2026-01-01", "2026-12-25"],
        }
    )
    assert schedule == {
        "timezone": "America/New_York",
        "days": {
            "mon": [["08:30", "12:00"], ["13:00", "17:00"]],
            "tue": [],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [],
            "sun": [],
        },
        "holidays": ["2026-01-01", "2026-12-25"],
    }


def test_an_unknown_time_zone_is_named_in_the_error():
    errors = errors_of({**BERLIN_OFFICE, "timezone": "Mars/Olympus"})
    assert errors == {"timezone": ["“Mars/Olympus” is not a time zone name like “Europe/Berlin”."]}


def test_a_missing_time_zone_is_asked_for():
    errors = errors_of({"days": {}})
    assert list(errors) == ["timezone"]
    assert "Choose a time zone" in errors["timezone"][0]


def test_a_range_that_closes_before_it_opens_is_refused_with_how_to_cross_midnight():
    errors = errors_of({**BERLIN_OFFICE, "days": {"fri": [["22:00", "06:00"]]}})
    assert list(errors) == ["days.fri"]
    assert errors["days.fri"][0].startswith("Closes (06:00) before it opens (22:00).")
    assert "22:00\u201324:00 and 00:00\u201306:00 the next day" in errors["days.fri"][0]


@pytest.mark.parametrize(
    ("ranges", "says"),
    [
        ([["9:00", "17:00"]], "“9:00” is not a time like 09:00"),
        ([["09:00", "24:30"]], "“24:30” is not a time like 09:00"),
        ([["24:00", "24:00"]], "“24:00” is not a time like 09:00"),
        ([["09:00", "12:60"]], "“12:60” is not a time like 09:00"),
        ([["09:00"]], "Each opening is a pair of times"),
        ("09:00-17:00", "Give a list of opening hours"),
        ([["09:00", "13:00"], ["12:00", "17:00"]], "Opening hours overlap"),
        ([["09:00", "09:00"]], "Closes (09:00) before it opens (09:00)"),
    ],
)
def test_wrong_opening_hours_are_refused_on_their_day(ranges, says):
    errors = errors_of({**BERLIN_OFFICE, "days": {"tue": ranges}})
    assert list(errors) == ["days.tue"]
    assert says in errors["days.tue"][0]


def test_24_00_closes_at_midnight():
    schedule = validate_schedule({"timezone": "UTC", "days": {"sun": [["00:00", "24:00"]]}})
    assert is_open(schedule, utc(2026, 11, 29, 23, 59))  # a Sunday
    assert not is_open(schedule, utc(2026, 11, 30, 0, 0))  # Monday


def test_unknown_days_keys_and_bad_holidays_are_each_named():
    errors = errors_of(
        {
            "timezone": "UTC",
            "days": {"monday": []},
            "holidays": ["2026-02-30", "25.12.2026", "2026-12-24"],
            "open": True,
        }
    )
    assert errors == {
        "business_hours": ["Unknown key 'open': use timezone, days and holidays."],
        "days": ["Unknown day 'monday': use mon, tue, wed, thu, fri, sat, sun."],
        "holidays": ["“2026-02-30”, “25.12.2026”: give each holiday as a date like 2026-12-25."],
    }


def test_a_schedule_that_is_not_an_object_is_refused():
    assert errors_of(["mon"]) == {
        "business_hours": ['Business hours are an object: {"timezone", "days", "holidays"}.']
    }


def test_the_message_of_an_invalid_schedule_names_each_part_in_words():
    with pytest.raises(ScheduleInvalid) as caught:
        validate_schedule({"timezone": "Nowhere", "days": {"wed": [["x", "17:00"]]}})
    assert str(caught.value) == (
        "Time zone: “Nowhere” is not a time zone name like “Europe/Berlin”.; "
        "Wednesday: “x” is not a time like 09:00 (00:00 to 23:59, or 24:00)."
    )


# --- Open or closed ----------------------------------------------------------------------------
def test_no_schedule_is_always_open():
    assert is_open(None, utc(2026, 12, 25, 3, 0))
    assert next_opening(None, utc(2026, 12, 25, 3, 0)) is None


def test_open_and_closed_follow_the_schedules_wall_clock():
    schedule = validate_schedule(BERLIN_OFFICE)
    # Monday 30 November 2026; Berlin is UTC+1 in winter.
    assert not is_open(schedule, utc(2026, 11, 30, 7, 59))  # 08:59 in Berlin
    assert is_open(schedule, utc(2026, 11, 30, 8, 0))  # 09:00
    assert is_open(schedule, utc(2026, 11, 30, 15, 59))  # 16:59
    assert not is_open(schedule, utc(2026, 11, 30, 16, 0))  # 17:00: closed
    assert not is_open(schedule, utc(2026, 11, 28, 12, 0))  # Saturday


def test_the_day_is_the_day_in_the_schedules_time_zone():
    schedule = validate_schedule(
        {"timezone": "Pacific/Auckland", "days": {"mon": [["08:00", "12:00"]]}}
    )
    # Sunday 29 November 2026, 20:00 UTC is Monday 09:00 in Auckland (UTC+13).
    assert is_open(schedule, utc(2026, 11, 29, 20, 0))


def test_a_holiday_is_closed_all_day_in_the_schedules_time_zone():
    schedule = validate_schedule(BERLIN_OFFICE)  # 25 December 2026 is a Friday
    assert not is_open(schedule, utc(2026, 12, 25, 10, 0))
    assert is_open(schedule, utc(2026, 12, 24, 9, 0))
    assert next_opening(schedule, utc(2026, 12, 24, 17, 0)).isoformat() == (
        "2026-12-28T09:00:00+01:00"
    )


def test_daylight_saving_days_keep_the_wall_clock_hours():
    schedule = validate_schedule(BERLIN_OFFICE)
    # Sunday 29 March 2026 Berlin moves to UTC+2; Monday 30 March 09:00 is 07:00 UTC.
    assert not is_open(schedule, utc(2026, 3, 30, 6, 59))
    assert is_open(schedule, utc(2026, 3, 30, 7, 0))
    assert next_opening(schedule, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)
    # Sunday 25 October 2026 back to UTC+1: Monday 26 October 09:00 is 08:00 UTC.
    assert not is_open(schedule, utc(2026, 10, 26, 7, 30))
    assert is_open(schedule, utc(2026, 10, 26, 8, 0))


def test_a_schedule_closed_every_day_never_opens():
    schedule = validate_schedule({"timezone": "UTC", "days": {}})
    assert not is_open(schedule, utc(2026, 11, 30, 12, 0))
    assert next_opening(schedule, utc(2026, 11, 30, 12, 0)) is None


def test_the_summary_groups_days_with_the_same_hours():
    schedule = validate_schedule(
        {
            **BERLIN_OFFICE,
            "days": {
                **BERLIN_OFFICE["days"],
                "sat": [["10:00", "14:00"]],
                "sun": [["10:00", "14:00"]],
            },
        }
    )
    assert summary(schedule).hours == ("Mon\u2013Fri 09:00\u201317:00; Sat, Sun 10:00\u201314:00")
    assert (summary(schedule).timezone, summary(schedule).holidays) == ("Europe/Berlin", 1)
    closed = summary(schedule, now=utc(2026, 11, 28, 16, 0))  # Saturday 17:00 in Berlin
    assert not closed.open_now
    assert closed.next_opening.isoformat() == "2026-11-29T10:00:00+01:00"
    assert summary(schedule, now=utc(2026, 11, 30, 9, 0)).open_now
    assert summary(validate_schedule({"timezone": "UTC"})).hours == "Closed every day"
    assert summary(None) is None
