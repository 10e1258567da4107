"""reports.figures.percentiles, over a queryset and per group, equals linear interpolation over
each whole sorted list (percentile_cont's definition)."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_desktop.models import Contact
from reports.figures import percentile, percentiles
from reports.models import ConversationCycle

OPENED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def contact(entry_point):
    return Contact.objects.create(channel="messenger", entry_point=entry_point, external_id="1")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    durations=st.lists(
        st.tuples(st.sampled_from([None, 1, 2]), st.integers(0, 10**6)), min_size=0, max_size=40
    )
)
def test_the_database_percentiles_equal_the_whole_lists(contact, agent, admin_user, durations):
    ConversationCycle.objects.all().delete()
    users = {None: None, 1: agent, 2: admin_user}
    for n, (who, seconds) in enumerate(durations):
        ConversationCycle.objects.create(
            contact=contact,
            campaign=contact.entry_point.campaign,
            entry_point=contact.entry_point,
            channel="messenger",
            opened_at=OPENED,
            closed_at=OPENED if n < len(durations) - 1 else None,  # one open cycle at most
            first_responder=users[who],
            first_response_seconds=seconds,
        )
    rows = ConversationCycle.objects.all()
    expected_all = sorted(seconds for _, seconds in durations)
    found = percentiles(rows, "first_response_seconds").get(None)
    if expected_all:
        assert found == {
            "median": percentile(expected_all, 0.5),
            "p90": percentile(expected_all, 0.9),
        }
    else:
        assert found is None
    by_user = percentiles(
        rows.exclude(first_responder=None), "first_response_seconds", by="first_responder"
    )
    for who in (1, 2):
        values = sorted(seconds for w, seconds in durations if w == who)
        got = by_user.get(users[who].pk)
        assert got == (
            {"median": percentile(values, 0.5), "p90": percentile(values, 0.9)} if values else None
        )
