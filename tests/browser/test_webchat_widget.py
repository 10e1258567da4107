"""The widget's own behaviour on the sample shop (another origin, strict CSP), against the real
visitor API: messages keep the order they were written in and one that failed is sent again;
a closed panel shows an unread dot and opening it reads the reply; pictures go up and show, one
over the limit is refused before any upload; a token no longer valid starts a new visitor; a
closed chat shows no launcher."""

import io
import json
import re

import pytest
from django.test import Client
from PIL import Image
from playwright.sync_api import expect

from agent_desktop.models import Contact, Message
from campaigns.models import Campaign
from tests.browser import webchat_shop
from tests.browser.webchat_shop import LAUNCHER, WIDGET_HOST, visitor_context, watch
from tests.processes import wait_until
from webchat import services
from webchat.models import Visitor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop_server = webchat_shop.shop_server  # the fixture
TITLE = "Acme website chat"


@pytest.fixture
def shop(campaign, agent, shop_server):
    """The sample shop's origin, allowed by a website chat of the campaign (agent: Alex)."""
    chat = services.web_chat_entry_point_create(campaign=campaign, name=TITLE).web_chat
    origin = shop_server(chat.widget_key)
    chat.allowed_origins = [origin]
    chat.save(update_fields=["allowed_origins"])
    return type("Shop", (), {"origin": origin, "key": chat.widget_key})


@pytest.fixture
def visitor(chromium):
    context = visitor_context(chromium)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.seen = watch(page)
    yield page
    context.close()
    assert page.seen["violations"] == [] and page.seen["errors"] == []


def open_chat(page, shop, skip_intro=True):
    page.goto(shop.origin + "/")
    page.get_by_role("button", name=LAUNCHER).click()
    dialog = page.get_by_role("dialog", name=TITLE)
    if skip_intro:
        dialog.get_by_role("button", name="Skip").click()
    return dialog


def state_of(dialog, text):
    return dialog.locator(".msg.mine").filter(has_text=text).get_by_test_id("message-state")


def png_bytes():
    data = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 60, 40)).save(data, "PNG")
    return data.getvalue()


def test_messages_keep_their_order_and_one_that_failed_is_sent_again(visitor, shop):
    dialog = open_chat(visitor, shop)
    box = dialog.get_by_label("Your message")
    box.fill("Line one")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("line two")
    box.press("Enter")
    for text in ("second", "third", "fourth"):  # written faster than they are sent
        box.fill(text)
        box.press("Enter")
    expect(state_of(dialog, "fourth")).to_have_text("Sent")
    written = ["Line one\nline two", "second", "third", "fourth"]
    assert list(Message.objects.order_by("pk").values_list("text", flat=True)) == written

    visitor.context.set_offline(True)
    box.fill("Written offline")
    box.press("Enter")
    expect(state_of(dialog, "Written offline")).to_have_text("Not sent: no connection.")
    assert Message.objects.count() == 4
    visitor.context.set_offline(False)
    dialog.locator(".msg.failed").get_by_role("button", name="Retry").click()
    expect(state_of(dialog, "Written offline")).to_have_text("Sent")
    assert Message.objects.order_by("pk").last().text == "Written offline"
    assert Message.objects.count() == 5


def test_a_message_whose_answer_was_lost_is_stored_once_when_sent_again(visitor, shop):
    """The post reaches the server (the message is stored) but its answer never reaches the
    widget; Retry sends the same message id again, and the conversation holds it once."""
    dialog = open_chat(visitor, shop)
    lost = []

    def lose_the_answer(route):
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server stores it...
            lost.append(route.request.post_data_json["client_id"])
            route.abort("connectionreset")  # ...and the answer is lost on the way back
        else:
            route.continue_()

    visitor.route(re.compile(r".*/webchat/[^/]+/messages/$"), lose_the_answer)
    box = dialog.get_by_label("Your message")
    box.fill("Did you get this?")
    box.press("Enter")
    expect(state_of(dialog, "Did you get this?")).to_have_text("Not sent: no connection.")
    assert Message.objects.filter(text="Did you get this?").count() == 1  # stored all the same
    dialog.locator(".msg.failed").get_by_role("button", name="Retry").click()
    expect(state_of(dialog, "Did you get this?")).to_have_text("Sent")
    assert Message.objects.filter(text="Did you get this?").count() == 1
    assert Message.objects.get(text="Did you get this?").event_key.endswith(lost[0])
    expect(dialog.locator(".msg.mine").filter(has_text="Did you get this?")).to_have_count(1)


