"""Archiving an entry point (DELETE in the API, Archive in the builder) keeps its conversations;
erasing them is a separate admin action whose confirmation names what will be lost.

The probe: `DELETE /api/entry-points/{id}/` removed the page and, by cascade, every contact and
message of it (a schema fuzz emptied a database this way)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import ProtectedError
from django.urls import reverse

from agent_desktop.models import Contact, Message
from campaigns import services as builder
from campaigns.models import EntryPoint
from messenger import services
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.campaigns.test_api import api_as
from tests.conftest import PAGE, connect_page
from tests.messenger.conftest import load_payload

BODY = encode_like_facebook(load_payload("01"))
PSID = "6512345678901234"  # the customer of payload 01


def post_event(client, page, body=BODY):
    signature = signature_headers(body, PAGE["app_secret"])["X-Hub-Signature-256"]
    return client.post(
        page_setup.webhook_path(page),
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )


@pytest.fixture
def conversation(client, connected_page, agent):
    """A customer who wrote through the page's webhook, their kept picture, and an agent's reply
    with a file."""
    assert post_event(client, connected_page).status_code == 200
    services.process_deliveries()
    contact = Contact.objects.get()
    contact.profile_pic.save("p.png", ContentFile(b"picture"), save=True)
    reply = Message.objects.create(
        contact=contact,
        direction="out",
        source="agent",
        text="Here is the invoice",
        status="sent",
        sent_at=contact.last_message_at,
        sent_by=agent,
    )
    reply.upload.save("invoice.pdf", ContentFile(b"%PDF-1.4"), save=True)
    return contact


@pytest.fixture
def admin_api(admin_user):
    return api_as(admin_user)


def entry_point_url(entry_point, action=""):
    return f"/api/entry-points/{entry_point.pk}/" + (f"{action}/" if action else "")


# --- Archive --------------------------------------------------------------------------------
def test_delete_in_the_api_archives_and_keeps_every_conversation(
    admin_api, client, connected_page, conversation
):
    entry_point = connected_page.entry_point
    assert admin_api.delete(entry_point_url(entry_point)).status_code == 204

    shown = admin_api.get(entry_point_url(entry_point)).json()
    assert shown["is_archived"] is True and shown["archived_at"]
    assert (shown["webhook_url"], shown["verify_token"]) == ("", "")
    assert Contact.objects.filter(pk=conversation.pk).exists()
    assert conversation.messages.count() == 2
    assert WebhookDelivery.objects.count() == 1
    # Its webhook is gone: Facebook's posts and handshakes get 404, nothing is stored.
    assert post_event(client, connected_page).status_code == 404
    handshake = {"hub.mode": "subscribe", "hub.verify_token": connected_page.verify_token}
    assert client.get(page_setup.webhook_path(connected_page), handshake).status_code == 404
    assert WebhookDelivery.objects.count() == 1
    # Deleting again changes nothing; it can't be changed or given a webhook any more.
    assert admin_api.delete(entry_point_url(entry_point)).status_code == 204
    refused = [
        admin_api.patch(entry_point_url(entry_point), {"name": "x"}, format="json"),
        admin_api.post(entry_point_url(entry_point, "webhook"), {"rotate": True}, format="json"),
    ]
    assert [r.status_code for r in refused] == [409, 409]
    assert "archived" in refused[0].json()["detail"]


def test_the_api_lists_archived_entry_points_only_when_asked(admin_api, connected_page, campaign):
    kept = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Kept page")
    admin_api.delete(entry_point_url(connected_page.entry_point))

    def names(**params):
        return [e["name"] for e in admin_api.get("/api/entry-points/", params).json()["results"]]

    assert names() == ["Acme page", "Kept page"]
    assert names(is_archived="false") == [kept.name]
    assert names(is_archived="true") == ["Acme page"]


def test_the_database_refuses_the_silent_cascade(connected_page, conversation):
    with pytest.raises(ProtectedError):
        connected_page.entry_point.delete()
    with pytest.raises(ProtectedError):
        connected_page.entry_point.campaign.delete()
    assert Contact.objects.count() == 1 and Message.objects.count() == 2


def test_a_delivery_still_waiting_when_the_page_is_archived_is_ignored(client, connected_page):
    assert post_event(client, connected_page).status_code == 200
    builder.entry_point_archive(entry_point=connected_page.entry_point)
    services.process_deliveries()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("ignored", "the entry point is archived")
    assert Contact.objects.count() == 0


def test_an_archived_pages_id_is_connected_again_elsewhere_and_its_events_go_there(
    client, connected_page, conversation, campaign
):
    builder.entry_point_archive(entry_point=connected_page.entry_point)
    again = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Acme, again")
    new_page = connect_page(again)  # the same page id, checked with Facebook
    assert new_page.page_id == connected_page.page_id
    body = encode_like_facebook(load_payload("04"))  # another message of the same customer
    assert post_event(client, new_page, body).status_code == 200
    services.process_deliveries()
    assert Contact.objects.filter(entry_point=again, external_id=PSID).count() == 1
    assert conversation.messages.count() == 2  # the archived conversation is left as it was


def test_replies_to_an_archived_entry_points_contact_are_refused(
    admin_api, connected_page, conversation
):
    builder.entry_point_archive(entry_point=connected_page.entry_point)
    response = admin_api.post(
        f"/api/contacts/{conversation.pk}/messages/", {"text": "Still there?"}, format="json"
    )
    assert response.status_code == 400
    assert "archived" in response.json()["text"][0]
    assert conversation.messages.count() == 2


def test_admins_still_read_an_archived_conversation_and_agents_no_longer_see_it(
    admin_client, agent, client, connected_page, conversation
):
    builder.entry_point_archive(entry_point=connected_page.entry_point)
    page = admin_client.get(reverse("agent_desktop:contact", args=[conversation.pk]))
    assert page.status_code == 200 and "Here is the invoice" in page.content.decode()
    assert "archived" in page.content.decode()
    assert api_as(agent).get(f"/api/contacts/{conversation.pk}/").status_code == 404
    client.force_login(agent)
    assert client.get(reverse("agent_desktop:contact", args=[conversation.pk])).status_code == 404


def test_an_archived_page_with_an_invalid_token_no_longer_warns_the_desktop(
    agent_client, connected_page
):
    connected_page.token_status = "invalid"
    connected_page.save()
    assert "Acme page" in agent_client.get(reverse("agent_desktop:home")).content.decode()
    builder.entry_point_archive(entry_point=connected_page.entry_point)
    assert "Acme page" not in agent_client.get(reverse("agent_desktop:home")).content.decode()


# --- Erase ----------------------------------------------------------------------------------
def test_erasing_needs_the_entry_point_archived_and_a_confirmation_naming_what_is_lost(
    admin_api, connected_page, conversation, django_capture_on_commit_callbacks
):
    entry_point = connected_page.entry_point
    erase = entry_point_url(entry_point, "erase")
    assert admin_api.post(erase, {"confirm": True}, format="json").status_code == 409
    admin_api.delete(entry_point_url(entry_point))

    preview = admin_api.get(erase).json()
    assert {k: preview[k] for k in ("contacts", "messages", "deliveries")} == {
        "contacts": 1,
        "messages": 2,
        "deliveries": 1,
    }
    assert "1 contact, 2 messages and 1 webhook delivery" in preview["detail"]
    unconfirmed = admin_api.post(erase, {}, format="json")
    assert unconfirmed.status_code == 400
    assert "1 contact, 2 messages" in unconfirmed.json()["detail"]
    assert Message.objects.count() == 2  # nothing erased without confirm

    files = [conversation.profile_pic.name, conversation.messages.get(direction="out").upload.name]
    assert all(default_storage.exists(name) for name in files)
    with django_capture_on_commit_callbacks(execute=True):  # the files go once committed
        erased = admin_api.post(erase, {"confirm": True}, format="json")
    assert erased.status_code == 200
    assert erased.json() == {"contacts": 1, "messages": 2, "deliveries": 1}
    assert (Contact.objects.count(), Message.objects.count()) == (0, 0)
    assert WebhookDelivery.objects.count() == 0
    assert not any(default_storage.exists(name) for name in files)  # kept files go too
    assert EntryPoint.objects.get(pk=entry_point.pk).is_archived  # the entry point stays


def test_only_admins_archive_or_erase(agent, connected_page, conversation):
    agent_api = api_as(agent)
    entry_point = connected_page.entry_point
    assert agent_api.delete(entry_point_url(entry_point)).status_code == 403
    assert agent_api.post(entry_point_url(entry_point, "erase"), {"confirm": True}).status_code in (
        403,
        404,
    )
    entry_point.refresh_from_db()
    assert not entry_point.is_archived and Contact.objects.count() == 1


def test_the_openapi_schema_documents_archive_and_erase(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    entry_point = schema["paths"]["/api/entry-points/{id}/"]
    assert "archive" in entry_point["delete"]["description"].lower()
    erase = schema["paths"]["/api/entry-points/{id}/erase/"]
    assert set(erase) >= {"get", "post"}
    request = erase["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "confirm" in schema["components"]["schemas"][request.rsplit("/", 1)[1]]["properties"]
    assert {"200", "400", "409"} <= set(erase["post"]["responses"])


# --- Builder --------------------------------------------------------------------------------
def test_the_builder_archives_with_a_confirmation_and_lists_archived_apart(
    admin_client, connected_page, conversation, campaign
):
    entry_point = connected_page.entry_point
    panel = admin_client.get(entry_point.get_absolute_url()).content.decode()
    archive_url = reverse("campaigns:archive", args=[entry_point.pk])
    assert archive_url in panel

    confirm = admin_client.get(archive_url).content.decode()
    assert "Archive “Acme page”?" in confirm
    assert "1 contact and 2 messages are kept" in confirm
    response = admin_client.post(archive_url)
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    entry_point.refresh_from_db()
    assert entry_point.is_archived and Contact.objects.count() == 1

    detail = admin_client.get(campaign.get_absolute_url()).content.decode()
    active, _, archived = detail.partition('id="ep-title"')[2].partition('id="archived-title"')
    assert "Acme page" not in active and "Acme page" in archived
    listed = admin_client.get(reverse("campaigns:list")).content.decode()
    assert "<td>0</td>" in listed  # no active entry point
    # The archived panel says so, offers the erase, and no longer the credentials or webhook.
    panel = admin_client.get(entry_point.get_absolute_url()).content.decode()
    assert "archived" in panel and reverse("campaigns:erase", args=[entry_point.pk]) in panel
    assert "Save and check" not in panel and "Get Webhook" not in panel
    assert (
        admin_client.post(reverse("messenger_builder:webhook", args=[entry_point.pk])).status_code
        == 404
    )


def test_the_builder_erases_after_a_confirmation_naming_what_will_be_lost(
    admin_client, connected_page, conversation
):
    entry_point = connected_page.entry_point
    erase_url = reverse("campaigns:erase", args=[entry_point.pk])
    assert admin_client.get(erase_url).status_code == 404  # archive first
    builder.entry_point_archive(entry_point=entry_point)

    confirm = admin_client.get(erase_url).content.decode()
    assert "Erase 1 contact, 2 messages and 1 webhook delivery of “Acme page”?" in confirm
    assert admin_client.post(erase_url).status_code == 400  # the box must be ticked
    assert Contact.objects.count() == 1
    response = admin_client.post(erase_url, {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == entry_point.get_absolute_url()
    assert (Contact.objects.count(), Message.objects.count()) == (0, 0)
    panel = admin_client.get(entry_point.get_absolute_url()).content.decode()
    assert "Erased 1 contact, 2 messages and 1 webhook delivery." in panel
