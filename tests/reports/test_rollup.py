"""Daily message totals (reports.rollup): a report reads whole days from them and the rest from
the messages, and says the same as counting every message; late deliveries within the
recounted days are picked up by the next run, older ones by `reports_backfill --messages`."""

import pytest
from django.core.management import call_command

from agent_desktop.models import Message
from config.celery import app
from reports import figures, rollup
from reports.models import MessageDay
from reports.period import scope_from
from reports.tasks import roll_message_days
from tests.reports.conftest import at, customer_writes

SCOPES = [
    {"since": "2026-11-01", "until": "2026-11-08", "tz": "UTC"},
    {"since": "2026-11-02", "until": "2026-11-03", "tz": "Asia/Kolkata"},  # edges at :30
    {"period": "30d", "tz": "America/New_York"},
    {"period": "7d", "tz": "UTC", "channel": "messenger"},
]


def figures_for(user, params):
    scope = scope_from(params, user)
    return figures.summary(scope), figures.agents(scope)


@pytest.mark.parametrize("params", SCOPES)
def test_the_daily_totals_say_what_counting_every_message_says(history, admin_user, params):
    berlin = {**params, "campaign": str(history["berlin"].pk)}
    counted = figures_for(admin_user, params), figures_for(admin_user, berlin)
    assert rollup.roll() == 8  # 2 (the first message) to 9 November; the 10th, today, is live
    assert MessageDay.objects.exists()
    assert (figures_for(admin_user, params), figures_for(admin_user, berlin)) == counted


def test_whole_days_are_read_from_the_totals(history, admin_user):
    rollup.roll()
    params = {"since": "2026-11-01", "until": "2026-11-08", "tz": "UTC"}
    before = figures_for(admin_user, params)[0]
    Message.objects.filter(sent_at__lt=at(9, 0)).delete()  # gone from the table, not the totals
    after = figures_for(admin_user, params)[0]
    assert (after["messages_in"], after["messages_out"]) == (
        before["messages_in"],
        before["messages_out"],
    )


def test_late_messages_are_counted_by_the_next_run_or_the_backfill(
    history, admin_user, new_contact, clock
):
    rollup.roll()
    params = {"since": "2026-11-01", "until": "2026-11-09", "tz": "UTC"}
    before = figures_for(admin_user, params)[0]["messages_in"]
    late = new_contact("6500000000000701")
    assert at(10, 12) - at(8, 15) < rollup.RECOUNTED  # the clock (history) stands on the 10th
    customer_writes(late, at(8, 15))  # sent on the 8th, stored on the 10th: recounted days
    customer_writes(late, at(1, 15))  # sent on the 1st: older than the recounted days
    rollup.roll()
    assert figures_for(admin_user, params)[0]["messages_in"] == before + 1
    call_command("reports_backfill", "--messages")
    assert figures_for(admin_user, params)[0]["messages_in"] == before + 2


def test_the_beat_task_keeps_the_totals_current(history, settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["roll-message-days"]
    assert schedule == {"task": "reports.tasks.roll_message_days", "schedule": 300.0}
    assert schedule["task"] in app.tasks
    assert roll_message_days() == 8
    assert roll_message_days() == 3  # then only the recounted days
