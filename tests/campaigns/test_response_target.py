"""A campaign's first response target (reports count the share answered within it): in the
builder form and the API, 300 seconds unless set."""

from django.urls import reverse
from rest_framework.test import APIClient

from tests.campaigns.test_campaign_settings import settings_post


def test_the_target_is_five_minutes_until_an_admin_changes_it_in_the_form(admin_client, campaign):
    assert campaign.first_response_target_seconds == 300
    page = admin_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'name="first_response_target_seconds" value="300"' in page
    url = reverse("campaigns:edit", args=[campaign.pk])
    admin_client.post(url, settings_post(first_response_target_seconds="900"))
    campaign.refresh_from_db()
    assert campaign.first_response_target_seconds == 900
    admin_client.post(url, settings_post())  # a post without it keeps it
    campaign.refresh_from_db()
    assert campaign.first_response_target_seconds == 900


def test_a_target_out_of_range_is_refused(admin_client, campaign):
    url = reverse("campaigns:edit", args=[campaign.pk])
    response = admin_client.post(url, settings_post(first_response_target_seconds="0"))
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.first_response_target_seconds == 300


def test_the_api_reads_and_writes_the_target(admin_user, campaign):
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.patch(
        f"/api/campaigns/{campaign.pk}/", {"first_response_target_seconds": 120}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["first_response_target_seconds"] == 120
    bad = api.patch(
        f"/api/campaigns/{campaign.pk}/", {"first_response_target_seconds": -5}, format="json"
    )
    assert bad.status_code == 400
