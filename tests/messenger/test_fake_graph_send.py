"""The fake Graph API's Send API: Graph's parameter checks and Messenger's rules, over HTTP."""

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from messenger import graph
from messenger.sandbox.fake_graph import ERROR_BODIES
from tests.conftest import PAGE

PSID = "6512345678901234"
TOKEN = {"access_token": PAGE["access_token"]}


def client():
    return graph.GraphClient(PAGE["access_token"], PAGE["app_secret"])


def post(fake_graph, path, **kwargs):
    """A raw POST, as the docs' curl samples make them (no client of ours)."""
    kwargs.setdefault("params", TOKEN)
    return requests.post(f"{fake_graph.url}{path}", timeout=5, **kwargs)


def error_of(response):
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("error_subcode")


def send(fake_graph, **body):
    body.setdefault("recipient", {"id": PSID})
    return post(fake_graph, "/me/messages", json=body)


# --- Sending ---------------------------------------------------------------------------------
def test_the_client_sends_a_text_and_gets_a_new_message_id_each_time(fake_graph):
    first = client().send_message(PSID, {"text": "Hello"}, "RESPONSE")
    second = client().send_message(PSID, {"text": "Hello again"}, "RESPONSE", metadata="cb:7")
    assert first.startswith("m_") and second.startswith("m_") and first != second
    sent = fake_graph.sent_messages(PSID)
    assert [s["message_id"] for s in sent] == [first, second]
    assert sent[1]["message"] == {"text": "Hello again", "metadata": "cb:7"}
    assert (sent[1]["messaging_type"], sent[1]["tag"]) == ("RESPONSE", None)
    assert sent[1]["page_id"] == PAGE["page_id"]
    assert fake_graph.sent_messages("someone else") == []


def test_a_send_answers_like_graph(fake_graph):
    response = send(fake_graph, messaging_type="RESPONSE", message={"text": "Hi"})
    assert response.status_code == 200
    assert set(response.json()) == {"recipient_id", "message_id"}
    assert response.json()["recipient_id"] == PSID


def test_a_form_body_with_json_strings_and_the_token_in_the_form_is_accepted(fake_graph):
    response = post(
        fake_graph,
        f"/{PAGE['page_id']}/messages",
        params={},
        data={
            "access_token": PAGE["access_token"],
            "recipient": "{'id':'" + PSID + "'}",  # the docs' curl samples quote like this
            "messaging_type": "RESPONSE",
            "message": json.dumps({"text": "From a form"}),
        },
    )
    assert response.status_code == 200, response.text
    (sent,) = fake_graph.sent_messages(PSID)
    assert sent["message"] == {"text": "From a form"}


def test_another_pages_messages_edge_is_not_served(fake_graph):
    response = post(
        fake_graph,
        "/999999999/messages",
        json={"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
    )
    assert response.status_code == 400 and fake_graph.sent_messages() == []


def test_a_sender_action_answers_with_the_recipient_only(fake_graph):
    response = send(fake_graph, sender_action="typing_on")
    assert response.json() == {"recipient_id": PSID}
    assert [a["action"] for a in fake_graph.sent_sender_actions(PSID)] == ["typing_on"]
    assert fake_graph.sent_messages() == []
    combined = send(fake_graph, sender_action="mark_seen", message={"text": "x"})
    assert error_of(combined) == (400, 100, None)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"message": {"text": "x" * 2000}}, "100_text_too_long"),
        ({"messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE"}, "100_tag_not_supported"),
        ({"messaging_type": "MESSAGE_TAG", "tag": "POST_PURCHASE_UPDATE"}, "100_tag_not_supported"),
        ({"messaging_type": "MESSAGE_TAG"}, "100_tag_required"),
        ({"messaging_type": "PROMOTION"}, "100_messaging_type_invalid"),
        ({"message": {}}, "100_2018034_empty_message"),
        ({"message": {"text": "x", "attachment": {}}}, "100_text_and_attachment"),
        ({"recipient": {}}, "100_recipient_required"),
        (
            {"message": {"attachment": {"type": "gif", "payload": {}}}},
            "100_attachment_type_invalid",
        ),
        (
            {"message": {"attachment": {"type": "file", "payload": {"attachment_id": "1"}}}},
            "100_attachment_id_invalid",
        ),
    ],
)
def test_graphs_parameter_checks_answer_code_100(fake_graph, body, error):
    body = {"messaging_type": "RESPONSE", "message": {"text": "Hi"}, **body}
    response = send(fake_graph, **body)
    assert response.status_code == 400
    assert response.json() == ERROR_BODIES[error]
    assert response.json()["error"]["code"] == 100
    assert fake_graph.sent_messages() == []


def test_a_text_just_under_2000_characters_is_accepted(fake_graph):
    assert send(fake_graph, messaging_type="RESPONSE", message={"text": "x" * 1999}).ok


# --- Messenger's rules -----------------------------------------------------------------------
def test_someone_the_fake_never_heard_of_counts_as_having_just_written(fake_graph):
    assert send(fake_graph, messaging_type="RESPONSE", message={"text": "Hi"}).ok


