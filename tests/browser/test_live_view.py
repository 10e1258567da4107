"""A supervisor watches the live view in a real browser: a customer who has waited past the
campaign's target is listed and highlighted, a new one appears without a reload (the htmx poll),
presence is shown; keyboard-usable and axe-clean at phone, tablet and desktop widths."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import Contact
from agent_desktop.services import IncomingMessage, record_inbound
from campaigns.people import person_of
from campaigns.roles import SUPERVISOR_GROUP
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 768, 1366)


def customer_writes(entry_point, psid, first_name, minutes_ago):
    contact = Contact.objects.create(
        channel="messenger", entry_point=entry_point, external_id=psid, first_name=first_name
    )
    record_inbound(
        contact=contact,
        incoming=IncomingMessage(
            sent_at=timezone.now() - timedelta(minutes=minutes_ago),
            text="Hello?",
            mid=f"m_live_{psid}",
        ),
    )
    return contact


@pytest.fixture
def supervisor(campaign, agent):
    user = User.objects.create_user("sue", password=PASSWORD, first_name="Sue")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    person = person_of(agent)
    person.last_seen_at = person.last_active_at = timezone.now()
    person.save()
    return user


def test_a_supervisor_sees_who_waits_and_who_is_late(
    page, supervisor, entry_point, screenshot, assert_accessible
):
    late = customer_writes(entry_point, "6500000000000951", "Lena", minutes_ago=20)
    log_in(page, "sue")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Live").click()
    expect(page.get_by_role("heading", name="Live", exact=True)).to_be_visible()
    expect(page.get_by_test_id("live-waiting").locator("dd").first).to_have_text("1")
    row = page.get_by_test_id("late-row")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="Lena")).to_have_attribute(
        "href", f"/desktop/contacts/{late.pk}/"
    )
    expect(page.get_by_test_id("live-late-count")).to_have_class("card figure figure-late")
    presence = (
        page.get_by_test_id("member").filter(has_text="Alex").get_by_test_id("member-presence")
    )
    expect(presence).to_have_text("● Online")

    # A new customer appears with the next poll, no reload.
    customer_writes(entry_point, "6500000000000952", "Mo", minutes_ago=0)
    expect(page.get_by_test_id("live-waiting").locator("dd").first).to_have_text("2", timeout=12000)
    expect(page.get_by_test_id("late-row")).to_have_count(1)  # Mo is within the target

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"live view at {width} px")
        screenshot(page, f"live_{width}")

    # Keyboard: from the campaign selector to the first late customer's link.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_label("Campaign").focus()
    page.keyboard.press("Tab")  # Show
    page.keyboard.press("Tab")  # the late customer's link
    expect(row.get_by_role("link", name="Lena")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{page.url.split('/reports')[0]}/desktop/contacts/{late.pk}/")
