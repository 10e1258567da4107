"""Only conversations reach the queue: receipts, opt-ins, handovers and reactions of a customer
never seen make no contact (the delivery keeps them, as ignored, with the reason); they apply
to a contact once there is one. Replays the recorded payloads of tests/fixtures/messenger."""

import pytest

from agent_desktop.models import Contact, Message
from messenger.services import NO_CONVERSATION_YET
from tests.messenger.conftest import PSID

# Receipts (17, 18, 19), opt-ins (25, 26), reactions (27, 28) and handovers (30, 31).
NOT_A_CONVERSATION = ["17", "18", "19", "25", "26", "27", "28", "30", "31"]


@pytest.mark.parametrize("name", NOT_A_CONVERSATION)
def test_an_event_of_a_customer_never_seen_makes_no_contact(deliver, payload, name):
    delivery = deliver(payload(name))
    assert delivery.status == "ignored"
    assert NO_CONVERSATION_YET in delivery.last_error
    assert delivery.event_kinds  # what it was stays visible in the delivery log
    assert Contact.objects.count() == 0 and Message.objects.count() == 0


def test_all_of_them_twice_then_a_message_makes_one_contact_with_one_message(deliver, payload):
    for name in NOT_A_CONVERSATION * 2:
        deliver(payload(name))
    assert Contact.objects.count() == 0
    assert deliver(payload("01")).status == "processed"
    (contact,) = Contact.objects.all()
    assert contact.external_id == PSID
    assert list(contact.messages.values_list("kind", flat=True)) == ["text"]


def test_once_the_customer_wrote_the_same_events_apply_to_their_contact(deliver, payload):
    deliver(payload("14"))  # our message, echoed: a conversation exists
    for name in ("17", "19", "25", "27", "31"):
        assert deliver(payload(name)).status == "processed", name
    contact = Contact.objects.get()
    assert contact.messages.get(direction="out").status == "read"
    kinds = sorted(contact.messages.filter(direction="in").values_list("kind", flat=True))
    assert kinds == ["handover", "optin", "reaction"]
    assert contact.channel_details["answered_elsewhere"] is True  # 31: another app took the thread


def test_a_postback_or_a_referral_starts_a_conversation(deliver, payload):
    for name in ("20", "22"):
        assert deliver(payload(name)).status == "processed"
    assert Contact.objects.get().last_message_at is not None
