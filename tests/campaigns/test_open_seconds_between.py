"""campaigns.business_hours.open_seconds_between: business seconds between two moments."""

from datetime import UTC, datetime, timedelta

from campaigns.business_hours import open_seconds_between, validate_schedule

NINE_TO_FIVE = validate_schedule(
    {
        "timezone": "Europe/Berlin",
        "days": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-11-04"],
    }
)


def utc(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # Berlin is UTC+1 in November


def test_no_schedule_counts_every_second():
    assert open_seconds_between(None, utc(2, 10), utc(2, 10, 5)) == 300


def test_only_the_open_part_of_a_span_counts():
    # Monday 08:30 to 17:30 Berlin: 09:00-17:00 open
    assert open_seconds_between(NINE_TO_FIVE, utc(2, 7, 30), utc(2, 16, 30)) == 8 * 3600


def test_a_span_over_a_night_and_a_holiday():
    # Tuesday 16:00 Berlin to Thursday 10:00 Berlin: 1 h Tuesday, Wednesday a holiday, 1 h Thursday
    assert open_seconds_between(NINE_TO_FIVE, utc(3, 15), utc(5, 9)) == 2 * 3600


def test_a_weekend_counts_nothing_and_a_reversed_span_is_zero():
    assert open_seconds_between(NINE_TO_FIVE, utc(7, 8), utc(8, 20)) == 0
    assert open_seconds_between(NINE_TO_FIVE, utc(2, 12), utc(2, 11)) == 0


def test_midnight_closing_and_daylight_saving_count_real_seconds():
    always = validate_schedule(
        {"timezone": "Europe/Berlin", "days": {d: [["00:00", "24:00"]] for d in ("sat", "sun")}}
    )
    # The night of 24-25 October 2026 is an hour longer in Berlin (clocks go back).
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # Sunday 00:00 Berlin (summer time)
    assert open_seconds_between(always, start, start + timedelta(hours=25)) == 25 * 3600
