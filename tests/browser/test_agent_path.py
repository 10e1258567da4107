"""The agent's path in a real browser, on the real stack: a signed webhook event posted to the
running app, a real Celery worker, the fake Graph API over HTTP."""

import pytest
from playwright.sync_api import expect

from agent_desktop.models import Message
from messenger.sandbox.facebook_webhooks import now_ms, page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.conftest import PAGE, PASSWORD
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PSID = "6512345678901234"


def post(live_server, page_obj, body):
    response = post_signed(live_server.url + webhook_path(page_obj), body, PAGE["app_secret"])
    assert response.status_code == 200


def test_a_new_customer_appears_live_and_the_agent_answers_through_the_send_api(
    page, live_server, connected_page, agent, fake_graph, start_worker, screenshot
):
    fake_graph.add_profile(
        PSID, first_name="Maria", last_name="Schmidt", locale="de_DE", timezone=1, gender="female"
    )
    start_worker()
    page.goto("/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Agent desktop", exact=True)).to_be_visible()
    screenshot(page, "10_desktop_empty")

    # A customer writes; the open page shows them without a reload.
    post(
        live_server,
        connected_page,
        page_body(
            PAGE["page_id"], text_item(PAGE["page_id"], PSID, "Hi! Where is my order #4521?")
        ),
    )
    row = page.get_by_test_id("contact-row").filter(has_text="Maria Schmidt")
    expect(row).to_be_visible(timeout=10_000)
    expect(row.get_by_title("Facebook Messenger")).to_be_visible()
    expect(row.locator("img.avatar")).to_be_visible()
    expect(page).to_have_title("(1) Agent desktop · Campaign Builder")
    screenshot(page, "11_desktop_new_contact")

    row.click()
    info = page.locator("#customer-info")
    expect(info).to_contain_text("Maria")
    expect(info).to_contain_text("Schmidt")
    expect(info).to_contain_text("de_DE")
    expect(info).to_contain_text("UTC+1")
    expect(info).to_contain_text("Female")
    expect(info).to_contain_text(PSID)
    expect(info.get_by_test_id("profile-picture")).to_be_visible()
    expect(page.get_by_test_id("reply-window")).to_contain_text("Reply window:")

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Assigned to you")).to_be_visible()
    page.get_by_label("Reply to Maria Schmidt").fill("Hello Maria, it ships today!")
    page.get_by_role("button", name="Send").click()
    outgoing = page.get_by_test_id("message").filter(has_text="Hello Maria, it ships today!")
    expect(outgoing.get_by_test_id("message-status")).to_have_text("✓ Sent", timeout=10_000)

    (sent,) = fake_graph.sent_messages(PSID)
    assert sent["messaging_type"] == "RESPONSE" and sent["tag"] is None
    assert sent["message"]["text"] == "Hello Maria, it ships today!"
    assert sent["psid"] == PSID
    stored = Message.objects.get(direction="out")
    assert stored.mid == sent["message_id"]

    # Facebook reports the delivery: the open page turns it to delivered.
    post(
        live_server,
        connected_page,
        page_body(
            PAGE["page_id"],
            {
                "sender": {"id": PSID},
                "recipient": {"id": PAGE["page_id"]},
                "delivery": {"mids": [sent["message_id"]], "watermark": now_ms()},
            },
        ),
    )
    expect(outgoing.get_by_test_id("message-status")).to_have_text("✓✓ Delivered", timeout=10_000)
    screenshot(page, "12_conversation_delivered")
    wait_until(lambda: Message.objects.get(direction="out").status == "delivered")
