"""The campaign page lists every registered kind of entry point (campaigns.kinds): an Add form
for each, each entry point with its kind's badge and status line. With a second kind registered
beside Messenger's, an admin adds one with the keyboard alone and lands on its panel; the page is
axe-clean and fits at 390, 768 and 1366 px (screenshots in test-artifacts/screenshots/)."""

import pytest
from playwright.sync_api import expect

from campaigns import kinds
from campaigns.models import EntryPoint
from tests.browser.conftest import log_in
from tests.campaigns.test_kinds_layer import PIGEON

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (390, 768, 1366)


@pytest.fixture
def pigeon_kind(monkeypatch):
    monkeypatch.setitem(kinds._KINDS, PIGEON.name, PIGEON)  # the live server shares the process
    return PIGEON


def test_an_admin_adds_an_entry_point_of_a_second_kind_with_the_keyboard(
    page, admin_user, connected_page, pigeon_kind, assert_accessible, screenshot
):
    campaign = connected_page.entry_point.campaign
    log_in(page, admin_user.username)
    page.goto(campaign.get_absolute_url())
    statuses = page.get_by_test_id("entry-point-status")
    expect(statuses).to_have_count(1)
    # Messenger's status hook: the page it opens, and the webhook Facebook has not verified yet.
    expect(statuses.first).to_contain_text("Acme Support · page 112233445566778")
    expect(statuses.first).to_contain_text("Waiting for Facebook")
    expect(page.get_by_role("button", name="Add Facebook Page")).to_be_visible()
    expect(page.get_by_role("button", name="Add Carrier Pigeon")).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"campaign page with two kinds at {width} px", within="main")
        overflow = page.evaluate(
            "(() => { const main = document.querySelector('main');"
            " return main.scrollWidth - main.clientWidth; })()"
        )
        assert overflow <= 0, f"the campaign page is {overflow} px too wide at {width} px"
        screenshot(page, f"40_builder_kinds_campaign_{width}")

    # Keyboard only: from a kind's name box Tab reaches its own Add button; Enter in the
    # pigeon's box adds a pigeon loft, not a Facebook Page.
    page.get_by_label("Facebook Page name").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add Facebook Page")).to_be_focused()
    page.get_by_label("Carrier Pigeon name").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add Carrier Pigeon")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("Roof loft")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The loft of Roof loft (GET)")).to_be_visible()
    assert EntryPoint.objects.get(name="Roof loft").kind == "pigeon"

    page.goto(campaign.get_absolute_url())
    expect(page.get_by_test_id("entry-point-status")).to_have_count(2)
    expect(page.get_by_text("Three pigeons home")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 900})
    assert_accessible(page, "campaign page with a pigeon loft at 390 px", within="main")
    screenshot(page, "40_builder_kinds_listed_390")
