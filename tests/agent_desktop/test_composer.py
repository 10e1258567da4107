"""The composer's channel signals and Retry: "typing…" (rate-limited) and "seen" sent to the
customer through the Send API's sender_action by tasks, and a failed reply sent again once."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from agent_desktop import services
from agent_desktop.models import Contact, Message
from messenger import outbound
from tests.conftest import PASSWORD


def typing(client, contact):
    return client.post(reverse("agent_desktop:typing", args=[contact.pk]))


def test_typing_is_sent_at_most_once_per_contact_every_5_seconds(
    agent_client, make_contact, django_capture_on_commit_callbacks
):
    contact = make_contact()
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(5):
            assert typing(agent_client, contact).status_code == 204
    assert len(callbacks) == 1  # one typing_on queued for five calls
    contact.refresh_from_db()
    first = contact.typing_sent_at
    assert first is not None

    Contact.objects.filter(pk=contact.pk).update(
        typing_sent_at=first - services.TYPING_INTERVAL - timedelta(milliseconds=1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        typing(agent_client, contact)
    assert len(callbacks) == 1  # 5 s later, again


def test_typing_on_a_colleagues_conversation_sends_nothing(
    client, make_contact, agent, campaign, django_capture_on_commit_callbacks
):
    colleague = User.objects.create_user("sam", password=PASSWORD)
    campaign.agents.add(colleague)
    contact = make_contact(assigned_to=agent, status="assigned")
    client.force_login(colleague)
    with django_capture_on_commit_callbacks() as callbacks:
        assert typing(client, contact).status_code == 204
    assert callbacks == []
    contact.refresh_from_db()
    assert contact.typing_sent_at is None


def test_opening_a_conversation_marks_it_seen_once_not_on_every_poll(
    agent_client, make_contact, django_capture_on_commit_callbacks
):
    contact = make_contact()
    with django_capture_on_commit_callbacks() as callbacks:
        agent_client.get(reverse("agent_desktop:contact", args=[contact.pk]))
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(3):
            agent_client.get(reverse("agent_desktop:conversation", args=[contact.pk]))
    assert callbacks == []


def test_the_tasks_send_typing_on_and_mark_seen_through_the_send_api(
    connected_page, fake_graph, make_contact
):
    contact = make_contact()
    fake_graph.customer_wrote(contact.external_id, contact.last_inbound_at)
    assert outbound.send_sender_action(contact.pk, "mark_seen") is True
    assert outbound.send_sender_action(contact.pk, "typing_on") is True
    actions = fake_graph.sent_sender_actions(contact.external_id)
    assert [a["action"] for a in actions] == ["mark_seen", "typing_on"]
    assert fake_graph.sent_messages() == []  # an indicator, never a message


def test_no_sender_action_outside_the_24_hour_window(connected_page, fake_graph, make_contact):
    contact = make_contact(minutes_ago=25 * 60)
    assert outbound.send_sender_action(contact.pk, "typing_on") is False
    assert fake_graph.sent_sender_actions() == []


def failed_reply(contact, agent):
    return Message.objects.create(
        contact=contact,
        direction="out",
        source="agent",
        status="failed",
        error="Facebook was not reachable.",
        text="Your order shipped today.",
        sent_by=agent,
        sent_at=timezone.now(),
    )


def retry(client, message):
    return client.post(reverse("agent_desktop:retry", args=[message.pk]))


def test_retry_requeues_the_same_failed_message_once(
    agent_client,
    make_contact,
    agent,
    connected_page,
    fake_graph,
    django_capture_on_commit_callbacks,
):
    contact = make_contact(assigned_to=agent, status="assigned")
    fake_graph.customer_wrote(contact.external_id, contact.last_inbound_at)
    message = failed_reply(contact, agent)
    page = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert 'data-testid="retry"' in page

    with django_capture_on_commit_callbacks() as callbacks:
        assert retry(agent_client, message).status_code == 302
        assert retry(agent_client, message).status_code == 302  # a second click
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.status, message.error) == ("queued", "")
    assert Message.objects.filter(direction="out").count() == 1  # the same message, no copy

    outbound.send_message(message.pk)
    outbound.send_message(message.pk)  # the task twice: still one send
    assert len(fake_graph.sent_messages(contact.external_id)) == 1
    message.refresh_from_db()
    assert message.status == "sent"
    with django_capture_on_commit_callbacks() as callbacks:
        retry(agent_client, message)  # sent now: nothing to retry
    assert callbacks == []
    message.refresh_from_db()
    assert message.status == "sent"


def test_retry_is_refused_on_a_colleagues_conversation(client, make_contact, agent, campaign):
    colleague = User.objects.create_user("sam", password=PASSWORD)
    campaign.agents.add(colleague)
    contact = make_contact(assigned_to=agent, status="assigned")
    message = failed_reply(contact, agent)
    client.force_login(colleague)
    response = retry(client, message)
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "failed"
    page = client.get(response["Location"]).content.decode()
    assert "Only the agent answering this customer can send again." in page


def test_no_sender_action_while_the_pages_token_is_refused(
    connected_page, fake_graph, make_contact
):
    contact = make_contact()
    connected_page.token_status = "invalid"
    connected_page.save(update_fields=["token_status"])
    assert outbound.send_sender_action(contact.pk, "mark_seen") is False
    assert fake_graph.calls_to("POST", "/me/messages") == []
