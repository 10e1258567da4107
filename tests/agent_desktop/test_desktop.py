"""The agent desktop's pages: the queue, a conversation, Customer Info, actions and replies."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from agent_desktop.models import Message
from campaigns.kinds import all_kinds

DESKTOP = reverse("agent_desktop:home")


def contact_url(contact, name="contact", *args):
    return reverse(f"agent_desktop:{name}", args=[contact.pk, *args])


def test_an_empty_queue_says_where_contacts_come_from(agent_client):
    html = agent_client.get(DESKTOP).content.decode()
    start = html.index("When customers write to your campaigns on ")
    sentence = html[start : html.index("they appear here within seconds.", start)]
    assert all(kind.channel_label in sentence for kind in all_kinds()), sentence


def test_the_queue_shows_each_contact_with_the_messenger_badge(agent_client, make_contact):
    make_contact("6500000000000001", first_name="Maria")
    make_contact("6500000000000002", minutes_ago=1)
    html = agent_client.get(DESKTOP).content.decode()
    assert html.index("Messenger user ·0002") < html.index("Maria")  # newest activity first
    assert html.count('title="Facebook Messenger"') == 2
    assert "hello from Maria" in html and "Spring sale · Acme page" in html
    assert 'aria-label="1 unread"' in html
    assert "<title>(2) Agent desktop" in html  # waiting contacts in the tab title


def test_filters_and_search(agent_client, make_contact, agent):
    mine = make_contact(
        "6500000000000001", first_name="Maria", assigned_to=agent, status="assigned"
    )
    make_contact("6500000000000002", first_name="Jonas")
    make_contact("6500000000000003", first_name="Closed", status="closed")

    def names(**params):
        html = agent_client.get(DESKTOP, params).content.decode()
        return [n for n in ("Maria", "Jonas", "Closed") if f'<span class="row-name">{n}' in html]

    assert names() == ["Maria", "Jonas"]
    assert names(filter="mine") == ["Maria"]
    assert names(filter="unassigned") == ["Jonas"]
    assert names(filter="closed") == ["Closed"]
    assert names(q="mar") == ["Maria"]
    assert mine.pk


def test_an_agent_sees_only_the_contacts_of_their_campaigns(
    agent_client, make_contact, other_entry_point
):
    ours = make_contact("6500000000000001", first_name="Ours")
    theirs = make_contact("6500000000000009", first_name="Theirs", entry_point_=other_entry_point)
    html = agent_client.get(DESKTOP).content.decode()
    assert "Ours" in html and "Theirs" not in html
    for name, args in [
        ("contact", []),
        ("conversation", []),
        ("picture", []),
        ("action", ["claim"]),
        ("action", ["close"]),
    ]:
        method = agent_client.post if name == "action" else agent_client.get
        assert method(contact_url(theirs, name, *args)).status_code == 404, name
    assert agent_client.post(contact_url(theirs, "reply"), {"text": "hi"}).status_code == 404
    assert agent_client.post(contact_url(theirs, "refresh_profile")).status_code == 404
    other_message = theirs.messages.get()
    assert (
        agent_client.get(reverse("agent_desktop:message_file", args=[other_message.pk])).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.status == "new" and ours.pk


def test_the_list_answers_204_while_nothing_changes(agent_client, make_contact):
    make_contact("6500000000000001")
    page = agent_client.get(reverse("agent_desktop:list"))
    fingerprint = page.context["list_fingerprint"]
    unchanged = agent_client.get(reverse("agent_desktop:list"), {"fp": fingerprint})
    assert unchanged.status_code == 204 and unchanged.content == b""
    make_contact("6500000000000002", first_name="Newcomer")
    changed = agent_client.get(reverse("agent_desktop:list"), {"fp": fingerprint})
    assert changed.status_code == 200 and "Newcomer" in changed.content.decode()


def test_the_conversation_answers_204_until_a_message_or_a_status_changes(
    agent_client, make_contact
):
    contact = make_contact()
    live = contact_url(contact, "conversation")
    fingerprint = agent_client.get(contact_url(contact)).context["conversation_fingerprint"]
    assert agent_client.get(live, {"fp": fingerprint}).status_code == 204
    out = Message.objects.create(
        contact=contact,
        direction="out",
        status="sent",
        text="Hi!",
        mid="m_out",
        sent_at=timezone.now(),
        source="agent",
    )
    response = agent_client.get(live, {"fp": fingerprint})
    assert response.status_code == 200 and "✓ Sent" in response.content.decode()
    fingerprint = response.context["conversation_fingerprint"]
    Message.objects.filter(pk=out.pk).update(status="delivered")
    response = agent_client.get(live, {"fp": fingerprint})
    assert "✓✓ Delivered" in response.content.decode()


def test_the_conversation_renders_every_kind_in_order(agent_client, make_contact):
    contact = make_contact()
    now = timezone.now()
    rows = [
        dict(
            direction="in",
            kind="attachment",
            attachments=[{"type": "image", "url": "https://scontent.xx.fbcdn.net/a.jpg"}],
        ),
        dict(
            direction="in",
            kind="attachment",
            attachments=[
                {"type": "location", "url": "", "lat": 52.52, "long": 13.405, "title": "Pinned"}
            ],
        ),
        dict(
            direction="in",
            kind="attachment",
            attachments=[{"type": "audio", "url": "https://cdn.fbsbx.com/a.mp4"}],
        ),
        dict(
            direction="in",
            kind="attachment",
            attachments=[{"type": "file", "url": "https://cdn.fbsbx.com/f.pdf"}],
        ),
        dict(direction="in", kind="postback", text="Talk to an agent", details={"payload": "X"}),
        dict(
            direction="in",
            kind="reaction",
            text="❤️",
            details={"reaction": "love", "action": "react"},
        ),
        dict(
            direction="out",
            status="failed",
            text="Sorry",
            error="This person isn't available right now.",
        ),
        dict(direction="out", status="read", text="Read one", mid="m_read"),
    ]
    for offset, row in enumerate(rows):
        Message.objects.create(contact=contact, sent_at=now + timedelta(seconds=offset), **row)
    html = agent_client.get(contact_url(contact)).content.decode()
    assert '<img class="att-image" src="https://scontent.xx.fbcdn.net/a.jpg"' in html
    assert "openstreetmap.org/?mlat=52.52&amp;mlon=13.405" in html
    assert '<audio class="att-audio" controls' in html
    assert 'href="https://cdn.fbsbx.com/f.pdf"' in html
    assert "Tapped button" in html and "reacted ❤️" in html
    assert "⚠ Not sent" in html and "This person isn&#x27;t available right now." in html
    assert "✓✓ Read" in html
    assert html.index("hello from") < html.index("Pinned") < html.index("Read one")


def test_customer_info_shows_the_profile(agent_client, make_contact):
    contact = make_contact(
        first_name="Maria",
        last_name="Schmidt",
        locale="de_DE",
        timezone=1,
        channel_details={"gender": "female"},
    )
    html = agent_client.get(contact_url(contact)).content.decode()
    for text in [
        "Customer Info",
        "Maria Schmidt",
        "de_DE",
        "UTC+1",
        "Female",
        contact.external_id,
        "Acme page",
        "Spring sale",
        "<dt>Messages</dt><dd>1</dd>",
    ]:
        assert text in html, text


def test_opening_a_conversation_reads_it(agent_client, make_contact):
    contact = make_contact()
    agent_client.get(contact_url(contact))
    contact.refresh_from_db()
    assert contact.unread_count == 0


def test_claim_release_transfer_and_close(
    agent_client, make_contact, agent, campaign, django_user_model
):
    colleague = django_user_model.objects.create_user("casey", first_name="Casey")
    campaign.agents.add(colleague)
    contact = make_contact()

    def act(name, **data):
        agent_client.post(contact_url(contact, "action", name), data)
        contact.refresh_from_db()
        return contact.status, contact.assigned_to

    assert act("claim") == ("assigned", agent)
    assert act("release") == ("new", None)
    assert act("transfer", to=colleague.pk) == ("assigned", colleague)
    response = agent_client.post(contact_url(contact, "action", "claim"), follow=True)
    assert "Casey is already answering this customer." in response.content.decode()
    # Casey's now: closing it is refused, with the reason shown.
    response = agent_client.post(contact_url(contact, "action", "close"), follow=True)
    assert "Casey is answering this customer: only they, a supervisor or an admin" in (
        response.content.decode()
    )
    assert act("close") == ("assigned", colleague)


def test_an_agent_outside_the_campaign_cannot_be_transferred_to(
    agent_client, make_contact, other_campaign_agent
):
    contact = make_contact()
    agent_client.post(contact_url(contact, "action", "transfer"), {"to": other_campaign_agent.pk})
    contact.refresh_from_db()
    assert contact.assigned_to is None


def test_a_page_whose_token_is_invalid_shows_a_banner(agent_client, make_contact, entry_point):
    make_contact()
    assert "token-banner" not in agent_client.get(DESKTOP).content.decode()
    entry_point.facebook_page.token_status = "invalid"
    entry_point.facebook_page.save()
    html = agent_client.get(DESKTOP).content.decode()
    assert "Facebook rejected its Page Access Token" in html
    assert "Ask an admin to paste a new token" in html


def test_the_queue_is_paginated(agent_client, make_contact):
    for n in range(55):
        make_contact(f"66{n:014d}", minutes_ago=n)
    first = agent_client.get(DESKTOP).content.decode()
    assert first.count('data-testid="contact-row"') == 50 and "Page 1 of 2" in first
    second = agent_client.get(DESKTOP, {"page": 2}).content.decode()
    assert second.count('data-testid="contact-row"') == 5


def test_refresh_profile_asks_the_channel_again(agent_client, make_contact):
    from django.utils import timezone

    contact = make_contact(first_name="Old", profile_fetched_at=timezone.now())
    response = agent_client.post(contact_url(contact, "refresh_profile"), follow=True)
    assert "Asking Facebook for the latest profile" in response.content.decode()
    contact.refresh_from_db()
    assert contact.profile_fetched_at is None  # due again: the fetch task will run
