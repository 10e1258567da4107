"""Contact list rows shared between desks (agent_desktop.desk_lists): a busy list is drawn once
per DESK_LIST_SHARE_SECONDS for every desk that shows the same contacts, each desk seeing its
own contacts as "Mine" and its open row marked, and every change still reaching every desk."""

import re
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from agent_desktop import desk_lists, desk_versions, workflow
from tests.agent_desktop.test_desk_polls import HX, POLL, _poll_of, _write

SHARE = 2.0


class Clock:
    """The time the desk's tokens and shared rows are told: it moves only when a test says."""

    def __init__(self):
        self.now = time.time()

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def shared(settings, monkeypatch):
    """Rows shared for SHARE seconds, on a clock the test moves (`shared.sleep`)."""
    settings.DESK_LIST_SHARE_SECONDS = SHARE
    clock = Clock()
    monkeypatch.setattr(desk_lists, "time", clock)
    monkeypatch.setattr(desk_versions, "time", clock)
    return clock


@pytest.fixture
def colleague_client(campaign):
    colleague = User.objects.create_user("bea", password="x", first_name="Bea")
    campaign.agents.add(colleague)
    client = Client()
    client.force_login(colleague)
    return client


def _desk(client):
    """The desk page's poll parameters, as the page was drawn."""
    page = client.get(reverse("agent_desktop:home"))
    assert page.status_code == 200
    return _poll_of(page.content.decode())


def _list_queries(queries):
    """The queue's own query (selectors.contact_list): the one that draws rows."""
    return [q for q in queries if "ORDER BY" in q["sql"] and '"last_message_at" DESC' in q["sql"]]


