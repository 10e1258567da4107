"""In Chromium, under the Content-Security-Policy: a customer whose name and message are HTML
shows as text and runs nothing; the live panels keep polling without eval, and stop while the
tab is hidden. (Every browser test fails on a CSP violation: see conftest.py.)"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop import services as desktop
from agent_desktop.models import Contact, Message
from tests.conftest import PASSWORD
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Counts the live panels' polls in the page: `due` when htmx asks to confirm one (static/js/app.js
# cancels it in a hidden tab), `sent` when its request really starts (in the same task).
COUNT_POLLS = """() => {
  for (const [event, key] of [["htmx:confirm", "due"], ["htmx:beforeRequest", "sent"]]) {
    document.addEventListener(event, (e) => {
      if (e.detail.elt.hasAttribute("data-poll")) window.polls[key] += 1;
    });
  }
}"""
# The tab hidden or shown again, and the counts started afresh, in one go.
SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
  window.polls = {due: 0, sent: 0};
}"""
NAME = "<img src=x onerror=alert('name')>"
TEXT = "<script>alert('text')</script><b onmouseover=alert('bold')>hover</b>"


def test_hostile_text_shows_as_text_and_polling_pauses_in_a_hidden_tab(
    page, live_server, entry_point, agent, counts
):
    contact = Contact.objects.create(
        channel="messenger",
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
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

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

    # A hidden tab polls nothing: polls come due (htmx asks to confirm them) and none is sent.
    # Counted in the page, in the order things happen there, so no wait has to be guessed.
    page.evaluate(COUNT_POLLS)
    page.evaluate(SET_VISIBILITY, "hidden")
    wait_until(lambda: page.evaluate("window.polls.due") >= 4, message="4 polls due, hidden")
    while_hidden = page.evaluate("({...window.polls})")
    # Visible again, it polls again.
    page.evaluate(SET_VISIBILITY, "visible")
    wait_until(lambda: page.evaluate("window.polls.sent") >= 1, message="a poll, visible again")
    once_visible = page.evaluate("window.polls.sent")

    assert dialogs == []
    assert while_hidden["sent"] == 0
    counts(
        "in Chromium",
        scripts_run_from_hostile_text=len(dialogs),
        polls_due_while_hidden=while_hidden["due"],
        polls_sent_while_hidden=while_hidden["sent"],
        polls_sent_once_visible_again=once_visible,
    )
