"""`manage.py reports_backfill`: conversations from before the cycle table get the cycles the
live hooks would have made, rebuilt from messages and activities; running it again adds
nothing."""

from django.core.management import call_command

from reports.models import ConversationCycle
from tests.reports.conftest import customer_writes

FIELDS = (
    "contact", "campaign", "entry_point", "channel", "opened_at", "reopened",
    "first_response_at", "first_responder", "first_response_seconds", "snoozed_seconds",
    "snoozed_since", "closed_at", "closed_by", "assignee", "resolution_seconds", "business_hours",
)  # fmt: skip


def cycles():
    return list(ConversationCycle.objects.order_by("contact", "opened_at").values_list(*FIELDS))


def test_the_backfill_rebuilds_what_the_live_hooks_recorded(history, capsys):
    live = cycles()
    assert len(live) == 4
    ConversationCycle.objects.all().delete()  # as before reports existed

    call_command("reports_backfill")
    assert "4 conversation cycles built." in capsys.readouterr().out
    assert cycles() == live

    call_command("reports_backfill")  # again: nothing to do
    assert "0 conversation cycles built." in capsys.readouterr().out
    call_command("reports_backfill", "--rebuild")
    assert cycles() == live


def test_an_open_conversation_is_backfilled_open(clock, new_contact):
    contact = new_contact("6500000000000501")
    customer_writes(contact, clock.now)
    ConversationCycle.objects.all().delete()
    call_command("reports_backfill")
    (cycle,) = ConversationCycle.objects.all()
    assert (cycle.opened_at, cycle.closed_at, cycle.first_response_at) == (clock.now, None, None)
