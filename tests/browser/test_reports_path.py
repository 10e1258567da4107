"""A lead reads the Reports page in a real browser: opens it from the menu, changes the period,
filters by an agent (keyboard only), downloads the agents table as CSV; the heat map is an SVG
with a text alternative; axe-core checks it at phone, tablet and desktop widths."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop import workflow
from agent_desktop.models import Contact
from agent_desktop.services import IncomingMessage, record_inbound, reply_send
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 768, 1366)


def conversation(entry_point, psid, agent, *, close=True):
    """A customer writes, `agent` answers, and closes it: through the desktop's services."""
    contact = Contact.objects.create(channel="messenger", entry_point=entry_point, external_id=psid)
    record_inbound(
        contact=contact,
        incoming=IncomingMessage(
            sent_at=timezone.now() - timedelta(minutes=3),
            text="Where is my order?",
            mid=f"m_{psid}",
        ),
    )
    reply_send(contact=Contact.objects.get(pk=contact.pk), agent=agent, text="On its way")
    if close:
        workflow.contact_close(contact=Contact.objects.get(pk=contact.pk), agent=agent)


@pytest.fixture
def history(entry_point, agent, campaign):
    sam = User.objects.create_user("sam", first_name="Sam")
    campaign.agents.add(sam)
    conversation(entry_point, "6500000000000601", agent)
    conversation(entry_point, "6500000000000602", agent)
    conversation(entry_point, "6500000000000603", sam, close=False)
    return {"alex": agent, "sam": sam}


def test_a_lead_reads_filters_and_downloads_the_report(
    page, admin_user, history, screenshot, assert_accessible
):
    log_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.get_by_test_id("fig-opened")).to_have_text("3")
    expect(page.get_by_test_id("fig-closed")).to_have_text("2")
    heat_map = page.get_by_test_id("heat-map")
    expect(heat_map).to_be_visible()
    assert heat_map.evaluate("svg => svg.tagName") == "svg"
    assert "3 in all" in heat_map.locator("title").first.text_content()
    agents = page.get_by_test_id("agents-table")
    expect(agents.get_by_role("row")).to_have_count(3)  # the head, Alex, Sam

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"reports at {width} px")
        screenshot(page, f"reports_{width}")
    page.set_viewport_size({"width": 1366, "height": 900})

    # Another period: yesterday had nothing.
    page.get_by_label("Period", exact=True).select_option("yesterday")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("fig-opened")).to_have_text("0")
    expect(page.get_by_test_id("heat-empty")).to_be_visible()
    assert_accessible(page, "an empty report")
    screenshot(page, "reports_empty_1366")

    # Back to the last 7 days, filtered by Sam, with the keyboard only.
    page.get_by_label("Period", exact=True).focus()
    page.get_by_label("Period", exact=True).select_option("7d")
    page.get_by_label("Agent", exact=True).focus()
    page.keyboard.press("ArrowDown")  # Alex
    page.keyboard.press("ArrowDown")  # Sam
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Agent", exact=True)).to_have_value(str(history["sam"].pk))
    expect(page.get_by_test_id("fig-opened")).to_have_text("1")
    expect(page.get_by_test_id("agents-table").get_by_role("row")).to_have_count(2)

    with page.expect_download() as download_info:
        page.get_by_test_id("csv-agents").click()
    download = download_info.value
    assert download.suggested_filename.startswith("reports-agents-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == [
        "Agent", "Conversations", "Replies", "First response median (s)", "CSAT average",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == ["Sam"]
    assert rows[1][2] == "1"
