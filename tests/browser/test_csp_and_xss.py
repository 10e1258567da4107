"""In Chromium, under the Content-Security-Policy: a customer whose name and message are HTML
shows as text and runs nothing; the live panels keep polling without eval, and stop while the
tab is hidden. (Every browser test fails on a CSP violation: see conftest.py.)"""

import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop import services as desktop
from agent_desktop.models import Contact, Message
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NAME = "<img src=x onerror=alert('name')>"
TEXT = "<script>alert('text')</script><b onmouseover=alert('bold')>hover</b>"


def test_hostile_text_shows_as_text_and_polling_pauses_in_a_hidden_tab(
    page, live_server, entry_point, agent, counts
):
    contact = Contact.objects.create(
        entry_point=entry_point,
        external_id="6512345678901234",
        first_name=NAME,
        last_message_at=timezone.now(),
        last_inbound_at=timezone.now(),
        last_message_preview=TEXT,
        unread_count=1,
    )
    Message.objects.create(
        contact=contact, direction="in", text=TEXT, mid="m_xss_1", sent_at=timezone.now()
    )
    dialogs, polls = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda r: polls.append(r.url) if "/desktop/list/" in r.url else None)

    page.goto("/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    response = page.goto(f"/desktop/contacts/{contact.pk}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_test_id("contact-row").first).to_contain_text(NAME)
    expect(page.get_by_test_id("messages")).to_contain_text(TEXT)
    page.get_by_text("hover").first.hover()

    # Live: a new message shows up through htmx's polling (no eval needed).
    desktop.record_inbound(
        contact=contact,
        incoming=desktop.IncomingMessage(sent_at=timezone.now(), text="second", mid="m_xss_2"),
    )
    expect(page.get_by_test_id("messages")).to_contain_text("second", timeout=8_000)

    # A hidden tab polls nothing; visible again, it polls again.
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true})"
    )
    time.sleep(0.5)
    before = len(polls)
    time.sleep(3.5)
    while_hidden = len(polls) - before
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true})"
    )
    page.wait_for_timeout(3_500)
    after_visible = len(polls) - before - while_hidden

    assert dialogs == []
    assert while_hidden == 0
    assert after_visible >= 1
    counts(
        "in Chromium",
        scripts_run_from_hostile_text=len(dialogs),
        polls_while_hidden=while_hidden,
        polls_once_visible_again=after_visible,
    )
