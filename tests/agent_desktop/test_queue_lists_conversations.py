"""The queue lists conversations: a contact without any message (left by earlier versions, an
empty row per receipt) is listed nowhere, and never ahead of a conversation."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop import selectors
from agent_desktop.models import Contact


def test_message_less_contacts_are_never_listed_nor_ahead_of_conversations(
    make_contact, entry_point, agent
):
    """Contacts left by earlier versions (an empty row per receipt) are not listed anywhere."""
    conversation = make_contact("6500000000000001", first_name="Maria")
    older = make_contact("6500000000000002", first_name="Jonas", minutes_ago=90)
    Contact.objects.create(
        channel="messenger", entry_point=entry_point, external_id="6500000000000003"
    )
    Contact.objects.create(
        channel="messenger",
        entry_point=entry_point,
        external_id="6500000000000004",
        created_at=timezone.now() + timedelta(minutes=1),
    )
    for filter_name in ("all", "unassigned", "any"):
        listed = list(selectors.contact_list(agent, filter_name=filter_name))
        assert listed == [conversation, older], filter_name

    api = APIClient()
    api.force_authenticate(agent)
    ids = [row["id"] for row in api.get("/api/contacts/").json()["results"]]
    assert ids == [conversation.pk, older.pk]
