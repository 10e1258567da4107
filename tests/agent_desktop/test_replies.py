"""Replying from the desktop and the API: queued, split, refused outside the window."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from agent_desktop.models import Contact, Message
from agent_desktop.services import split_text
from tests.fixtures.files import image_bytes


def reply_url(contact):
    return reverse("agent_desktop:reply", args=[contact.pk])


def test_a_reply_is_queued_and_sent_once_committed(
    agent_client, make_contact, agent, django_capture_on_commit_callbacks
):
    contact = make_contact()
    with django_capture_on_commit_callbacks() as callbacks:
        response = agent_client.post(reply_url(contact), {"text": "Hello Maria!"})
    assert response.status_code == 302
    reply = Message.objects.get(direction="out")
    assert (reply.status, reply.text, reply.sent_by, reply.source) == (
        "queued",
        "Hello Maria!",
        agent,
        "agent",
    )
    assert len(callbacks) == 1
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == ("assigned", agent)  # answering claims
    assert contact.last_message_preview == "Hello Maria!"


def test_a_long_reply_goes_out_in_parts_under_2000_characters(agent_client, make_contact):
    contact = make_contact()
    text = ("word " * 450).strip() + "\n\n" + ("more " * 300).strip()
    agent_client.post(reply_url(contact), {"text": text})
    parts = list(Message.objects.filter(direction="out").values_list("text", flat=True))
    assert len(parts) == 2 and all(len(p) < 2000 for p in parts)
    assert " ".join(p.replace("\n\n", " ") for p in parts).split() == text.split()


def test_split_text_cuts_at_breaks_and_hard_when_it_must():
    assert split_text("short", 1999) == ["short"]
    assert split_text("a" * 4500, 1999) == ["a" * 1999, "a" * 1999, "a" * 502]
    assert split_text("x" * 1500 + " " + "y" * 1000, 1999) == ["x" * 1500, "y" * 1000]


def test_an_empty_reply_is_refused_with_a_message(agent_client, make_contact):
    contact = make_contact()
    response = agent_client.post(reply_url(contact), {"text": "   "})
    assert response.status_code == 400
    assert "Write a message or choose a file to send." in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_the_composer_shows_the_window_countdown(agent_client, make_contact):
    contact = make_contact(minutes_ago=60)
    html = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert "Reply window: 22 h 59 min left." in html or "Reply window: 23 h 0 min left." in html


def test_between_a_day_and_a_week_the_composer_says_human_agent(agent_client, make_contact):
    contact = make_contact(minutes_ago=60 * 30)
    html = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert "sent as a human agent reply" in html


def test_after_seven_days_the_composer_refuses_with_the_reason(agent_client, make_contact):
    contact = make_contact(minutes_ago=60 * 24 * 8)
    html = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    # No reply box (a private note can still be written).
    assert 'id="reply-text"' not in html and 'id="note-text"' in html and "7 days" in html
    response = agent_client.post(reply_url(contact), {"text": "Still there?"})
    assert response.status_code == 400
    assert not Message.objects.filter(direction="out").exists()


def test_a_file_reply_is_queued_as_an_attachment(agent_client, make_contact):
    from django.core.files.uploadedfile import SimpleUploadedFile

    contact = make_contact()
    png = SimpleUploadedFile("receipt.png", image_bytes("PNG"), content_type="image/png")
    agent_client.post(reply_url(contact), {"text": "", "file": png})
    reply = Message.objects.get(direction="out")
    assert reply.kind == "attachment" and reply.attachments[0]["type"] == "image"
    assert reply.upload.name.endswith(".png")
    served = agent_client.get(reverse("agent_desktop:message_file", args=[reply.pk]))
    assert served.status_code == 200 and b"".join(served.streaming_content).startswith(b"\x89PNG")


def test_a_file_over_messengers_25_mb_is_refused_in_the_composer(agent_client, make_contact):
    from django.core.files.uploadedfile import SimpleUploadedFile

    contact = make_contact()
    film = SimpleUploadedFile("film.mp4", b"\0" * (25 * 1024 * 1024 + 1), content_type="video/mp4")
    response = agent_client.post(reply_url(contact), {"text": "", "file": film})
    assert response.status_code == 400
    assert "Files can be at most 25 MB." in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_the_list_and_conversation_cost_the_same_queries_for_10_or_1000_contacts(
    agent_client, entry_point, django_assert_max_num_queries
):
    def fill(count, start):
        now = timezone.now()
        contacts = Contact.objects.bulk_create(
            Contact(
                channel="messenger",
                entry_point=entry_point,
                external_id=f"70{start + i:014d}",
                first_name=f"C{start + i}",
                last_message_at=now - timedelta(seconds=i),
                last_inbound_at=now,
                unread_count=1,
            )
            for i in range(count)
        )
        Message.objects.bulk_create(
            Message(
                contact=c,
                direction="in",
                text="hi",
                mid=f"m_{c.external_id}_{n}",
                sent_at=now - timedelta(seconds=n),
            )
            for c in contacts[:50]
            for n in range(20)
        )
        return contacts[0]

    first = fill(10, 0)
    # Who the agent is (their campaigns) is read once, then kept in the cache with the tokens.
    agent_client.get(reverse("agent_desktop:home"))
    counts = {}
    for total, start in ((10, 0), (1000, 10)):
        if start:
            fill(990, start)
        assert Contact.objects.count() == total
        Contact.objects.filter(pk=first.pk).update(unread_count=1)  # opening it reads it
        # 15: the rows, unread counts per tab (2), the rows' labels (1), the newest mention (1,
        # for the notifications script) and the person's row (1: away? notification choices?)
        # among them.
        with django_assert_max_num_queries(15) as list_queries:
            assert agent_client.get(reverse("agent_desktop:home")).status_code == 200
        # 20: the conversation page also shows the list, the contact with its labels, its
        # messages, notes, activities, canned replies, all labels, and the campaign's agents
        # once (with their presence: whom to transfer to, whom a note may mention). Opening
        # reads it (one UPDATE; the change tokens take its campaign from the loaded contact)
        # and Customer Info's latest rating comes from the messages already loaded.
        with django_assert_max_num_queries(20) as conversation_queries:
            assert (
                agent_client.get(reverse("agent_desktop:contact", args=[first.pk])).status_code
                == 200
            )
        counts[total] = (len(list_queries), len(conversation_queries))
    assert counts[10] == counts[1000], counts
    print(f"queries (list, conversation): 10 contacts {counts[10]}, 1000 contacts {counts[1000]}")