def test_a_reply_while_the_panel_is_closed_shows_a_dot_and_opening_reads_it(visitor, shop, agent):
    dialog = open_chat(visitor, shop)
    dialog.get_by_label("Your message").fill("Anyone there?")
    dialog.get_by_label("Your message").press("Enter")
    expect(state_of(dialog, "Anyone there?")).to_have_text("Sent")
    visitor.keyboard.press("Escape")
    expect(visitor.get_by_role("button", name=f"Chat: {TITLE}", exact=True)).to_be_visible()

    # The agent answers through the desktop's API, as the desk does.
    desk = Client()
    desk.force_login(agent)
    contact = Contact.objects.get(channel="webchat")
    answered = desk.post(
        f"/api/contacts/{contact.pk}/messages/",
        json.dumps({"text": "Yes, Alex here!"}),
        content_type="application/json",
    )
    assert answered.status_code == 201, answered.content
    # A closed panel polls every 10 s: the reply arrives as a dot on the launcher.
    unread = visitor.get_by_role("button", name=f"Chat: {TITLE} (new messages)", exact=True)
    expect(unread).to_be_visible(timeout=15_000)
    expect(unread.locator(".dot")).to_be_visible()
    reply = Message.objects.get(direction="out")
    assert reply.status == "delivered"  # fetched, not yet shown

    unread.click()
    expect(dialog.locator(".msg.theirs").filter(has_text="Yes, Alex here!")).to_be_visible()
    wait_until(lambda: Message.objects.get(pk=reply.pk).status == "read", timeout=10)
    expect(visitor.get_by_role("button", name=f"Chat: {TITLE}", exact=True)).to_be_visible()


def test_a_picture_goes_up_and_shows_and_one_over_the_limit_is_refused_first(
    visitor, shop, monkeypatch
):
    monkeypatch.setattr("webchat.limits.MAX_ATTACHMENT_BYTES", 4096)  # what config/ announces
    dialog = open_chat(visitor, shop)
    picker = visitor.locator(f"{WIDGET_HOST} input[type=file]")
    picker.set_input_files({"name": "kettle.png", "mimeType": "image/png", "buffer": png_bytes()})
    picture = dialog.locator(".msg.mine img")
    expect(picture).to_have_attribute("alt", "kettle.png")
    # Loaded from the app's origin under the shop's img-src, with its pixels.
    wait_until(lambda: picture.evaluate("img => img.complete && img.naturalWidth") == 40)
    stored = Message.objects.get()
    assert stored.upload and stored.attachments[0]["type"] == "image"

    posts_before = [a for a in visitor.seen["api"] if a[0] == "POST" and "/messages/" in a[1]]
    big = png_bytes() + b"\0" * 5000
    picker.set_input_files({"name": "huge.png", "mimeType": "image/png", "buffer": big})
    expect(dialog.get_by_role("alert")).to_have_text("This image is 5 KB: the limit is 4 KB.")
    posts_after = [a for a in visitor.seen["api"] if a[0] == "POST" and "/messages/" in a[1]]
    assert posts_after == posts_before
    assert Message.objects.count() == 1


def test_a_token_no_longer_valid_starts_a_new_visitor(visitor, shop):
    visitor.goto(shop.origin + "/")
    stored = json.dumps({"token": "not-a-token", "intro": True})
    visitor.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"campaign-builder-webchat:{shop.key}", stored],
    )
    with visitor.expect_response(lambda r: r.url.endswith("/session/")) as refused:
        visitor.reload()
    assert refused.value.status == 401
    dialog = open_chat(visitor, shop, skip_intro=False)  # asked once already: not again
    dialog.get_by_label("Your message").fill("Hello again")
    dialog.get_by_label("Your message").press("Enter")
    expect(state_of(dialog, "Hello again")).to_have_text("Sent")
    assert Visitor.objects.count() == 1
    token = visitor.evaluate(
        "(key) => JSON.parse(localStorage.getItem(key)).token",
        f"campaign-builder-webchat:{shop.key}",
    )
    assert token and token != "not-a-token"


def test_a_closed_chat_shows_no_launcher(visitor, shop):
    Campaign.objects.update(is_active=False)
    with visitor.expect_response(lambda r: r.url.endswith("/config/")) as config:
        visitor.goto(shop.origin + "/")
    assert config.value.status == 200 and config.value.json()["available"] is False
    expect(visitor.get_by_role("heading", name="Tools that last")).to_be_visible()
    expect(visitor.locator(WIDGET_HOST)).to_have_count(0)


def test_a_rate_limited_message_says_how_long_to_wait_and_goes_on_retry(visitor, shop, settings):
    settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR = 1
    dialog = open_chat(visitor, shop)
    box = dialog.get_by_label("Your message")
    box.fill("First")
    box.press("Enter")
    expect(state_of(dialog, "First")).to_have_text("Sent")
    box.fill("Second")
    box.press("Enter")
    # Retry-After is readable across origins: the visitor is told how long, in seconds.
    expect(state_of(dialog, "Second")).to_have_text(
        re.compile(r"^Not sent: too many messages, wait \d+ s\.$")
    )
    assert Message.objects.count() == 1
    settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR = 20
    dialog.locator(".msg.failed").get_by_role("button", name="Retry").click()
    expect(state_of(dialog, "Second")).to_have_text("Sent")
    assert list(Message.objects.order_by("pk").values_list("text", flat=True)) == [
        "First",
        "Second",
    ]
