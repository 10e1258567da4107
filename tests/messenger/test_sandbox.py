"""The sandbox: the fake Graph API served by the app itself, and the customer simulator."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agent_desktop import services as desktop
from agent_desktop.models import Contact
from messenger import outbound, services
from messenger.models import WebhookDelivery
from messenger.sandbox import simulator
from messenger.sandbox.demo import DEMO_PAGE
from tests.fixtures.files import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def process_all():
    for delivery in WebhookDelivery.objects.filter(status="received"):
        services.process_delivery(delivery.pk)


def test_the_app_serves_the_fake_graph_api_for_the_demo_page(demo_page, sandbox):
    assert demo_page.page_name == DEMO_PAGE["name"]
    assert sandbox.calls_to("GET", "/me")


def test_a_simulated_customer_chats_with_an_agent_end_to_end(
    admin_client, live_server, demo_page, sandbox, agent
):
    response = admin_client.post(
        reverse("sandbox:simulator"),
        {
            "first_name": "Maria",
            "last_name": "Schmidt",
            "locale": "de_DE",
            "entry_point": demo_page.entry_point_id,
        },
    )
    (customer,) = simulator.customers()
    chat = reverse("sandbox:chat", args=[demo_page.entry_point_id, customer.psid])
    assert response["Location"] == chat
    # The simulator posts to the webhook URL of the host it is served from: the live server.
    admin_client.defaults["HTTP_HOST"] = live_server.url.removeprefix("http://")

    for kind, text in [
        ("text", "Hello, anyone there?"),
        ("image", ""),
        ("location", ""),
        ("postback", "Talk to an agent"),
    ]:
        assert admin_client.post(chat, {"kind": kind, "text": text}).status_code == 302
    assert WebhookDelivery.objects.count() == 4  # posted, signed, to the real webhook URL
    process_all()
    contact = Contact.objects.get(external_id=customer.psid)
    kinds = list(contact.messages.values_list("kind", flat=True))
    assert kinds == ["text", "attachment", "attachment", "postback"]
    assert services.fetch_profiles([contact.pk]) == []
    contact.refresh_from_db()
    assert contact.name == "Maria Schmidt" and contact.locale == "de_DE"

    (reply,) = desktop.reply_send(contact=contact, agent=agent, text="Hi Maria!")
    outbound.send_message(reply.pk)
    thread = admin_client.get(
        reverse("sandbox:thread", args=[demo_page.entry_point_id, customer.psid])
    )
    assert "Hi Maria!" in thread.content.decode()  # the simulator shows the reply …
    process_all()  # … and sent the delivery and read events back
    reply.refresh_from_db()
    assert reply.status == "read"


def test_the_simulator_is_for_admins_only(agent_client, sandbox):
    assert agent_client.get(reverse("sandbox:simulator")).status_code == 403


def test_an_image_and_a_file_reply_go_through_the_sandbox_end_to_end(
    admin_client, live_server, demo_page, sandbox, agent
):
    """Upload over real HTTP to the app's own fake Graph API (a multipart body: it needs its
    boundary), send by attachment_id, shown in the simulator, then delivered and read."""
    customer = simulator.make_customer(first_name="Maria", last_name="Schmidt")
    chat = reverse("sandbox:chat", args=[demo_page.entry_point_id, customer.psid])
    admin_client.defaults["HTTP_HOST"] = live_server.url.removeprefix("http://")
    admin_client.post(chat, {"kind": "text", "text": "Can you send the receipt?"})
    process_all()
    contact = Contact.objects.get(external_id=customer.psid)
    png = image_bytes("PNG", size=(40, 30))
    pdf = b"%PDF-1.4 receipt"

    (picture,) = desktop.reply_send(
        contact=contact, agent=agent, upload=SimpleUploadedFile("receipt.png", png, "image/png")
    )
    (document,) = desktop.reply_send(
        contact=contact,
        agent=agent,
        upload=SimpleUploadedFile("receipt.pdf", pdf, "application/pdf"),
    )
    for message in (picture, document):
        outbound.send_message(message.pk)
        message.refresh_from_db()
        assert (message.status, message.error) == ("sent", "")

    uploads = {u["type"]: u for u in sandbox.uploaded_attachments()}
    assert uploads["image"]["content"] == png and uploads["image"]["filename"] == "receipt.png"
    assert (uploads["file"]["content"], uploads["file"]["content_type"]) == (pdf, "application/pdf")
    sent = [s["message"]["attachment"] for s in sandbox.sent_messages(customer.psid)]
    assert sent == [
        {"type": "image", "payload": {"attachment_id": uploads["image"]["attachment_id"]}},
        {"type": "file", "payload": {"attachment_id": uploads["file"]["attachment_id"]}},
    ]

    thread = admin_client.get(
        reverse("sandbox:thread", args=[demo_page.entry_point_id, customer.psid])
    ).content.decode()
    image_url = reverse("sandbox:attachment", args=[uploads["image"]["attachment_id"]])
    file_url = reverse("sandbox:attachment", args=[uploads["file"]["attachment_id"]])
    assert f'src="{image_url}"' in thread and f'href="{file_url}"' in thread
    shown = admin_client.get(image_url)
    assert (shown["Content-Type"], shown.content) == ("image/png", png)
    downloaded = admin_client.get(file_url)
    assert downloaded["Content-Type"] == "application/octet-stream"
    assert downloaded["Content-Disposition"] == 'attachment; filename="receipt.pdf"'

    process_all()  # the delivery and read events the simulator sent back
    for message in (picture, document):
        message.refresh_from_db()
        assert message.status == "read"
