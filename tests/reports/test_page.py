"""The Reports page: who may open it, what it shows, and its CSV downloads."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from campaigns.roles import SUPERVISOR_GROUP
from reports.models import ConversationCycle


@pytest.fixture
def answered(entry_point, agent, new_contact):
    now = timezone.now()
    contact = new_contact("6500000000000401")
    return ConversationCycle.objects.create(
        contact=contact,
        campaign=entry_point.campaign,
        entry_point=entry_point,
        channel="messenger",
        opened_at=now - timedelta(hours=2),
        first_response_at=now - timedelta(hours=2) + timedelta(seconds=90),
        first_responder=agent,
        first_response_seconds=90,
        closed_at=now - timedelta(hours=1),
        assignee=agent,
        resolution_seconds=3600,
    )


def test_admins_see_figures_agents_and_the_heat_map(admin_client, answered):
    response = admin_client.get("/reports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="heat-map"' in html and '<title id="heat-svg-title">' in html
    assert 'data-testid="agents-table"' in html and "1 min 30 s" in html
    assert 'href="/reports/"' in html  # the nav link, marked current


def test_an_empty_period_says_so(admin_client):
    html = admin_client.get("/reports/").content.decode()
    assert 'data-testid="heat-empty"' in html and 'data-testid="agents-empty"' in html


def test_agents_get_403_and_no_nav_link(agent_client):
    assert agent_client.get("/reports/").status_code == 403
    assert 'href="/reports/"' not in agent_client.get("/desktop/").content.decode()


def test_supervisors_see_the_nav_link(client, campaign):
    user = User.objects.create_user("sue")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    client.force_login(user)
    assert 'href="/reports/"' in client.get("/desktop/").content.decode()
    assert client.get("/reports/").status_code == 200


def test_a_bad_parameter_is_a_400_page_naming_it(admin_client):
    response = admin_client.get("/reports/?tz=Nowhere/Else")
    assert response.status_code == 400
    assert "not a time zone" in response.content.decode()


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_agents_table_downloads_as_csv_with_formulas_defused(admin_client, answered, agent):
    agent.first_name = '=HYPERLINK("http://evil.example","x")'
    agent.save()
    response = admin_client.get("/reports/?format=csv&table=agents&period=7d")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="reports-agents-')
    rows = read_csv(response)
    assert rows[0][0] == "Agent"
    assert rows[1] == ['\'=HYPERLINK("http://evil.example","x")', "1", "0", "90", ""]


def test_summary_and_heat_map_download_too(admin_client, answered):
    summary = read_csv(admin_client.get("/reports/?format=csv&table=summary"))
    assert ["Conversations opened", "1"] in summary
    heat = read_csv(admin_client.get("/reports/?format=csv&table=heatmap&tz=UTC"))
    assert heat[0][:2] == ["Weekday", "00"] and len(heat) == 8
    assert sum(int(n) for row in heat[1:] for n in row[1:]) == 1


def test_an_unknown_table_is_a_400(admin_client):
    assert admin_client.get("/reports/?format=csv&table=secrets").status_code == 400


def test_the_period_is_shown_on_the_chosen_clock(admin_client):
    html = admin_client.get("/reports/?since=2026-11-02&until=2026-11-02&tz=Asia/Tokyo")
    assert "2 Nov 2026, 00:00 to 3 Nov 2026, 00:00 · Asia/Tokyo" in html.content.decode()