def test_after_24_hours_only_the_human_agent_tag_gets_through_until_7_days(fake_graph):
    fake_graph.customer_wrote(PSID, timezone.now() - timedelta(hours=25))
    plain = send(fake_graph, messaging_type="RESPONSE", message={"text": "Hi"})
    assert error_of(plain) == (400, 10, 2018278)
    update = send(fake_graph, messaging_type="UPDATE", message={"text": "Hi"})
    assert error_of(update) == (400, 10, 2018278)
    tagged = send(
        fake_graph, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT", message={"text": "Hi"}
    )
    assert tagged.ok
    (sent,) = fake_graph.sent_messages(PSID)
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")

    fake_graph.customer_wrote(PSID, timezone.now() - timedelta(days=7, minutes=1))
    late = send(fake_graph, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT", message={"text": "x"})
    assert error_of(late) == (400, 10, 2018278)
    with pytest.raises(graph.OutsideWindow):
        client().send_message(PSID, {"text": "x"}, "MESSAGE_TAG", tag="HUMAN_AGENT")

    fake_graph.customer_wrote(PSID)  # writes again: the window opens
    assert send(fake_graph, messaging_type="RESPONSE", message={"text": "Hi"}).ok


def test_a_person_who_blocked_the_page_cannot_be_messaged(fake_graph):
    fake_graph.block(PSID)
    with pytest.raises(graph.RecipientUnavailable) as caught:
        client().send_message(PSID, {"text": "Hi"}, "RESPONSE")
    assert (caught.value.code, caught.value.subcode) == (551, 1545041)
    fake_graph.unblock(PSID)
    client().send_message(PSID, {"text": "Hi"}, "RESPONSE")


def test_an_app_in_development_mode_messages_only_people_with_a_role(fake_graph):
    fake_graph.add_page(**PAGE, app_live=False)
    with pytest.raises(graph.PermissionMissing) as caught:
        client().send_message(PSID, {"text": "Hi"}, "RESPONSE")
    assert (caught.value.code, caught.value.subcode) == (200, 2018028)
    fake_graph.add_role(PSID)
    client().send_message(PSID, {"text": "Hi"}, "RESPONSE")
    assert len(fake_graph.sent_messages(PSID)) == 1


# --- Attachments -----------------------------------------------------------------------------
def test_a_multipart_upload_keeps_the_exact_bytes_and_its_id_can_be_sent(fake_graph):
    content = bytes(range(256)) * 64 + b"\r\n--\r\n"
    attachment_id = client().upload_attachment("file", "notes.bin", content, "text/plain")
    (upload,) = fake_graph.uploaded_attachments()
    assert upload["attachment_id"] == attachment_id
    assert (upload["type"], upload["filename"], upload["content_type"], upload["content"]) == (
        "file",
        "notes.bin",
        "text/plain",
        content,
    )
    (call,) = fake_graph.calls_to("POST", "/me/message_attachments")
    assert call.query["appsecret_proof"] == graph.appsecret_proof(
        PAGE["access_token"], PAGE["app_secret"]
    )
    assert json.loads(call.body["message"]) == {
        "attachment": {"type": "file", "payload": {"is_reusable": True}}
    }
    message = {"attachment": {"type": "file", "payload": {"attachment_id": attachment_id}}}
    client().send_message(PSID, message, "RESPONSE")
    (sent,) = fake_graph.sent_messages(PSID)
    assert sent["message"] == message


def test_an_upload_by_url_in_a_json_body_answers_an_attachment_id(fake_graph):
    response = post(
        fake_graph,
        f"/{PAGE['page_id']}/message_attachments",
        json={
            "message": {
                "attachment": {
                    "type": "image",
                    "payload": {"url": "https://files.example.com/a.png", "is_reusable": True},
                }
            }
        },
    )
    assert response.status_code == 200
    (upload,) = fake_graph.uploaded_attachments()
    assert response.json() == {"attachment_id": upload["attachment_id"]}
    assert upload["url"] == "https://files.example.com/a.png"


def test_a_reusable_url_attachment_is_sent_and_answers_its_attachment_id(fake_graph):
    payload = {"url": "https://files.example.com/receipt.png", "is_reusable": True}
    response = send(
        fake_graph,
        messaging_type="RESPONSE",
        message={"attachment": {"type": "image", "payload": payload}},
    )
    assert set(response.json()) == {"recipient_id", "message_id", "attachment_id"}


def test_an_upload_without_a_file_or_url_is_refused(fake_graph):
    with pytest.raises(graph.InvalidRequest):
        client().request(
            "POST",
            "/me/message_attachments",
            json={"message": {"attachment": {"type": "image", "payload": {}}}},
        )


def test_an_upload_over_25_mb_is_refused(fake_graph):
    too_big = b"\0" * (25 * 1024 * 1024 + 1)
    with pytest.raises(graph.InvalidRequest) as caught:
        client().upload_attachment("video", "film.mp4", too_big, "video/mp4")
    assert caught.value.subcode == 2018109


# --- What the client makes of a missing answer -----------------------------------------------
def test_a_send_that_gets_no_answer_may_have_gone_out(fake_graph):
    fake_graph.stall_next(0.8, path_contains="/me/messages")
    slow = graph.GraphClient(PAGE["access_token"], PAGE["app_secret"], timeout=0.3)
    with pytest.raises(graph.OutcomeUnknown) as caught:
        slow.send_message(PSID, {"text": "Hi"}, "RESPONSE")
    assert caught.value.retryable and isinstance(caught.value, graph.Unreachable)


def test_a_refused_connection_is_unreachable_and_certainly_not_sent(settings):
    settings.GRAPH_API_URL = "http://127.0.0.1:9/v25.0"
    with pytest.raises(graph.Unreachable) as caught:
        client().send_message(PSID, {"text": "Hi"}, "RESPONSE")
    assert not isinstance(caught.value, graph.OutcomeUnknown)
