"""The cycle table kept current through the desktop's real services: opened by the customer's
message, answered by the first human reply only, snoozes left out, closed, reopened; each step
once, however often an event is delivered or two agents act at once."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from agent_desktop import workflow
from agent_desktop.models import Contact, Message
from agent_desktop.services import (
    IncomingMessage,
    record_inbound,
    record_inbound_many,
    record_outbound_echo,
    reply_send,
)
from reports.models import ConversationCycle
from tests.reports.conftest import customer_writes

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def minutes(n):
    return T0 + timedelta(minutes=n)


def fresh(contact):
    contact.refresh_from_db()
    return contact


def only_cycle(contact):
    (cycle,) = ConversationCycle.objects.filter(contact=contact)
    return cycle


def test_the_customers_message_opens_a_cycle_once_however_often_it_is_delivered(
    clock, new_contact, campaign, entry_point
):
    contact = new_contact("6500000000000201")
    incoming = IncomingMessage(sent_at=minutes(0), text="hi", mid="m_once")
    assert record_inbound(contact=contact, incoming=incoming) is not None
    assert record_inbound(contact=contact, incoming=incoming) is None  # the redelivery
    customer_writes(contact, minutes(1))  # a second message of the same conversation
    cycle = only_cycle(contact)
    assert (cycle.opened_at, cycle.campaign, cycle.entry_point, cycle.channel) == (
        minutes(0),
        campaign,
        entry_point,
        "messenger",
    )
    assert cycle.reopened is False and cycle.closed_at is None


def test_an_earlier_message_arriving_late_moves_the_opening_back(clock, new_contact):
    contact = new_contact("6500000000000209")
    customer_writes(contact, minutes(5))
    customer_writes(contact, minutes(2))  # delivered late
    assert only_cycle(contact).opened_at == minutes(2)


def test_a_batch_opens_each_contact_at_its_earliest_message(clock, new_contact):
    ann, ben = new_contact("6500000000000202"), new_contact("6500000000000203")
    record_inbound_many(
        [
            (ann, IncomingMessage(sent_at=minutes(3), text="b", mid="m_b1")),
            (ann, IncomingMessage(sent_at=minutes(2), text="a", mid="m_a1")),
            (ben, IncomingMessage(sent_at=minutes(5), text="c", mid="m_c1")),
        ]
    )
    assert only_cycle(ann).opened_at == minutes(2)
    assert only_cycle(ben).opened_at == minutes(5)


def test_echoes_from_the_page_inbox_are_not_a_first_response(clock, new_contact, agent):
    contact = new_contact("6500000000000204")
    customer_writes(contact, minutes(0))
    record_outbound_echo(
        contact=contact,
        incoming=IncomingMessage(sent_at=minutes(1), text="from the inbox", mid="m_echo"),
        from_this_app=False,
    )
    assert Message.objects.filter(source=Message.Source.PAGE).count() == 1
    assert only_cycle(contact).first_response_at is None
    clock.set(minutes(7))
    reply_send(contact=fresh(contact), agent=agent, text="Hello")
    cycle = only_cycle(contact)
    assert (cycle.first_response_at, cycle.first_responder, cycle.first_response_seconds) == (
        minutes(7),
        agent,
        420,
    )


def test_an_agent_reopening_starts_a_new_cycle_that_counts_again(clock, new_contact, agent):
    contact = new_contact("6500000000000205")
    customer_writes(contact, minutes(0))
    clock.set(minutes(10))
    workflow.contact_close(contact=fresh(contact), agent=agent)
    clock.set(minutes(60))
    workflow.contact_reopen(contact=fresh(contact), agent=agent)
    first, second = ConversationCycle.objects.filter(contact=contact).order_by("opened_at")
    assert (first.closed_at, first.closed_by, first.resolution_seconds) == (minutes(10), agent, 600)
    assert (second.opened_at, second.reopened, second.closed_at) == (minutes(60), True, None)


def test_a_snooze_the_clock_ends_and_a_pending_the_customer_ends_are_left_out(
    clock, new_contact, agent
):
    contact = new_contact("6500000000000206")
    customer_writes(contact, minutes(0))
    clock.set(minutes(2))
    reply_send(contact=fresh(contact), agent=agent, text="One moment")
    clock.set(minutes(5))
    workflow.contact_snooze(contact=fresh(contact), agent=agent, until=minutes(20))
    clock.set(minutes(20))
    assert workflow.wake_snoozed() == 1  # the beat: 15 min snoozed
    assert workflow.wake_snoozed() == 0  # its retry changes nothing
    clock.set(minutes(25))
    workflow.contact_pending(contact=fresh(contact), agent=agent)
    customer_writes(contact, minutes(45))  # 20 min waiting on the customer
    clock.set(minutes(50))
    workflow.contact_close(contact=fresh(contact), agent=agent)
    cycle = only_cycle(contact)
    assert (cycle.snoozed_seconds, cycle.snoozed_since) == (35 * 60, None)
    assert cycle.resolution_seconds == (50 - 35) * 60
    assert cycle.first_response_seconds == 120


def test_a_reply_to_a_snoozed_conversation_ends_its_snooze(clock, new_contact, agent):
    contact = new_contact("6500000000000207")
    customer_writes(contact, minutes(0))
    clock.set(minutes(1))
    workflow.contact_snooze(contact=fresh(contact), agent=agent, until=minutes(60))
    clock.set(minutes(11))
    reply_send(contact=fresh(contact), agent=agent, text="Actually, here")
    clock.set(minutes(21))
    workflow.contact_close(contact=fresh(contact), agent=agent)
    cycle = only_cycle(contact)
    assert (cycle.snoozed_seconds, cycle.resolution_seconds) == (600, 21 * 60 - 600)


def test_closing_twice_is_refused_and_the_cycle_keeps_its_first_close(clock, new_contact, agent):
    contact = new_contact("6500000000000208")
    customer_writes(contact, minutes(0))
    clock.set(minutes(4))
    stale = fresh(contact)
    workflow.contact_close(contact=fresh(contact), agent=agent)
    clock.set(minutes(9))
    with pytest.raises(workflow.Conflict):
        workflow.contact_close(contact=stale, agent=agent)  # a second tab, a retried request
    assert only_cycle(contact).closed_at == minutes(4)


def test_of_two_first_replies_at_once_one_is_the_first_response(
    transactional_db, campaign, entry_point, agent, counts
):
    """The same agent sends from two tabs at the same moment: both replies go out, one of them
    is the cycle's first response (set only while none, in the reply's transaction)."""
    contact = Contact.objects.create(
        channel="messenger", entry_point=entry_point, external_id="6500000000000299"
    )
    customer_writes(contact, datetime.now(UTC) - timedelta(minutes=3))
    workflow.contact_claim(contact=contact, agent=agent)  # theirs: both tabs may answer
    tabs = 2
    start = threading.Barrier(tabs)
    sent = []

    def reply(n):
        try:
            start.wait()
            reply_send(contact=Contact.objects.get(pk=contact.pk), agent=agent, text=f"Hi {n}")
            sent.append(n)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [0, 1]
    cycle = only_cycle(contact)
    replies = Message.objects.filter(direction="out").order_by("sent_at", "pk")
    assert replies.count() == 2
    # The second tab waited for the first's lock on the contact: the first reply is the earlier
    # one, and the second must not overwrite it.
    assert cycle.first_response_at == replies.first().sent_at
    assert cycle.first_responder == agent
    counts(
        f"two first replies at once ({connection.vendor})",
        replies_sent=len(sent),
        first_responses=ConversationCycle.objects.exclude(first_response_at=None).count(),
    )


def test_two_workers_storing_a_new_customers_first_messages_at_once_open_one_cycle(
    transactional_db, entry_point, counts
):
    contact = Contact.objects.create(
        channel="messenger", entry_point=entry_point, external_id="6500000000000298"
    )
    workers = 4
    start = threading.Barrier(workers)
    sent_at = datetime.now(UTC) - timedelta(minutes=1)

    def store(n):
        try:
            start.wait()
            with transaction.atomic():  # as a channel's worker stores a batch
                record_inbound(
                    contact=Contact.objects.get(pk=contact.pk),
                    incoming=IncomingMessage(
                        sent_at=sent_at + timedelta(seconds=n), text=f"part {n}", mid=f"m_part_{n}"
                    ),
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=store, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Message.objects.filter(contact=contact).count() == workers
    cycle = only_cycle(contact)
    assert cycle.opened_at == sent_at  # the earliest, whichever worker stored it
    counts(
        f"a new customer's messages stored at once ({connection.vendor})",
        messages=workers,
        cycles=ConversationCycle.objects.filter(contact=contact).count(),
    )
