"""The composer and the customer's signals in the browser, through the sandbox on a real worker:
an image dropped and pasted (preview, remove), its upload refused once and sent again with
Retry, then seen in the simulator and Read on the desktop; "seen" and "typing…" reach the
customer's Messenger; the keyboard shortcuts and their dialog; reactions, an edit, an unsend,
a reply-to and a sticker shown on their messages."""

import base64

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from agent_desktop.models import Contact, Message
from messenger.models import FacebookPage
from messenger.sandbox import simulator
from messenger.sandbox.facebook_webhooks import new_mid, now_ms, page_body, post_signed
from messenger.setup import webhook_path
from tests.browser.conftest import customer_says, log_in
from tests.fixtures.files import image_bytes
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEIPT = base64.b64encode(image_bytes("PNG", size=(120, 80), color=(30, 140, 90))).decode()


@pytest.fixture(autouse=True)
def _patient_expectations():
    """Expectations wait for a worker's round trips (upload, send, webhook): on a loaded
    machine that takes longer than Playwright's 5 s default."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def drop_image(page, selector, name):
    """Drop a real PNG on an element, as a file dragged from the desktop would be."""
    page.evaluate(
        """([selector, data, name]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const files = new DataTransfer();
            files.items.add(new File([bytes], name, {type: "image/png"}));
            const target = document.querySelector(selector);
            target.dispatchEvent(new DragEvent("dragover", {bubbles: true, dataTransfer: files}));
            target.dispatchEvent(new DragEvent("drop", {bubbles: true, dataTransfer: files}));
        }""",
        [selector, RECEIPT, name],
    )


def paste_image(page, name):
    page.evaluate(
        """([data, name]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const clipboard = new DataTransfer();
            clipboard.items.add(new File([bytes], name, {type: "image/png"}));
            document.getElementById("reply-text").dispatchEvent(
                new ClipboardEvent(
                    "paste", {bubbles: true, cancelable: true, clipboardData: clipboard}));
        }""",
        [RECEIPT, name],
    )


def sandbox_actions(psid):
    return [a["action"] for a in simulator.sandbox_graph().sent_sender_actions(psid)]


def test_an_image_reply_is_dropped_pasted_retried_and_read_and_signals_show(
    chromium, live_server, demo, screenshot, assert_accessible
):
    admin = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    agent = chromium.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    try:
        admin_page, agent_page = admin.new_page(), agent.new_page()
        refused = []  # the Content-Security-Policy must never have to block the desktop
        agent_page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        admin_page.set_default_timeout(15_000)
        agent_page.set_default_timeout(15_000)
        log_in(admin_page, "demo-admin", demo["demo-admin"])
        customer_says(admin_page, "Jonas", "Just checking in")
        customer_says(admin_page, "Maria", "Can you send me the receipt?")
        maria = next(c for c in simulator.customers() if c.first_name == "Maria")

        log_in(agent_page, "demo-agent", demo["demo-agent"])
        rows = agent_page.get_by_test_id("contact-row")
        expect(rows).to_have_count(2)
        rows.filter(has_text="Maria").click()
        agent_page.get_by_role("button", name="Claim").click()
        expect(agent_page.locator("#conversation-header")).to_contain_text("Assigned to you")
        agent_page.wait_for_load_state()
        wait_until(lambda: "mark_seen" in sandbox_actions(maria.psid), message="mark_seen")

        # Keyboard: r focuses the composer, Esc leaves it, ? lists the shortcuts.
        agent_page.keyboard.press("r")
        expect(agent_page.get_by_label("Reply to Maria")).to_be_focused()
        agent_page.keyboard.press("Escape")
        agent_page.keyboard.press("?")
        dialog = agent_page.get_by_role("dialog", name="Keyboard shortcuts")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Next conversation")
        assert_accessible(agent_page, "desktop, shortcuts dialog open")
        screenshot(agent_page, "60_shortcuts_dialog")
        agent_page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        name = agent_page.get_by_test_id("conversation-name")
        # j goes to the row below the open one, k to the row above (each a page load); which of
        # the two customers is on top follows their messages' times.
        expect(rows.filter(has_text="Maria")).to_have_attribute("aria-current", "true")
        maria_on_top = "Maria" in rows.first.inner_text()
        agent_page.keyboard.press("j" if maria_on_top else "k")
        expect(name).to_contain_text("Jonas")
        agent_page.wait_for_load_state()
        agent_page.keyboard.press("k" if maria_on_top else "j")
        expect(name).to_contain_text("Maria")
        agent_page.wait_for_load_state()

        # Typing shows "typing…" to the customer.
        agent_page.get_by_label("Reply to Maria").press_sequentially("Here it is")
        wait_until(lambda: "typing_on" in sandbox_actions(maria.psid), message="typing_on")
        agent_page.get_by_label("Reply to Maria").fill("")

        # Dropped: previewed, then removed; pasted: previewed and sent.
        preview = agent_page.get_by_test_id("attachment-preview")
        drop_image(agent_page, "form.composer", "dropped.png")
        expect(preview).to_be_visible()
        expect(preview.get_by_role("img", name="Preview of dropped.png")).to_be_visible()
        agent_page.get_by_role("button", name="Remove file").click()
        expect(preview).to_be_hidden()
        assert (
            agent_page.eval_on_selector("form.composer input[type=file]", "i => i.files.length")
            == 0
        )
        paste_image(agent_page, "receipt.png")
        expect(preview.get_by_role("img", name="Preview of receipt.png")).to_be_visible()
        # The preview is the image itself (its green), decoded in the page.
        pixel = agent_page.eval_on_selector(
            "[data-attachment-preview] canvas",
            "c => [...c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data]",
        )
        assert pixel == [30, 140, 90, 255]
        assert_accessible(agent_page, "composer with an image to send")
        screenshot(agent_page, "61_composer_image_preview")

        # The first upload is refused: the reply fails and shows Retry.
        simulator.sandbox_graph().fail_next(
            "100_2018109_attachment_too_large", path_contains="/message_attachments"
        )
        agent_page.get_by_role("button", name="Send", exact=True).click()
        failed = agent_page.get_by_test_id("message").filter(has=agent_page.get_by_test_id("retry"))
        expect(failed.get_by_test_id("message-status")).to_have_text("⚠ Not sent")
        assert_accessible(agent_page, "a failed reply with Retry")
        screenshot(agent_page, "62_failed_reply_retry")
        failed.get_by_role("button", name="Retry").click()

        # Sent once, shown to the customer, read.
        reply = agent_page.get_by_test_id("message").filter(
            has=agent_page.get_by_role("img", name="Image sent: receipt.png")
        )
        admin_page.goto(
            f"/sandbox/simulator/{Contact.objects.get(external_id=maria.psid).entry_point_id}/{maria.psid}/"
        )
        image = admin_page.get_by_test_id("sim-reply-image")
        expect(image).to_be_visible()
        assert (
            admin_page.eval_on_selector("[data-testid=sim-reply-image]", "i => i.naturalWidth")
            == 120
        )
        expect(reply.get_by_test_id("message-status")).to_have_text("✓✓ Read")
        screenshot(admin_page, "63_simulator_image_reply")
        sent = simulator.sandbox_graph().sent_messages(maria.psid)
        assert [s["message"]["attachment"]["type"] for s in sent] == ["image"]  # once
        assert len(simulator.sandbox_graph().uploaded_attachments()) == 1

        # The customer reacts to it, edits and unsends messages, replies to it, sends a sticker.
        signals_from(maria.psid, Message.objects.get(upload__startswith="outgoing/").mid)
        expect(reply.get_by_test_id("reactions")).to_contain_text("❤️")
        first = agent_page.get_by_test_id("message").filter(
            has_text="Can you send me the receipt, please?"
        )
        expect(first.get_by_test_id("edited-mark")).to_be_visible()
        expect(agent_page.get_by_test_id("message-removed")).to_have_count(1)
        expect(agent_page.get_by_text("Sorry, wrong chat")).to_have_count(0)
        quoted = agent_page.get_by_test_id("message").filter(has_text="Thanks, got it!")
        expect(quoted.get_by_test_id("reply-quote")).to_contain_text("[image]")
        expect(agent_page.get_by_test_id("sticker")).to_be_visible()
        assert_accessible(agent_page, "conversation with reactions, an edit, an unsend, a quote")
        screenshot(agent_page, "64_customer_signals")
        for width, height in ((768, 1024), (390, 844)):  # to be looked at (layout: issue 12/10)
            agent_page.set_viewport_size({"width": width, "height": height})
            assert_accessible(agent_page, f"customer signals at {width} px")
            screenshot(agent_page, f"65_customer_signals_{width}")
        assert refused == []
    finally:
        admin.close()
        agent.close()


def signals_from(psid, reply_mid):
    """Post, signed, what Messenger sends when the customer reacts, edits, unsends, replies to
    a message and sends a sticker; the worker applies it."""
    page = FacebookPage.objects.get(page_id__isnull=False, entry_point__contacts__external_id=psid)
    url = f"{django_settings.GRAPH_API_URL.split('/sandbox/')[0]}{webhook_path(page)}"
    first = Message.objects.get(contact__external_id=psid, text="Can you send me the receipt?")
    base = {"sender": {"id": psid}, "recipient": {"id": page.page_id}}
    wrong, sticker_url = new_mid(), simulator.sandbox_graph().profile_pic_url(psid)
    items = [
        {**base, "timestamp": now_ms(), "message": {"mid": wrong, "text": "Sorry, wrong chat"}},
        {**base, "timestamp": now_ms() + 1, "message": {"mid": wrong, "is_deleted": True}},
        {
            **base,
            "timestamp": now_ms() + 2,
            "message_edit": {
                "mid": first.mid,
                "text": "Can you send me the receipt, please?",
                "num_edit": 1,
            },
        },
        {
            **base,
            "timestamp": now_ms() + 3,
            "reaction": {"mid": reply_mid, "action": "react", "reaction": "love", "emoji": "❤️"},
        },
        {
            **base,
            "timestamp": now_ms() + 4,
            "message": {
                "mid": new_mid(),
                "text": "Thanks, got it!",
                "reply_to": {"mid": reply_mid},
            },
        },
        {
            **base,
            "timestamp": now_ms() + 5,
            "message": {
                "mid": new_mid(),
                "sticker_id": 369239263222822,
                "attachments": [
                    {
                        "type": "image",
                        "payload": {"url": sticker_url, "sticker_id": 369239263222822},
                    }
                ],
            },
        },
    ]
    for item in items:
        response = post_signed(url, page_body(page.page_id, item), page.app_secret)
        assert response.status_code == 200
