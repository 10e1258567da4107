"""A team's tools in a real browser: a text search hit highlighted, a label put on and filtered
by, a private note with a mention that the mentioned agent is notified of, and a canned reply
with a placeholder inserted by typing "/" (keyboard only). axe-core checks each state."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import CannedResponse, Contact, Label, Message, Note
from tests.browser.conftest import log_in as log_in_with_the_form
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    log_in_with_the_form(page, username)
    expect(page.get_by_role("heading", name="Agent desktop", exact=True)).to_be_visible()


def customer(entry_point, psid, first_name, last_name, text, minutes_ago):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=entry_point,
        external_id=psid,
        first_name=first_name,
        last_name=last_name,
        last_message_at=when,
        last_inbound_at=when,
        last_message_preview=text,
        profile_fetched_at=when,
    )
    Message.objects.create(
        contact=contact, direction="in", text=text, mid=f"m_{psid}", sent_at=when
    )
    return contact


def test_an_agent_searches_labels_notes_with_a_mention_and_inserts_a_canned_reply(
    page,
    chromium,
    live_server,
    connected_page,
    fake_graph,
    campaign,
    agent,
    assert_accessible,
    screenshot,
):
    colleague = User.objects.create_user("sam", password=PASSWORD, first_name="Sam")
    campaign.agents.add(colleague)
    Label.objects.create(name="vip", color="purple")
    Label.objects.create(name="refund", color="red")
    CannedResponse.objects.create(
        shortcut="hello", text="Hi {{first_name}}, this is {{agent_name}}. How can I help?"
    )
    CannedResponse.objects.create(shortcut="shipping", text="It ships today.", campaign=campaign)
    entry_point = connected_page.entry_point
    maria = customer(
        entry_point,
        "6500000000000001",
        "Maria",
        "Schmidt",
        "Hi! Where is my order #4521? It was due Monday.",
        30,
    )
    Message.objects.create(
        contact=maria,
        direction="in",
        text="Hello?",
        mid="m_later",
        sent_at=timezone.now() - timedelta(minutes=2),
    )
    customer(entry_point, "6500000000000002", "Lena", "Vogel", "Do you ship to Austria?", 5)

    log_in(page, agent.username)

    # Search: message text finds Maria (not Lena), and the row shows the hit.
    page.get_by_label("Search names and messages").fill("order")
    page.get_by_label("Search names and messages").press("Enter")
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Maria Schmidt")
    expect(rows.first.get_by_test_id("search-snippet").locator("mark")).to_have_text("order")
    assert_accessible(page, "desktop, search results")
    screenshot(page, "40_search_hit_in_list")

    rows.first.click()
    hit = page.get_by_test_id("message").locator("mark")
    expect(hit).to_have_text("order")
    expect(hit).to_be_visible()
    assert_accessible(page, "conversation with the search hit")
    screenshot(page, "41_search_hit_in_conversation")

    # Labels: put "vip" on Maria, see it in the header and the row, filter the list by it.
    info = page.locator("#customer-info")
    info.get_by_label("vip").check()
    info.get_by_role("button", name="Save labels").click()
    expect(page.locator("#conversation-header").get_by_test_id("labels")).to_have_text("vip")
    page.goto("/desktop/")
    page.get_by_label("Only contacts labelled").select_option("vip")
    expect(page).to_have_url(re.compile(r"label=vip"))
    expect(page.get_by_test_id("contact-row")).to_have_count(1)
    expect(page.get_by_test_id("contact-row").first).to_contain_text("Maria Schmidt")
    expect(page.get_by_test_id("contact-row").first.get_by_test_id("labels")).to_have_text("vip")
    assert_accessible(page, "desktop filtered by a label")
    screenshot(page, "42_label_filter")

    # A private note mentioning Sam: shown apart, never sent.
    page.get_by_test_id("contact-row").first.click()
    page.get_by_role("radio", name="Private note").check()
    note_box = page.get_by_label("Private note about Maria Schmidt")
    expect(note_box).to_be_focused()
    # "@" lists the colleagues who can be mentioned; Enter puts the chosen one in.
    note_box.press_sequentially("@s")
    mentions = page.get_by_role("listbox", name="Colleagues to mention")
    expect(mentions.get_by_role("option")).to_have_count(1)
    expect(mentions.get_by_role("option", selected=True)).to_contain_text("@sam")
    assert_accessible(page, "mention list open")
    screenshot(page, "43_mention_list_open")
    note_box.press("Enter")
    expect(note_box).to_have_value("@sam ")
    note_box.press_sequentially("can you check the refund for #4521?")
    expect(page.get_by_role("button", name="Send")).to_be_hidden()
    assert_accessible(page, "composer in note mode")
    screenshot(page, "43_composer_note_mode")
    page.get_by_role("button", name="Add note").click()
    note = page.get_by_test_id("note")
    expect(note).to_contain_text("@sam can you check the refund for #4521?")
    expect(note).to_contain_text("notified @sam")
    expect(note).to_contain_text("only your team sees this")
    assert Note.objects.get().mentions.get() == colleague
    assert not Message.objects.filter(direction="out").exists()
    assert fake_graph.sent_messages() == []
    assert_accessible(page, "conversation with a note")
    screenshot(page, "44_note_in_conversation")
    for width, height in ((390, 844), (768, 1024)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"44_note_in_conversation_{width}")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sam, in his own browser, is told of the mention.
    sams = chromium.new_context(base_url=live_server.url)
    try:
        sam_page = sams.new_page()
        log_in(sam_page, "sam")
        unread = sam_page.request.get("/api/notifications/?unread=1").json()["results"]
        assert [(n["kind"], n["contact"], n["note_text"]) for n in unread] == [
            ("mention", maria.pk, "@sam can you check the refund for #4521?")
        ]
    finally:
        sams.close()

    # A canned reply by keyboard: "/" lists them, typing narrows, arrows choose, Enter inserts.
    page.get_by_role("radio", name="Reply").check()
    reply = page.get_by_label("Reply to Maria Schmidt")
    reply.press_sequentially("/")
    listbox = page.get_by_role("listbox", name="Canned replies")
    expect(listbox.get_by_role("option")).to_have_count(2)
    assert_accessible(page, "canned replies list open")
    screenshot(page, "45_canned_list_open")
    reply.press("Escape")
    expect(listbox).to_be_hidden()
    reply.press_sequentially("sh")  # "/sh"
    expect(listbox.get_by_role("option")).to_have_count(1)
    reply.press("Backspace")
    reply.press("Backspace")  # "/" again: both
    expect(listbox.get_by_role("option")).to_have_count(2)
    expect(listbox.get_by_role("option", selected=True)).to_contain_text("/hello")
    reply.press("ArrowDown")
    expect(listbox.get_by_role("option", selected=True)).to_contain_text("/shipping")
    reply.press("ArrowUp")
    reply.press("Enter")
    expect(listbox).to_be_hidden()
    expect(reply).to_have_value("Hi Maria, this is Alex. How can I help?")
    assert not Message.objects.filter(direction="out").exists()  # Enter inserted, not sent
    screenshot(page, "46_canned_reply_inserted")


def test_an_admin_manages_canned_replies_and_labels_in_the_builders_style(
    page, admin_user, campaign, assert_accessible, screenshot
):
    page.goto("/login/")
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Canned replies").click()
    expect(page.get_by_role("heading", name="No canned replies yet")).to_be_visible()
    assert_accessible(page, "canned replies, empty")
    page.get_by_role("button", name="Add canned reply").click()  # nothing filled in
    expect(page.locator("#id_shortcut_error")).to_be_visible()
    assert_accessible(page, "canned replies, form errors")
    page.get_by_label("Shortcut").fill("thanks")
    page.get_by_label("Text").fill("Thank you {{first_name}}!")
    page.get_by_label("Campaign").select_option(label="Spring sale")
    page.get_by_role("button", name="Add canned reply").click()
    expect(page.get_by_text("Canned reply /thanks saved.")).to_be_visible()
    table = page.get_by_test_id("canned-table")
    expect(table).to_contain_text("Thank you {{first_name}}!")
    expect(table).to_contain_text("Spring sale")
    page.get_by_role("link", name="Edit /thanks").click()
    page.get_by_label("Campaign").select_option(label="All campaigns")
    page.get_by_role("button", name="Save").click()
    expect(table).to_contain_text("All campaigns")
    assert_accessible(page, "canned replies, listed")
    screenshot(page, "47_canned_replies_page")
    assert CannedResponse.objects.get().campaign is None

    page.get_by_role("link", name="Labels").click()
    page.get_by_label("Name").fill("vip")
    page.get_by_label("Color").select_option("purple")
    page.get_by_role("button", name="Add label").click()
    expect(page.get_by_test_id("label-table")).to_contain_text("vip")
    assert_accessible(page, "labels, listed")
    screenshot(page, "48_labels_page")
    page.get_by_role("button", name="Delete label vip").click()
    expect(page.get_by_role("heading", name="No labels yet")).to_be_visible()
    assert not Label.objects.exists()
