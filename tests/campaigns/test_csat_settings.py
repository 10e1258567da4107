"""The campaign's satisfaction survey settings: off by default with a sensible question,
switched on and reworded in the campaign form and the API; an empty question keeps the one
the campaign has."""

from django.urls import reverse
from rest_framework.test import APIClient

from campaigns.models import CSAT_QUESTION, CSAT_QUESTION_MAX_LENGTH
from tests.campaigns.test_campaign_settings import settings_post


def test_off_by_default_and_switched_on_in_the_form(admin_client, campaign):
    assert (campaign.csat_enabled, campaign.csat_question) == (False, CSAT_QUESTION)
    url = reverse("campaigns:edit", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="csat_enabled"' in page and 'name="csat_question"' in page

    admin_client.post(url, settings_post(csat_enabled="on", csat_question=" How did we do? "))
    campaign.refresh_from_db()
    assert (campaign.csat_enabled, campaign.csat_question) == (True, "How did we do?")

    admin_client.post(url, settings_post(csat_enabled="on", csat_question=""))
    campaign.refresh_from_db()
    assert campaign.csat_question == "How did we do?"  # empty: kept


def test_a_question_too_long_is_refused(admin_client, campaign):
    url = reverse("campaigns:edit", args=[campaign.pk])
    response = admin_client.post(
        url, settings_post(csat_question="x" * (CSAT_QUESTION_MAX_LENGTH + 1))
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.csat_question == CSAT_QUESTION


def test_the_api_reads_and_writes_it(admin_user, campaign):
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.patch(
        f"/api/campaigns/{campaign.pk}/",
        {"csat_enabled": True, "csat_question": "Rate us"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["csat_enabled"], response.json()["csat_question"]) == (True, "Rate us")
