"""REST API for campaigns and entry points."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import EntryPoint
from messenger.setup import KIND
from tests.conftest import PAGE

ENTRY_POINT_FIELDS = {
    "id",
    "campaign",
    "kind",
    "name",
    "app_id",
    "app_secret_set",
    "page_access_token_set",
    "page_id",
    "page_name",
    "webhook_url",
    "verify_token",
    "webhook_verified_at",
    "last_event_at",
    "token_status",
}


def api_as(user):
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def admin_api(admin_user):
    return api_as(admin_user)


@pytest.fixture
def agent_api(agent):
    return api_as(agent)


def test_an_admin_creates_a_campaign_and_lists_it(admin_api):
    response = admin_api.post(
        "/api/campaigns/", {"name": "Launch", "description": "d"}, format="json"
    )
    assert response.status_code == 201
    assert {"id", "name", "description", "is_active"} <= set(response.json())
    listed = admin_api.get("/api/campaigns/").json()["results"]
    assert [c["name"] for c in listed] == ["Launch"]


def test_deleting_a_campaign_through_the_api_deactivates_it(admin_api, campaign):
    assert admin_api.delete(f"/api/campaigns/{campaign.pk}/").status_code == 204
    campaign.refresh_from_db()
    assert campaign.is_active is False


def test_an_entry_point_is_created_checked_and_answers_without_secrets(
    admin_api, campaign, fake_graph
):
    response = admin_api.post(
        "/api/entry-points/",
        {
            "campaign": campaign.pk,
            "kind": KIND,
            "name": "Acme",
            "app_id": PAGE["app_id"],
            "app_secret": PAGE["app_secret"],
            "page_access_token": PAGE["access_token"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= ENTRY_POINT_FIELDS
    assert "app_secret" not in body and "page_access_token" not in body
    assert body["kind"] == "facebook_page"
    assert body["app_secret_set"] is True and body["page_access_token_set"] is True
    assert body["page_id"] == PAGE["page_id"] and body["page_name"] == PAGE["name"]
    assert body["token_status"] == "valid"
    assert PAGE["app_secret"] not in response.content.decode()
    assert PAGE["access_token"] not in response.content.decode()


def test_a_wrong_token_through_the_api_is_saved_with_its_status(admin_api, entry_point, fake_graph):
    response = admin_api.patch(
        f"/api/entry-points/{entry_point.pk}/",
        {
            "app_id": PAGE["app_id"],
            "app_secret": PAGE["app_secret"],
            "page_access_token": "EAAGwrongwrongwrong1234567",
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["token_status"] == "invalid"
    assert "Facebook rejected the Page Access Token" in response.json()["last_error"]


def test_malformed_credentials_get_field_errors(admin_api, entry_point):
    response = admin_api.patch(
        f"/api/entry-points/{entry_point.pk}/", {"app_id": "abc"}, format="json"
    )
    assert response.status_code == 400
    assert "An App ID is a number" in response.json()["app_id"][0]


def test_get_webhook_through_the_api_and_rotation_needs_asking(admin_api, entry_point):
    url = f"/api/entry-points/{entry_point.pk}/webhook/"
    first = admin_api.post(url, {}, format="json")
    assert first.status_code == 200
    body = first.json()
    entry_point.facebook_page.refresh_from_db()
    key = entry_point.facebook_page.webhook_key
    assert body["webhook_url"] == f"http://testserver/messenger/webhook/{key}/"
    assert body["verify_token"] == entry_point.facebook_page.verify_token
    assert admin_api.post(url, {}, format="json").status_code == 409
    rotated = admin_api.post(url, {"rotate": True}, format="json")
    assert rotated.status_code == 200 and rotated.json()["webhook_url"] != body["webhook_url"]


def test_agents_read_only_their_campaigns_and_no_entry_points(
    agent_api, campaign, other_campaign, connected_page
):
    names = [c["name"] for c in agent_api.get("/api/campaigns/").json()["results"]]
    assert names == [campaign.name]
    assert agent_api.get(f"/api/campaigns/{other_campaign.pk}/").status_code == 404
    assert agent_api.post("/api/campaigns/", {"name": "x"}, format="json").status_code == 403
    assert agent_api.get("/api/entry-points/").status_code == 403
    url = f"/api/entry-points/{connected_page.entry_point.pk}/webhook/"
    assert agent_api.post(url, {}, format="json").status_code == 403


def test_the_api_needs_authentication(client, db):
    assert client.get("/api/campaigns/").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get("/api/campaigns/").status_code == 401


def test_the_openapi_schema_describes_the_contract(admin_api):
    response = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/entry-points/{id}/webhook/" in schema["paths"]
    entry_point = schema["components"]["schemas"]["EntryPoint"]["properties"]
    assert entry_point["app_secret"].get("writeOnly") is True
    assert entry_point["page_access_token"].get("writeOnly") is True


def test_entry_point_list_filters_by_campaign(admin_api, entry_point, other_campaign):
    from messenger.setup import facebook_page_entry_point_create

    facebook_page_entry_point_create(campaign=other_campaign, name="Other page")
    results = admin_api.get(f"/api/entry-points/?campaign={entry_point.campaign_id}").json()
    assert [r["name"] for r in results["results"]] == ["Acme page"]
    assert EntryPoint.objects.count() == 2
