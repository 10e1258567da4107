"""What tells an agent something happened: the centre's empty state and the tab counts follow the
live list, flash messages float over the desktop, and opted-in agents get a browser
notification (and a sound) while the tab is in the background, never while it has focus.

On the real stack: signed webhook posts to the running app, a real Celery worker. The browser's
Notification API is replaced by a recorder (the browser's API, not ours)."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import expect

from agent_desktop.models import Contact
from agent_desktop.notes import note_create
from messenger.sandbox.facebook_webhooks import page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.browser.conftest import log_in
from tests.conftest import PAGE, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARIA, JONAS = "6512345678900001", "6512345678900002"

RECORD_NOTIFICATIONS = """(() => {
  const Browser = window.Notification;
  const shown = (window.__notifications = []);
  window.__sounds = 0;
  function Recorder(title, options) {
    shown.push({ title, ...options });
    window.__lastNotification = this;
    this.close = () => {};
  }
  Object.defineProperty(Recorder, "permission", { get: () => Browser.permission });
  Recorder.requestPermission = (...args) => Browser.requestPermission(...args);
  window.Notification = Recorder;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () { window.__sounds += 1; return play.call(this); };
})();"""
TO_BACKGROUND = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  document.hasFocus = () => false;
  document.dispatchEvent(new Event("visibilitychange"));
}"""
TO_FOREGROUND = """() => {
  delete document.visibilityState; delete document.hidden; delete document.hasFocus;
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def customer_writes(live_server, connected_page, psid, text):
    body = page_body(PAGE["page_id"], text_item(PAGE["page_id"], psid, text))
    response = post_signed(live_server.url + webhook_path(connected_page), body, PAGE["app_secret"])
    assert response.status_code == 200


def notifications(page):
    return page.evaluate("window.__notifications")


def tab_count(page, label):
    tab = page.get_by_test_id("filter-tabs").get_by_role("link", name=label)
    return tab.get_by_test_id("tab-unread")


def test_an_opted_in_agent_is_notified_in_the_background_and_not_while_focused(
    page,
    live_server,
    connected_page,
    agent,
    fake_graph,
    start_worker,
    screenshot,
    assert_accessible,
):
    fake_graph.add_profile(MARIA, first_name="Maria", last_name="Schmidt")
    fake_graph.add_profile(JONAS, first_name="Jonas", last_name="Berg")
    start_worker()
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    errors = []  # htmx reports a failed out-of-band swap as a console error
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:home"))
    centre = page.get_by_test_id("conversation-empty")
    expect(centre).to_contain_text("No contacts here yet")

    toggle = page.get_by_role("button", name="Notifications")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-notify-status]")).to_contain_text("Notifications on")
    sound = page.locator("[data-notify-toggle]").get_attribute("data-sound")
    wav = page.request.get(sound)
    assert wav.ok and wav.body()[:4] == b"RIFF" and wav.body()[8:12] == b"WAVE"
    assert_accessible(page, "desktop with notifications on")

    # In the background: the first customer raises one notification (and the sound).
    page.evaluate(TO_BACKGROUND)
    customer_writes(live_server, connected_page, MARIA, "Hi! Where is my order #4521?")
    page.wait_for_function("() => window.__notifications.length === 1", polling=200, timeout=20_000)
    (first,) = notifications(page)
    assert first["title"].endswith("is waiting")
    assert first["tag"].startswith(f"message:{Contact.objects.get(external_id=MARIA).pk}:")
    assert page.evaluate("window.__sounds") == 1

    # Back in front: the centre no longer says the queue is empty, and the tabs count it.
    page.evaluate(TO_FOREGROUND)
    expect(centre).to_contain_text("Pick a contact to open the conversation")
    expect(tab_count(page, "All open")).to_have_text("1 with unread messages")
    expect(tab_count(page, "Unassigned")).to_have_text("1 with unread messages")
    expect(tab_count(page, "Mine")).to_have_count(0)
    screenshot(page, "signals_1_first_contact")
    assert_accessible(page, "desktop after the first contact, with tab counts")

    # While the tab has focus nothing is raised, though the list shows the new customer.
    customer_writes(live_server, connected_page, JONAS, "Hello there")
    expect(page.get_by_test_id("contact-row")).to_have_count(2, timeout=10_000)
    expect(tab_count(page, "Unassigned")).to_have_text("2 with unread messages")
    assert len(notifications(page)) == 1

    # A message in a conversation the agent holds, in the background: "New message from …".
    page.get_by_test_id("contact-row").filter(has_text="Maria").click()
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Assigned to you")).to_be_visible()
    page.evaluate(TO_BACKGROUND)  # (a new page: its recorder starts empty)
    customer_writes(live_server, connected_page, MARIA, "Any news?")
    page.wait_for_function("() => window.__notifications.length === 1", polling=200, timeout=20_000)
    assert notifications(page)[0]["title"] == "New message from Maria Schmidt"
    assert page.evaluate("window.__sounds") == 1
    page.evaluate(TO_FOREGROUND)
    expect(tab_count(page, "Mine")).to_have_text("1 with unread messages")

    # Clicking a notification opens that customer's conversation.
    page.evaluate(TO_BACKGROUND)
    customer_writes(live_server, connected_page, JONAS, "Still there?")
    page.wait_for_function("() => window.__notifications.length === 2", polling=200, timeout=20_000)
    assert notifications(page)[1]["title"] == "Jonas Berg is waiting"
    page.evaluate("() => window.__lastNotification.onclick()")
    jonas = Contact.objects.get(external_id=JONAS)
    expect(page).to_have_url(live_server.url + reverse("agent_desktop:contact", args=[jonas.pk]))
    expect(page.get_by_test_id("conversation-name")).to_contain_text("Jonas Berg")
    assert errors == []


def test_without_opting_in_no_notification_is_raised(
    page, live_server, connected_page, agent, start_worker
):
    start_worker()
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:home"))
    expect(page.get_by_role("button", name="Notifications")).to_have_attribute(
        "aria-pressed", "false"
    )
    page.evaluate("() => { document.hasFocus = () => false; }")  # in front but not focused
    customer_writes(live_server, connected_page, MARIA, "Hello?")
    expect(page.get_by_test_id("contact-row")).to_have_count(1, timeout=10_000)
    assert notifications(page) == []


def test_the_open_conversation_stays_marked_when_the_list_refreshes(
    page, live_server, connected_page, agent, fake_graph, start_worker
):
    fake_graph.add_profile(MARIA, first_name="Maria", last_name="Schmidt")
    fake_graph.add_profile(JONAS, first_name="Jonas", last_name="Berg")
    start_worker()
    customer_writes(live_server, connected_page, MARIA, "Hi! Where is my order?")
    log_in(page, agent.username)
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(1, timeout=20_000)
    rows.first.click()
    expect(page.get_by_test_id("conversation-name")).to_contain_text("Maria")

    customer_writes(live_server, connected_page, JONAS, "Hello there")  # the list is redrawn
    expect(rows).to_have_count(2, timeout=20_000)
    expect(rows.filter(has_text="Maria")).to_have_attribute("aria-current", "true")
    expect(rows.filter(has_text="Jonas")).not_to_have_attribute("aria-current", "true")
    # "k" moves up from the open conversation (Jonas wrote last: his row is on top).
    expect(rows.first).to_contain_text("Jonas")
    page.keyboard.press("k")
    expect(page.get_by_test_id("conversation-name")).to_contain_text("Jonas")


def test_a_mention_in_a_colleagues_note_is_notified_in_the_background(
    page, live_server, connected_page, agent, campaign
):
    colleague = User.objects.create_user("sam", password=PASSWORD, first_name="Sam")
    campaign.agents.add(colleague)
    maria = Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id=MARIA,
        first_name="Maria",
    )
    note_create(contact=maria, author=colleague, text=f"@{agent.username} before you open it")
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:home"))
    page.get_by_role("button", name="Notifications").click()
    expect(page.locator("[data-notify-status]")).to_contain_text("mentions")
    page.evaluate(TO_BACKGROUND)

    note_create(contact=maria, author=colleague, text=f"@{agent.username} can you take this one?")
    page.wait_for_function("() => window.__notifications.length === 1", polling=200, timeout=20_000)
    (told,) = notifications(page)  # the mention from before the page opened is not told again
    assert told["title"] == "Sam mentioned you"
    assert told["body"] == f"About Maria: @{agent.username} can you take this one?"
    assert page.evaluate("window.__sounds") == 1
    page.evaluate("() => window.__lastNotification.onclick()")
    expect(page).to_have_url(live_server.url + reverse("agent_desktop:contact", args=[maria.pk]))


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 900)])
def test_flash_messages_float_over_the_desktop_and_can_be_dismissed(
    page, width, height, live_server, connected_page, agent, screenshot, assert_accessible
):
    page.set_viewport_size({"width": width, "height": height})
    customer_writes(live_server, connected_page, MARIA, "Hi")  # stored; no worker needed here
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id=JONAS,
        first_name="Jonas",
    )
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:contact", args=[contact.pk]))
    if width < 1100:
        page.get_by_role("button", name="Customer info").click()
    page.get_by_role("button", name="Refresh profile").click()

    flash = page.get_by_test_id("flash-messages")
    expect(flash).to_have_attribute("role", "status")
    expect(flash).to_contain_text("Asking Facebook for the latest profile")
    # It takes no room: the desktop still ends at the bottom of the window, composer included.
    desktop = page.get_by_test_id("desktop").bounding_box()
    assert desktop["y"] + desktop["height"] <= height + 0.5
    composer = page.get_by_test_id("composer").bounding_box()
    assert composer["y"] + composer["height"] <= height + 0.5
    screenshot(page, f"signals_flash_{width}")
    assert_accessible(page, f"desktop with a flash message at {width}")

    dismiss = flash.get_by_role("button", name="Dismiss", exact=True)
    expect(dismiss).to_have_accessible_description("Asking Facebook for the latest profile…")
    dismiss.click()
    expect(flash).to_have_count(0)
