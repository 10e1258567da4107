"""The desktop honours the notification choices of the profile page: an agent who wants no word
of the unassigned queue and no sound, but mentions, is told of a mention only, silently.

On the real stack (signed webhook post, a Celery worker); the browser's Notification API is
replaced by the recorder of test_desktop_signals (the browser's API, not ours)."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import expect

from agent_desktop.notes import note_create
from agent_desktop.profile import notification_preferences_set
from tests.browser.conftest import log_in
from tests.browser.test_desktop_signals import (
    MARIA,
    RECORD_NOTIFICATIONS,
    TO_BACKGROUND,
    customer_writes,
    notifications,
)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_only_the_chosen_notifications_are_raised_and_without_sound(
    page, live_server, connected_page, agent, campaign, fake_graph, start_worker
):
    fake_graph.add_profile(MARIA, first_name="Maria", last_name="Schmidt")
    start_worker()
    notification_preferences_set(user=agent, wanted=["assigned", "mentions"])
    colleague = User.objects.create_user("sam", password=PASSWORD, first_name="Sam")
    campaign.agents.add(colleague)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:home"))
    page.get_by_role("button", name="Notifications").click()
    expect(page.locator("[data-notify-status]")).to_contain_text("Notifications on")
    page.evaluate(TO_BACKGROUND)

    # A new customer in the unassigned queue: listed, not told.
    customer_writes(live_server, connected_page, MARIA, "Hi! Where is my order?")
    expect(page.get_by_test_id("contact-row")).to_have_count(1, timeout=20_000)
    maria = connected_page.entry_point.contacts.get(external_id=MARIA)
    note_create(contact=maria, author=colleague, text=f"@{agent.username} can you take this one?")
    # The list has been read many times over by when the mention is told (it polls every
    # 1.5 s, the mentions every 8 s): a queue notification would be first in the recorder.
    page.wait_for_function("() => window.__notifications.length >= 1", polling=200, timeout=20_000)
    assert [n["title"] for n in notifications(page)] == ["Sam mentioned you"]
    assert page.evaluate("window.__sounds") == 0
