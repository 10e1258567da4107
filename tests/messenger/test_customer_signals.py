"""Customer signals shown on the message they belong to: reactions, edits, unsends, the message
a reply quotes, stickers. Replays the recorded payloads (tests/fixtures/messenger); each event
twice and out of order gives what once and in order gives."""

import pytest
from django.urls import reverse

from agent_desktop import selectors, signals
from agent_desktop.models import Contact, Message
from messenger import events as ev
from tests.fixtures import messenger_payload
from tests.messenger.conftest import PSID

ORIGINAL = "Hi, I need help with my order #4521"
EDITED = "Hi, I need help with my order #4522"


def shown():
    return signals.shown(selectors.conversation(Contact.objects.get(external_id=PSID)))


def the_message(mid_prefix="m_kX3vQ9"):
    (message,) = [m for m in shown() if m.mid and m.mid.startswith(mid_prefix)]
    return message


def test_the_edit_and_unsend_shapes_parse():
    (edit,) = ev.parse_body(_load("34")).events
    assert isinstance(edit, ev.EditEvent)
    assert (edit.target_mid[:8], edit.text, edit.num_edit) == ("m_kX3vQ9", EDITED, 1)
    for name in ("35", "36"):
        (unsend,) = ev.parse_body(_load(name)).events
        assert isinstance(unsend, ev.UnsendEvent) and unsend.target_mid.startswith("m_kX3vQ9")


def _load(name):
    return messenger_payload(name)


# 20 (a button tap) opens the conversation first, so the edit can come before its message.
@pytest.mark.parametrize("order", [("20", "01", "34", "34"), ("20", "34", "01", "34")])
def test_an_edit_updates_the_text_and_keeps_the_original(deliver, payload, order):
    deliveries = [deliver(payload(name)) for name in order]
    message = the_message()
    assert (message.text, message.signals.edited_text) == (ORIGINAL, EDITED)
    assert message.signals.edit_count == 1
    assert [m.kind for m in shown()] == ["postback", "text"]  # the edit is no line of its own
    assert Message.objects.filter(kind="edit").count() == 1
    assert all(d.status == "processed" for d in deliveries)


def test_the_latest_edit_wins_whatever_order_they_come_in(deliver, payload):
    deliver(payload("01"))
    second = payload("34")
    edit = second["entry"][0]["messaging"][0]["message_edit"]
    edit["num_edit"], edit["text"] = 2, "Order #4523, sorry"
    second["entry"][0]["messaging"][0]["timestamp"] += 5000
    deliver(second)
    deliver(payload("34"))  # edit 1, late
    assert the_message().signals.edited_text == "Order #4523, sorry"


@pytest.mark.parametrize("name", ["35", "36"])
def test_an_unsent_message_is_shown_as_removed(deliver, payload, name):
    deliver(payload("01"))
    deliver(payload(name))
    deliver(payload(name))
    message = the_message()
    assert message.signals.unsent is True
    assert Message.objects.filter(kind="unsend").count() == 1
    assert Message.objects.get(mid=message.mid).text == ORIGINAL  # kept, not shown


def test_an_unsend_before_its_message_still_removes_it(deliver, payload):
    deliver(payload("20"))  # a conversation exists (a button tap)
    deliver(payload("35"))
    deliver(payload("01"))
    assert the_message().signals.unsent is True


def test_reactions_show_on_our_message_and_an_unreact_takes_them_back(deliver, payload):
    deliver(payload("14"))  # our reply (its echo), the message 27 and 28 react to
    deliver(payload("27"))
    deliver(payload("27"))
    (shown_reply,) = shown()
    assert shown_reply.signals.reactions == ["❤️"]
    deliver(payload("28"))  # unreact, later
    (shown_reply,) = shown()
    assert shown_reply.signals.reactions == []


def test_a_reaction_to_a_message_not_in_the_thread_stays_a_line(deliver, payload):
    deliver(payload("20"))
    deliver(payload("27"))
    assert [m.kind for m in shown()] == ["postback", "reaction"]


def test_a_reply_quotes_the_message_it_answers(deliver, payload):
    deliver(payload("01"))
    reply_to = payload("03")
    reply_to["entry"][0]["messaging"][0]["message"]["reply_to"]["mid"] = the_message().mid
    deliver(reply_to)
    answer = the_message("m_Rt6yU1")
    assert answer.quote.found and answer.quote.text == ORIGINAL


def test_a_reply_to_a_message_we_never_stored_says_so(deliver, payload):
    deliver(payload("03"))
    assert the_message("m_Rt6yU1").quote == signals.Quote("an earlier message", found=False)


def test_the_desktop_shows_every_signal_on_its_message(deliver, payload, admin_client):
    deliver(payload("01"))
    deliver(payload("34"))
    reply_to = payload("03")
    reply_to["entry"][0]["messaging"][0]["message"]["reply_to"]["mid"] = the_message().mid
    deliver(reply_to)
    sticker = payload("12")
    sticker["entry"][0]["messaging"][0]["message"]["mid"] = "m_sticker_1"
    deliver(sticker)
    contact = Contact.objects.get(external_id=PSID)
    page = admin_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert EDITED in page and 'data-testid="edited-mark"' in page
    assert "Original message" in page and ORIGINAL in page
    assert 'data-testid="reply-quote"' in page and f"↩ {EDITED}" in page
    assert 'class="sticker"' in page and 'alt="Sticker"' in page

    deliver(payload("35"))
    page = admin_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert "Message removed by the customer" in page
    assert ORIGINAL not in page and EDITED not in page  # the content is hidden
    assert "a removed message" in page  # and the reply's quote says so


def test_a_sticker_keeps_its_id_from_the_message(deliver, payload):
    body = payload("12")
    del body["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["sticker_id"]
    deliver(body)
    (attachment,) = Message.objects.get().attachments
    assert attachment["sticker_id"] == 369239263222822
    assert the_message().is_sticker
    assert Contact.objects.get().last_message_preview == "[sticker]"
