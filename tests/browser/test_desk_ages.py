"""The list's ages ("5 min") count on in the page (static/js/desktop.js): the server draws the
list again when it changes, not as time passes (agent_desktop.desk_versions.REFRESH_SECONDS)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import Contact
from tests.browser.conftest import log_in
from tests.browser.test_desktop_signals import TO_BACKGROUND, TO_FOREGROUND

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lists_ages_tick_in_the_page(page, live_server, entry_point, agent):
    Contact.objects.create(
        entry_point=entry_point,
        channel="messenger",
        external_id="6500000000000001",
        first_name="Maria",
        last_message_at=timezone.now() - timedelta(minutes=5),
        last_message_preview="Where is my order?",
    )
    log_in(page, agent.username)
    age = page.get_by_test_id("contact-row").locator("time.row-time")
    expect(age).to_have_text("5 min")

    # Time passes (three hours, as the page's clock sees it), the tab comes back to the front.
    page.evaluate(
        """() => { const real = Date.now(), Real = Date;
          window.Date = class extends Real {
            constructor(...a) { super(...(a.length ? a : [real + 3 * 3600 * 1000])); }
          }; }"""
    )
    page.evaluate(TO_BACKGROUND)
    page.evaluate(TO_FOREGROUND)
    expect(age).to_have_text("3 h")
