"""Automatic assignment, end to end: customers write through the sandbox's simulator (signed
webhook posts, processed by a real worker); the agent whose desktop tab is open is given the
next one, nobody is given one while they are away, and a colleague who opens the desktop later
takes what waited."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from agent_desktop.models import Activity, Contact
from campaigns.models import Campaign, Person
from campaigns.people import presence_of
from tests.browser.conftest import customer_says, log_in
from tests.conftest import PASSWORD
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _patient_expectations():
    """A customer's message takes a worker's round trip before the desktop's poll shows it."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def team(demo):
    """The demo (tests/browser/conftest.py) with its campaign assigning automatically, and a
    second agent, Kim."""
    campaign = Campaign.objects.get(name="Demo campaign")
    campaign.auto_assign = True
    campaign.save()
    kim = User.objects.create_user("kim", password=PASSWORD, first_name="Kim")
    campaign.agents.add(kim)
    return demo


def is_online(username):
    return presence_of(Person.objects.get(user__username=username)) == "online"


def contact_named(first_name):
    return Contact.objects.filter(first_name=first_name).select_related("assigned_to").first()


def test_the_online_agent_gets_the_next_customer_an_away_one_none_and_a_newcomer_what_waited(
    chromium, live_server, team, screenshot, assert_accessible
):
    contexts = [
        chromium.new_context(base_url=live_server.url, viewport={"width": w, "height": 900})
        for w in (1280, 1366, 1366)
    ]
    admin_page, alex_page, kim_page = (context.new_page() for context in contexts)
    try:
        for page in (admin_page, alex_page, kim_page):
            page.set_default_timeout(20_000)
        log_in(admin_page, "demo-admin", team["demo-admin"])

        # Alex opens the desktop: the tab beats, Alex is online.
        log_in(alex_page, "demo-agent", team["demo-agent"])
        alex_page.goto("/desktop/?filter=mine")
        presence = alex_page.get_by_test_id("my-presence")
        expect(presence).to_have_text("You are online")
        away = alex_page.get_by_role("button", name="Away")
        expect(away).to_have_attribute("aria-pressed", "false")
        wait_until(lambda: is_online("demo-agent"), message="the desktop tab's first beat")

        # The next customer goes to Alex: in the Mine list without anyone claiming.
        customer_says(admin_page, "Maria", "Hi! Is my order on its way?")
        mine = alex_page.get_by_test_id("contact-row").filter(has_text="Maria")
        expect(mine).to_be_visible()
        maria = contact_named("Maria")
        assert (maria.status, maria.assigned_to.username) == ("assigned", "demo-agent")
        assert list(Activity.objects.filter(contact=maria).values_list("kind", "actor")) == [
            ("assigned", None)
        ]
        for width in (1366, 768, 390):
            alex_page.set_viewport_size({"width": width, "height": 900})
            expect(away).to_be_visible()
            screenshot(alex_page, f"90_presence_online_{width}")
            assert_accessible(alex_page, f"desktop with the away toggle at {width} px")
        alex_page.set_viewport_size({"width": 1366, "height": 900})

        # Alex goes away, by keyboard: the next customer waits unassigned.
        away.focus()
        alex_page.keyboard.press("Enter")
        expect(alex_page.get_by_role("button", name="Away")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(alex_page.get_by_test_id("my-presence")).to_have_text("You are away")
        screenshot(alex_page, "91_presence_away_1366")
        customer_says(admin_page, "Jonas", "Hello, anyone there?")
        alex_page.goto("/desktop/?filter=unassigned")
        waiting = alex_page.get_by_test_id("contact-row").filter(has_text="Jonas")
        expect(waiting).to_be_visible()
        alex_page.set_viewport_size({"width": 390, "height": 900})
        screenshot(alex_page, "92_presence_away_390")
        assert_accessible(alex_page, "desktop, away, at 390 px")

        # Kim opens the desktop: the waiting customer is Kim's (Alex, away, got nothing).
        log_in(kim_page, "kim")
        kim_page.goto("/desktop/?filter=mine")
        expect(kim_page.get_by_test_id("contact-row").filter(has_text="Jonas")).to_be_visible()
        screenshot(kim_page, "93_newcomer_takes_what_waited")
        jonas = contact_named("Jonas")
        assert (jonas.status, jonas.assigned_to.username) == ("assigned", "kim")
        assert list(
            Activity.objects.filter(contact=jonas).values_list("kind", "target_user__username")
        ) == [("assigned", "kim")]
        expect(alex_page.get_by_test_id("contact-row").filter(has_text="Jonas")).to_have_count(0)

        # Kim's transfer list says who could take Jonas now: Alex, away, holding Maria.
        kim_page.get_by_test_id("contact-row").filter(has_text="Jonas").click()
        expect(kim_page.get_by_label("Transfer to").locator("option")).to_have_text(
            ["Alex Agent · ◐ away · 1/10 open"]
        )
        screenshot(kim_page, "94_transfer_list_with_presence")
        assert_accessible(kim_page, "conversation with the transfer list")
    finally:
        for context in contexts:
            context.close()
