"""The visitor API over the real HTTP test client: CORS, sessions, tokens, messages both ways
with their states, files, limits and refusals."""

import io

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from agent_desktop import presence
from agent_desktop.models import Contact, Message, Note, Notification
from campaigns.models import EntryPoint
from tests.webchat.conftest import OTHER_SITE, SHOP, Widget
from webchat import colors, limits, services
from webchat.conversation import file_signature
from webchat.models import Visitor


def png_bytes(size=(4, 4)):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def agent_api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


def contact_of(widget):
    return Visitor.objects.get(
        token_id=signing.loads(widget.token, salt="webchat.visitor-token")[1]
    ).contact


# --- CORS and the chat's key ------------------------------------------------------------------
def test_an_allowed_origin_gets_the_cors_headers_naming_it(widget):
    response = widget.get("config/")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert response["Vary"] == "Origin"
    assert response["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert response["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert response["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize("origin", [OTHER_SITE, "null", "", "https://shop.example.com:8443"])
def test_another_origin_or_none_is_refused_without_cors_headers(chat, origin):
    widget = Widget(chat.widget_key, origin=origin)
    for response in (widget.get("config/"), widget.post("session/", {"name": "Eve"})):
        assert response.status_code == 403
        assert response.json() == {"detail": "This website may not use this chat."}
        assert not any(name.startswith("Access-Control-") for name in response.headers)
    assert not Visitor.objects.exists()


def test_preflight_of_an_allowed_origin_is_204_with_the_headers(widget, chat):
    response = widget.client.options(
        widget.url("messages/"),
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    refused = Widget(chat.widget_key, origin=OTHER_SITE).client.options(
        widget.url("messages/"), headers={"Origin": OTHER_SITE}
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


def test_unknown_key_and_archived_entry_point_are_404(chat, chat_entry_point):
    assert Widget("no-such-key").get("config/").status_code == 404
    EntryPoint.objects.filter(pk=chat_entry_point.pk).update(is_archived=True)
    assert Widget(chat.widget_key).get("config/").status_code == 404
    assert Widget(chat.widget_key).post("session/").status_code == 404


def test_config_tells_the_widget_its_look_and_limits(widget, chat, campaign):
    chat.color, chat.greeting = "#FFD700", "Hello there"
    chat.save()
    body = widget.get("config/").json()
    assert body == {
        "title": "Acme website chat",
        "greeting": "Hello there",
        "color": "#FFD700",
        "text_color": "#000000",  # dark text on gold
        "available": True,
        "max_text_length": limits.MAX_TEXT_LENGTH,
        "max_upload_bytes": limits.MAX_ATTACHMENT_BYTES,
    }
    assert colors.contrast_ratio(body["color"], body["text_color"]) >= colors.AA_NORMAL_TEXT
    campaign.is_active = False
    campaign.save()
    assert widget.get("config/").json()["available"] is False


# --- Sessions and tokens ----------------------------------------------------------------------
def test_a_session_makes_a_webchat_contact_and_a_resumed_one_updates_it(widget, chat_entry_point):
    widget.start(
        page_url="https://shop.example.com/boots?size=42",
        referrer="https://www.example.org/search",
        language="de-DE",
        timezone="Europe/Berlin",
    )
    contact = contact_of(widget)
    assert contact.channel == "webchat"
    assert contact.entry_point == chat_entry_point
    assert contact.external_id.startswith("web-")
    visitor = contact.web_visitor
    assert (visitor.language, visitor.timezone) == ("de-DE", "Europe/Berlin")

    again = widget.post("session/", {"name": "Greta Maria Berg", "email": "greta@example.com"})
    assert again.status_code == 200
    assert again.json() == {"visitor_token": widget.token}
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Greta", "Maria Berg")
    visitor.refresh_from_db()
    assert visitor.email == "greta@example.com"
    assert visitor.page_url == "https://shop.example.com/boots?size=42"  # not sent: kept
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    "details, field",
    [
        ({"name": "x" * 121}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"page_url": "javascript:alert(1)"}, "page_url"),
        ({"referrer": "https://example.com/" + "a" * 500}, "referrer"),
        ({"language": "<script>"}, "language"),
        ({"name": ["a list"]}, "name"),
    ],
)
def test_bad_visitor_details_are_refused_and_nothing_is_made(widget, details, field):
    response = widget.post("session/", details)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(field)
    assert not Contact.objects.exists()


def test_an_unknown_time_zone_is_dropped_not_refused(widget):
    widget.start(timezone="Mars/Olympus_Mons")
    assert contact_of(widget).web_visitor.timezone == ""


def test_a_body_that_is_not_a_json_object_is_400(widget):
    response = widget.client.post(
        widget.url("session/"), "[1, 2", content_type="application/json", headers=widget.headers()
    )
    assert response.status_code == 400
    assert widget.post("session/", ["a", "list"]).status_code == 400


def test_tampered_missing_or_foreign_tokens_are_401(widget, campaign):
    widget.start()
    tampered = widget.token[:-2] + ("AA" if not widget.token.endswith("AA") else "BB")
    for token in (tampered, "garbage"):
        response = widget.get("messages/", token=token)
        assert response.status_code == 401
        assert "detail" in response.json()
        assert response["Access-Control-Allow-Origin"] == SHOP  # the widget can read why
    assert widget.client.get(widget.url("messages/"), headers={"Origin": SHOP}).status_code == 401
    assert widget.post("session/", {"name": "Eve"}, token=tampered).status_code == 401

    other = services.web_chat_entry_point_create(campaign=campaign, name="Other site chat")
    other.web_chat.allowed_origins = [SHOP]
    other.web_chat.save()
    elsewhere = Widget(other.web_chat.widget_key)
    assert elsewhere.get("messages/", token=widget.token).status_code == 401
    assert elsewhere.post("messages/", {"text": "hi"}, token=widget.token).status_code == 401
    assert not Message.objects.exists()


def test_a_new_secret_ends_the_old_token(widget):
    widget.start()
    Visitor.objects.update(token_secret="replaced")
    assert widget.get("messages/").status_code == 401


# --- Messages both ways -----------------------------------------------------------------------
def test_a_visitors_message_reaches_the_desk_as_a_webchat_contact(widget, agent_api):
    widget.start(name="Greta")
    sent = widget.say("  Do you ship to Norway?  ")
    assert sent["direction"] == "in"
    assert sent["text"] == "Do you ship to Norway?"
    assert sent["author"] == "You"
    assert sent["status"] == "received"

    listed = agent_api.get("/api/contacts/").json()["results"]
    assert [(c["channel"], c["name"], c["unread_count"]) for c in listed] == [
        ("webchat", "Greta", 1)
    ]
    assert listed[0]["last_message_preview"] == "Do you ship to Norway?"
    found = agent_api.get("/api/contacts/", {"q": "Norway"}).json()["results"]
    assert [c["id"] for c in found] == [listed[0]["id"]]


def test_an_agents_reply_reaches_the_visitor_sent_then_delivered_then_read(
    widget, agent, agent_api, django_capture_on_commit_callbacks
):
    agent.first_name = "Alex"
    agent.last_name = "Secretsurname"
    agent.save()
    widget.start()
    first = widget.say("Hello?")
    contact = contact_of(widget)
    with django_capture_on_commit_callbacks(execute=True):
        reply = agent_api.post(f"/api/contacts/{contact.pk}/messages/", {"text": "Hi, I'm here."})
    assert reply.status_code == 201, reply.content
    reply_id = reply.json()["id"]
    assert Message.objects.get(pk=reply_id).status == "sent"

    polled = widget.get("messages/", after=first["id"]).json()
    assert [(m["id"], m["direction"], m["text"], m["author"]) for m in polled["messages"]] == [
        (reply_id, "out", "Hi, I'm here.", "Alex")
    ]
    assert polled["messages"][0]["status"] == "delivered"
    assert Message.objects.get(pk=reply_id).status == "delivered"
    # An agent answering saw what the visitor wrote before.
    assert polled["read_up_to"] == first["id"]

    assert widget.post("read/", {"up_to": reply_id}).status_code == 204
    statuses = agent_api.get(f"/api/contacts/{contact.pk}/messages/").json()["results"]
    assert [m["status"] for m in statuses] == ["received", "read"]
    widget.get("messages/")  # fetching again never takes "read" back to "delivered"
    assert Message.objects.get(pk=reply_id).status == "read"


def test_opening_the_conversation_in_the_desk_shows_the_visitor_it_was_read(
    widget, agent, client, django_capture_on_commit_callbacks
):
    widget.start()
    said = widget.say("Anyone?")
    assert widget.get("messages/").json()["read_up_to"] is None
    client.force_login(agent)
    contact = contact_of(widget)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/desktop/contacts/{contact.pk}/").status_code == 200
    assert widget.get("messages/").json()["read_up_to"] == said["id"]


def test_typing_both_ways(widget, agent, client, django_capture_on_commit_callbacks):
    widget.start()
    widget.say("Hi")
    contact = contact_of(widget)
    assert widget.get("messages/").json()["agent_typing"] is False
    client.force_login(agent)
    client.post(f"/desktop/contacts/{contact.pk}/claim/")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/desktop/contacts/{contact.pk}/typing/").status_code == 204
    assert widget.get("messages/").json()["agent_typing"] is True

    assert widget.post("typing/").status_code == 204
    assert Visitor.objects.get(contact=contact).visitor_typing_until

    # The reply the agent was typing ends their "typing…" at once.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/desktop/contacts/{contact.pk}/reply/", {"text": "Here"})
    assert contact.messages.get(direction="out").status == "sent"
    assert widget.get("messages/").json()["agent_typing"] is False


def test_notes_and_desk_events_never_reach_the_visitor(widget, agent_api):
    widget.start()
    widget.say("My order is late")
    contact = contact_of(widget)
    agent_api.post(f"/api/contacts/{contact.pk}/claim/")
    response = agent_api.post(f"/api/contacts/{contact.pk}/notes/", {"text": "VIP, refund"})
    assert response.status_code == 201
    assert Note.objects.count() == 1
    body = widget.get("messages/").content.decode()
    assert "My order is late" in body
    assert "VIP" not in body and "refund" not in body


def test_after_lists_only_newer_messages_and_a_bad_after_is_400(widget):
    widget.start()
    first, second = widget.say("one"), widget.say("two")
    assert [m["id"] for m in widget.get("messages/").json()["messages"]] == [
        first["id"],
        second["id"],
    ]
    assert [m["id"] for m in widget.get("messages/", after=first["id"]).json()["messages"]] == [
        second["id"]
    ]
    assert widget.get("messages/", after="x").status_code == 400
    assert widget.post("read/", {"up_to": "nope"}).status_code == 400
    assert widget.post("read/", {}).status_code == 400


def test_a_visitor_writing_again_reopens_a_closed_conversation(widget, agent_api):
    widget.start()
    widget.say("first")
    contact = contact_of(widget)
    agent_api.post(f"/api/contacts/{contact.pk}/claim/")
    assert agent_api.post(f"/api/contacts/{contact.pk}/close/").status_code == 200
    widget.say("one more thing")
    contact.refresh_from_db()
    assert contact.status == "assigned"
    assert contact.unread_count == 1


def test_the_away_reply_reaches_the_visitor_as_the_entry_points(
    widget, campaign, django_capture_on_commit_callbacks
):
    campaign.business_hours = {"timezone": "UTC", "days": {}}  # closed every day
    campaign.away_message = "We are closed, back tomorrow."
    campaign.save()
    widget.start()
    with django_capture_on_commit_callbacks(execute=True):
        widget.say("Hello?")
    away = widget.get("messages/").json()["messages"][-1]
    assert (away["text"], away["author"], away["status"]) == (
        "We are closed, back tomorrow.",
        "Acme website chat",
        "delivered",
    )


# --- Files --------------------------------------------------------------------------------------
def test_a_real_picture_is_kept_and_served_only_to_its_visitor_safely(widget, chat, agent_client):
    widget.start()
    response = widget.upload("holiday.png", png_bytes(), text="this one")
    assert response.status_code == 201, response.content
    attachment = response.json()["attachments"][0]
    assert (attachment["type"], attachment["name"]) == ("image", "holiday.png")
    assert attachment["url"].startswith("http://testserver/webchat/")

    served = widget.client.get(attachment["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert served["Content-Disposition"].startswith("inline")
    assert served["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert b"".join(served.streaming_content) == png_bytes()

    message = Message.objects.get()
    assert message.upload.name.endswith(".png") and "holiday" not in message.upload.name
    in_the_desk = agent_client.get(f"/desktop/messages/{message.pk}/file/")
    assert (in_the_desk.status_code, in_the_desk["Content-Type"]) == (200, "image/png")
    # Another visitor's link for this message, or a made-up one, is refused.
    other = Widget(chat.widget_key)
    other.start()
    other_visitor = contact_of(other).web_visitor
    forged = attachment["url"].rsplit("/", 2)[0] + f"/{file_signature(other_visitor, message.pk)}/"
    assert widget.client.get(forged).status_code == 404


def test_an_agents_file_reaches_the_visitor_as_a_download(
    widget, agent, client, django_capture_on_commit_callbacks
):
    widget.start()
    widget.say("send me the invoice")
    contact = contact_of(widget)
    client.force_login(agent)
    invoice = SimpleUploadedFile(
        "invoice.pdf", b"%PDF-1.4 not really", content_type="application/pdf"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/desktop/contacts/{contact.pk}/reply/", {"text": "", "file": invoice})
    out = widget.get("messages/").json()["messages"][-1]
    assert out["direction"] == "out"
    assert [(a["type"], a["name"]) for a in out["attachments"]] == [("file", "invoice.pdf")]
    served = widget.client.get(out["attachments"][0]["url"])
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment")


def test_an_html_file_named_png_is_refused_and_nothing_is_stored(widget):
    widget.start()
    response = widget.upload("cute.png", b"<html><script>alert(document.domain)</script></html>")
    assert response.status_code == 400
    assert "picture" in response.json()["detail"]
    assert not Message.objects.exists()


def test_a_file_over_the_limit_is_413(widget, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ATTACHMENT_BYTES", 1000)
    widget.start()
    response = widget.upload("big.png", png_bytes((200, 200)) + b"\0" * 2000)
    assert response.status_code == 413
    assert not Message.objects.exists()


# --- Limits and refusals ----------------------------------------------------------------------
def test_text_and_body_size_limits(widget):
    widget.start()
    too_long = widget.post("messages/", {"text": "x" * (limits.MAX_TEXT_LENGTH + 1)})
    assert too_long.status_code == 400
    huge = widget.client.post(
        widget.url("messages/"),
        '{"text": "' + "y" * (limits.MAX_JSON_BYTES + 10) + '"}',
        content_type="application/json",
        headers=widget.headers(),
    )
    assert huge.status_code == 413
    assert widget.post("messages/", {"text": "   "}).status_code == 400
    assert widget.post("messages/", {"text": 42}).status_code == 400
    assert not Message.objects.exists()
    assert widget.post("messages/", {"text": "x" * limits.MAX_TEXT_LENGTH}).status_code == 201


def test_messages_per_visitor_are_rate_limited_with_retry_after(widget, settings):
    settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR = 3
    widget.start()
    codes = [widget.post("messages/", {"text": f"m{n}"}).status_code for n in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    refused = widget.post("messages/", {"text": "again"})
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert refused["Access-Control-Allow-Origin"] == SHOP  # the widget can read the wait
    assert refused["Access-Control-Expose-Headers"] == "Retry-After"
    assert Message.objects.count() == 3


def test_new_sessions_per_address_are_rate_limited(chat, settings):
    settings.WEBCHAT_SESSIONS_PER_MINUTE_PER_ADDRESS = 2
    codes = [Widget(chat.widget_key).post("session/").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert Visitor.objects.count() == 2


def test_messages_per_address_are_rate_limited_across_its_visitors(chat, settings):
    settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_ADDRESS = 3
    first, second = Widget(chat.widget_key), Widget(chat.widget_key)
    first.start()
    second.start()
    codes = [w.post("messages/", {"text": "hi"}).status_code for w in (first, second) * 2]
    assert codes == [201, 201, 201, 429]  # one address, two visitors: the address's limit
    assert Message.objects.count() == 3


def test_an_inactive_campaign_refuses_messages_and_stores_nothing(widget, chat, campaign):
    widget.start()
    campaign.is_active = False
    campaign.save()
    response = widget.post("messages/", {"text": "hello?"})
    assert response.status_code == 403
    assert response.json() == {"detail": "This chat is closed."}
    assert not Message.objects.exists()
    newcomer = Widget(chat.widget_key).post("session/", {"name": "Nina"})
    assert (newcomer.status_code, newcomer.json()) == (403, {"detail": "This chat is closed."})
    assert Contact.objects.count() == 1
    assert widget.get("messages/").status_code == 200  # what was said stays readable


def test_a_new_conversation_is_assigned_automatically_once_committed(
    widget, agent, campaign, django_capture_on_commit_callbacks
):
    campaign.auto_assign = True
    campaign.save()
    presence.heartbeat(user=agent, active=True)
    widget.start()
    with django_capture_on_commit_callbacks(execute=True):
        widget.say("Is anyone there?")
    contact = contact_of(widget)
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == ("assigned", agent)
    assert Notification.objects.filter(user=agent, contact=contact, kind="assigned").exists()


def test_wrong_methods_and_content_types(widget):
    widget.start()
    assert (
        widget.client.delete(widget.url("messages/"), headers=widget.headers()).status_code == 405
    )
    plain = widget.client.post(
        widget.url("messages/"), "hi", content_type="text/plain", headers=widget.headers()
    )
    assert plain.status_code == 415


def test_a_message_sent_again_with_its_client_id_is_stored_once(widget):
    """The widget sends a message again when its answer was lost: the same `client_id` gives
    back the message stored the first time (200), never a second one."""
    widget.start()
    first = widget.post("messages/", {"text": "Where is my order?", "client_id": "a1b2c3d4e5f6"})
    again = widget.post("messages/", {"text": "Where is my order?", "client_id": "a1b2c3d4e5f6"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = widget.post("messages/", {"text": "Where is my order?", "client_id": "zz99yy88xx77"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    contact = contact_of(widget)
    assert contact.messages.filter(direction="in").count() == 2
    assert contact.unread_count == 2

    # A picture sent twice is kept once.
    payload = {"file": None, "text": "", "client_id": "picture-0001"}
    statuses = []
    for _ in range(2):
        payload["file"] = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
        response = widget.client.post(
            widget.url("messages/"), payload, headers=widget.headers(None)
        )
        statuses.append(response.status_code)
    assert statuses == [201, 200]
    assert contact.messages.filter(direction="in", kind="attachment").count() == 1

    bad = widget.post("messages/", {"text": "Hi", "client_id": "<script>"})
    assert bad.status_code == 400 and "client_id" in bad.json()["detail"]
