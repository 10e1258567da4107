"""The contacts API, and its campaign isolation."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agent_desktop.models import Message

CONTACT_FIELDS = {
    "id",
    "channel",
    "external_id",
    "name",
    "first_name",
    "last_name",
    "profile_pic",
    "locale",
    "timezone",
    "gender",
    "entry_point",
    "campaign",
    "status",
    "assigned_to",
    "unread_count",
    "last_message_at",
    "created_at",
}
MESSAGE_FIELDS = {
    "id",
    "contact",
    "direction",
    "kind",
    "text",
    "attachments",
    "mid",
    "status",
    "error",
    "sent_by",
    "created_at",
}


@pytest.fixture
def api(agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    return client


def test_contacts_have_the_contract_shape(api, make_contact, campaign):
    contact = make_contact(first_name="Maria")
    (row,) = api.get("/api/contacts/").json()["results"]
    assert set(row) >= CONTACT_FIELDS
    assert row["channel"] == "messenger" and row["external_id"] == contact.external_id
    assert row["name"] == "Maria" and row["campaign"] == campaign.pk and row["status"] == "new"


def test_contacts_filter_by_status_assignment_and_campaign(api, make_contact, agent, campaign):
    make_contact("6500000000000001", assigned_to=agent, status="assigned")
    make_contact("6500000000000002", status="closed")
    make_contact("6500000000000003")

    def ids(**params):
        return sorted(
            r["external_id"][-1] for r in api.get("/api/contacts/", params).json()["results"]
        )

    assert ids() == ["1", "2", "3"]
    assert ids(status="closed") == ["2"]
    assert ids(assigned="me") == ["1"]
    assert ids(assigned="none") == ["2", "3"]
    assert ids(campaign=campaign.pk) == ["1", "2", "3"]
    assert ids(campaign=campaign.pk + 1) == []


def test_messages_oldest_first_and_a_reply_is_201(
    api, make_contact, django_capture_on_commit_callbacks
):
    contact = make_contact()
    messages = api.get(f"/api/contacts/{contact.pk}/messages/").json()["results"]
    assert set(messages[0]) >= MESSAGE_FIELDS and messages[0]["direction"] == "in"
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            f"/api/contacts/{contact.pk}/messages/", {"text": "On it!"}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    assert (body["direction"], body["status"], body["text"]) == ("out", "queued", "On it!")
    assert body["continued_in"] == [] and len(callbacks) == 1
    listed = api.get(f"/api/contacts/{contact.pk}/messages/").json()["results"]
    assert [m["direction"] for m in listed] == ["in", "out"]


def test_a_long_api_reply_is_split_and_says_so(api, make_contact):
    contact = make_contact()
    response = api.post(
        f"/api/contacts/{contact.pk}/messages/", {"text": "z " * 1500}, format="json"
    )
    assert response.status_code == 201
    assert len(response.json()["continued_in"]) == 1
    assert Message.objects.filter(direction="out").count() == 2


def test_claim_and_close(api, make_contact, agent):
    contact = make_contact()
    claimed = api.post(f"/api/contacts/{contact.pk}/claim/").json()
    assert claimed["status"] == "assigned" and claimed["assigned_to"] == agent.pk
    assert api.post(f"/api/contacts/{contact.pk}/close/").json()["status"] == "closed"


def test_another_campaigns_contact_is_404_on_every_endpoint(api, make_contact, other_entry_point):
    theirs = make_contact("6500000000000009", entry_point_=other_entry_point)
    assert api.get("/api/contacts/").json()["results"] == []
    base = f"/api/contacts/{theirs.pk}"
    assert api.get(f"{base}/").status_code == 404
    assert api.get(f"{base}/messages/").status_code == 404
    assert api.post(f"{base}/messages/", {"text": "x"}, format="json").status_code == 404
    for action in ("claim", "release", "close", "transfer"):
        assert api.post(f"{base}/{action}/").status_code == 404, action
    assert not Message.objects.filter(direction="out").exists()


def test_the_schema_lists_the_contact_endpoints(api):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/contacts/",
        "/api/contacts/{id}/messages/",
        "/api/contacts/{id}/claim/",
        "/api/contacts/{id}/close/",
    ]:
        assert path in paths