def test_desks_showing_the_same_list_share_one_drawing(
    shared, agent_client, colleague_client, make_contact, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_contact(first_name="Maria")
    mine, theirs = _desk(agent_client), _desk(colleague_client)
    shared.sleep(SHARE + 0.1)  # what the pages drew is no longer fresh
    make_contact("6500000000000002", first_name="Newcomer")

    with CaptureQueriesContext(connection) as first:
        drawn = agent_client.get(POLL, mine, **HX).content.decode()
    with CaptureQueriesContext(connection) as second:
        given = colleague_client.get(POLL, theirs, **HX).content.decode()
    assert "Newcomer" in drawn and "Newcomer" in given
    assert len(_list_queries(first.captured_queries)) == 1
    assert _list_queries(second.captured_queries) == []  # the colleague got the same rows
    rows = re.compile(r'<ul class="contacts".*</ul>', re.S)
    assert rows.search(drawn).group(0) == rows.search(given).group(0)


def test_a_change_after_the_drawing_reaches_the_desk_once_the_rows_are_stale(
    shared, agent_client, make_contact
):
    make_contact(first_name="Maria")
    poll = _desk(agent_client)
    late = make_contact("6500000000000003", first_name="Latecomer")

    # The page's rows are fresh: the poll that follows at once has nothing newer to show.
    assert agent_client.get(POLL, poll, **HX).status_code == 204
    shared.sleep(SHARE + 0.1)
    html = agent_client.get(POLL, poll, **HX).content.decode()
    assert "Latecomer" in html
    again = _poll_of(html)
    assert again["list_fp"] != poll["list_fp"]
    _write(late, text="still there?", mid="m_late_2")
    shared.sleep(SHARE + 0.1)
    assert "still there?" in agent_client.get(POLL, again, **HX).content.decode()


def test_an_unchanged_poll_of_shared_rows_touches_no_database(
    shared, agent_client, colleague_client, make_contact, django_assert_num_queries
):
    make_contact(first_name="Maria")
    mine, theirs = _desk(agent_client), _desk(colleague_client)
    shared.sleep(SHARE + 0.1)
    make_contact("6500000000000002", first_name="Newcomer")
    answer = _poll_of(agent_client.get(POLL, mine, **HX).content.decode())
    make_contact("6500000000000004", first_name="Third")  # newer than the shared rows

    with django_assert_num_queries(0):
        assert agent_client.get(POLL, answer, **HX).status_code == 204
    # The colleague, still on the page's drawing, is given the shared rows.
    assert "Newcomer" in colleague_client.get(POLL, theirs, **HX).content.decode()


def test_each_desk_sees_its_own_contacts_as_mine_and_its_open_row(
    shared, agent, agent_client, colleague_client, make_contact
):
    maria = make_contact(first_name="Maria")
    jonas = make_contact("6500000000000002", first_name="Jonas")
    workflow.contact_claim(contact=maria, agent=agent)
    poll = _poll_of(
        agent_client.get(reverse("agent_desktop:contact", args=[jonas.pk])).content.decode()
    )
    theirs = _desk(colleague_client)
    shared.sleep(SHARE + 0.1)
    make_contact("6500000000000003", first_name="Newcomer")

    mine = agent_client.get(POLL, poll, **HX).content.decode()
    seen = colleague_client.get(POLL, theirs, **HX).content.decode()
    maria_row = re.compile(rf'<a [^>]*data-contact="{maria.pk}".*?</a>', re.S)
    assert ">Mine</span>" in maria_row.search(mine).group(0)
    assert ">Mine</span>" not in maria_row.search(seen).group(0)
    assert ">Alex</span>" in maria_row.search(seen).group(0)  # who holds it
    jonas_row = re.compile(rf'<a [^>]*data-contact="{jonas.pk}"[^>]*>')
    assert 'aria-current="true"' in jonas_row.search(mine).group(0)
    assert "active" in jonas_row.search(mine).group(0)
    assert 'aria-current="true"' not in jonas_row.search(seen).group(0)


def test_desks_of_other_campaigns_or_the_mine_filter_draw_their_own(
    shared, agent, agent_client, make_contact, other_campaign_agent, other_entry_point
):
    make_contact(first_name="Maria")
    make_contact("6500000000000009", first_name="Olaf", entry_point_=other_entry_point)
    other = Client()
    other.force_login(other_campaign_agent)
    ours, theirs = _desk(agent_client), _desk(other)
    shared.sleep(SHARE + 0.1)
    make_contact("6500000000000002", first_name="Newcomer")
    make_contact("6500000000000008", first_name="Otto", entry_point_=other_entry_point)

    html = agent_client.get(POLL, ours, **HX).content.decode()
    assert "Newcomer" in html and "Otto" not in html and "Olaf" not in html
    html = other.get(POLL, theirs, **HX).content.decode()
    assert "Otto" in html and "Newcomer" not in html and "Maria" not in html

    # "Mine" lists are each person's own: a colleague's never leaks in.
    colleague = User.objects.create_user("bea", password="x")
    agent.campaigns.first().agents.add(colleague)
    newcomer = agent.campaigns.first().entry_points.first().contacts.get(first_name="Newcomer")
    workflow.contact_claim(contact=newcomer, agent=colleague)
    mine_page = agent_client.get(reverse("agent_desktop:home"), {"filter": "mine"})
    assert "Newcomer" not in mine_page.content.decode()


def test_the_tab_counts_and_the_title_drawn_with_shared_rows_are_each_desks_own(
    shared, agent, agent_client, colleague_client, make_contact
):
    maria = make_contact(first_name="Maria")  # unread, as every contact made here
    make_contact("6500000000000002", first_name="Jonas")
    workflow.contact_claim(contact=maria, agent=agent)
    mine, theirs = _desk(agent_client), _desk(colleague_client)
    shared.sleep(SHARE + 0.1)
    make_contact("6500000000000003", first_name="Newcomer")

    def tabs(html):
        counts = re.findall(r'data-filter="(\w+)"[^>]*>[^<]*(?:<span[^>]*>(\d+))?', html)
        return {key: int(n) if n else 0 for key, n in counts}

    drawn = agent_client.get(POLL, mine, **HX).content.decode()
    given = colleague_client.get(POLL, theirs, **HX).content.decode()
    assert tabs(drawn) == {"all": 3, "mine": 1, "unassigned": 2, "closed": 0}
    assert tabs(given) == {"all": 3, "mine": 0, "unassigned": 2, "closed": 0}
    # The title counts the unassigned and one's own.
    assert "<title>(3) " in drawn and "<title>(2) " in given
