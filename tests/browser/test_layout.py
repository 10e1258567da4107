"""Every screen size: the desktop and the builder at phone (390), tablet (768) and desktop
(1366) widths. Screenshots go to test-artifacts/screenshots/layout_*.png to be looked at."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import Contact, Message
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.browser.conftest import log_in
from tests.conftest import PAGE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1366, 900)}
LONG_WORD = "https://example.com/orders/" + "x" * 120


WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter((el) => getComputedStyle(el).visibility !== "hidden")
  .slice(0, 5).map((el) => el.tagName.toLowerCase() + "." + [...el.classList].join("."))"""


def assert_no_horizontal_overflow(page, where):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where}: {overflow} px too wide: {page.evaluate(WIDER_THAN_THE_WINDOW)}"


def a_conversation(entry_point):
    now = timezone.now()
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=entry_point,
        external_id="6500000000000099",
        first_name="Maria",
        last_name="Schmidt-Oberhausen",
        locale="de_DE",
        timezone=1,
        last_message_at=now,
        last_inbound_at=now,
        last_message_preview="Where is my order?",
        unread_count=2,
    )
    lines = [
        ("in", "Hi! Where is my order #4521? It was due on Monday and nothing came."),
        ("out", "Hello Maria, let me check that for you right away."),
        ("in", f"Here is the tracking link: {LONG_WORD}"),
    ]
    for i, (direction, text) in enumerate(lines):
        Message.objects.create(
            contact=contact,
            direction=direction,
            text=text,
            mid=f"m_layout_{i}",
            status="read" if direction == "out" else "",
            sent_at=now - timedelta(minutes=len(lines) - i),
        )
    for i in range(6):  # enough rows to fill the list
        Contact.objects.create(
            channel="messenger",
            entry_point=entry_point,
            external_id=f"65000000000001{i:02d}",
            first_name=f"Customer{i}",
            last_message_at=now - timedelta(hours=i + 1),
            last_inbound_at=now - timedelta(hours=i + 1),
            last_message_preview="A rather long first message that has to be cut in the list",
        )
    return contact


def check_top_bar(page, name, screenshot, assert_accessible):
    menu_button = page.get_by_role("button", name="Menu")
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Agent desktop")
    if name == "desktop":
        expect(menu_button).to_be_hidden()
        expect(nav_link).to_be_visible()
        return
    expect(nav_link).to_be_hidden()
    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, f"layout_{page.viewport_size['width']}_1_menu_open")
    assert_no_horizontal_overflow(page, f"menu open at {name}")
    assert_accessible(page, f"top bar menu open at {name}")
    page.keyboard.press("Escape")
    expect(nav_link).to_be_hidden()
    expect(menu_button).to_be_focused()


@pytest.mark.parametrize("name", WIDTHS)
def test_the_desktop_works_at_every_width(
    page, name, agent, connected_page, screenshot, assert_accessible
):
    width, height = WIDTHS[name]
    page.set_viewport_size({"width": width, "height": height})
    contact = a_conversation(connected_page.entry_point)
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:home"))
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(7)
    assert_no_horizontal_overflow(page, f"list at {name}")
    screenshot(page, f"layout_{width}_1_list")
    assert_accessible(page, f"desktop list at {name}")
    check_top_bar(page, name, screenshot, assert_accessible)

    # Phone: one column, the list alone; elsewhere the list beside the empty conversation.
    empty_centre = page.get_by_test_id("conversation-empty")
    if name == "phone":
        expect(empty_centre).to_be_hidden()
    else:
        expect(empty_centre).to_contain_text("Pick a contact")

    rows.filter(has_text="Maria Schmidt-Oberhausen").click()
    expect(page.get_by_test_id("conversation-name")).to_contain_text("Maria")
    back = page.get_by_test_id("back-to-list")
    if name == "phone":
        expect(page.locator(".queue")).to_be_hidden()
        expect(back).to_be_visible()
        expect(page.get_by_test_id("conversation-name")).to_be_focused()
    else:
        expect(rows.first).to_be_visible()
        expect(back).to_be_hidden()
    assert_no_horizontal_overflow(page, f"conversation at {name}")

    # The composer is wide enough to write in, and Send is on screen.
    reply = page.get_by_label("Reply to Maria Schmidt-Oberhausen")
    box = reply.bounding_box()
    assert box["width"] >= min(300, width - 40), f"composer {box['width']} px wide at {width}"
    send = page.get_by_role("button", name="Send").bounding_box()
    assert send["x"] + send["width"] <= width and send["y"] + send["height"] <= height
    # No message is clipped: every bubble ends inside the conversation pane.
    pane = page.get_by_test_id("messages-pane").bounding_box()
    for bubble in page.locator(".bubble").all():
        right = bubble.bounding_box()
        assert right["x"] + right["width"] <= pane["x"] + pane["width"] + 0.5
    screenshot(page, f"layout_{width}_2_conversation")
    assert_accessible(page, f"conversation at {name}")

    # Customer Info is reachable: beside the conversation on a desktop, from a button elsewhere.
    info = page.locator("#customer-info")
    info_button = page.get_by_test_id("info-button")
    if name == "desktop":
        expect(info).to_be_visible()
        expect(info_button).to_be_hidden()
    else:
        expect(info).to_be_hidden()
        info_button.click()
        expect(info).to_be_visible()
        expect(info).to_contain_text(contact.external_id)
        expect(info_button).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#info-title")).to_be_focused()
        assert_no_horizontal_overflow(page, f"Customer Info at {name}")
        # It survives the live poll replacing the panel and the header.
        page.wait_for_timeout(1600)
        expect(info).to_be_visible()
        screenshot(page, f"layout_{width}_3_customer_info")
        assert_accessible(page, f"Customer Info open at {name}")
        page.keyboard.press("Escape")
        expect(info).to_be_hidden()
        expect(info_button).to_be_focused()
        info_button.click()
        page.get_by_test_id("info-close").click()
        expect(info).to_be_hidden()

    if name == "phone":
        back.click()
        expect(rows.first).to_be_visible()
        expect(page.get_by_test_id("conversation-name")).to_have_count(0)


@pytest.mark.parametrize("name", WIDTHS)
def test_the_builder_pages_fit_every_width(
    page, name, admin_user, connected_page, live_server, screenshot, assert_accessible
):
    width, height = WIDTHS[name]
    page.set_viewport_size({"width": width, "height": height})
    entry_point = connected_page.entry_point
    body = page_body(PAGE["page_id"], text_item(PAGE["page_id"], "6500000000000007", "Hello"))
    response = post_signed(live_server.url + webhook_path(connected_page), body, PAGE["app_secret"])
    assert response.status_code == 200  # one delivery in the log
    delivery = WebhookDelivery.objects.get()
    log_in(page, admin_user.username)
    pages = {
        "campaigns": reverse("campaigns:list"),
        "campaign": entry_point.campaign.get_absolute_url(),
        "entry_point": entry_point.get_absolute_url(),
        "deliveries": reverse("messenger_builder:deliveries", args=[entry_point.pk]),
        "delivery": reverse("messenger_builder:delivery", args=[entry_point.pk, delivery.pk]),
        "campaign_form": reverse("campaigns:edit", args=[entry_point.campaign.pk]),
    }
    for label, url in pages.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        screenshot(page, f"layout_{width}_builder_{label}")
        assert_no_horizontal_overflow(page, f"{label} at {width} px")
        assert_accessible(page, f"{label} at {name}")
