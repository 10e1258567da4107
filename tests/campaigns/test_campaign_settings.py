"""The campaign's settings in the builder form and the API: automatic assignment, business hours
and the away reply."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns.business_hours import AWAY_MESSAGE_MAX_LENGTH, validate_schedule
from messenger.limits import MAX_TEXT_LENGTH

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def settings_post(**changes):
    """The edit form as a browser posts it: business hours on, Mon-Fri 09:00-17:00 in Berlin."""
    data = {
        "name": "Spring sale",
        "description": "",
        "auto_assign": "on",
        "hours_enabled": "on",
        "hours_timezone": "Europe/Berlin",
        "holidays": "2026-12-25\n2026-12-26",
        "away_message": "We're closed; we answer from 09:00.",
        **{f"{day}_opens": "09:00" for day in WEEKDAYS},
        **{f"{day}_closes": "17:00" for day in WEEKDAYS},
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def edit(admin_client, campaign, data):
    return admin_client.post(reverse("campaigns:edit", args=[campaign.pk]), data)


def test_an_admin_sets_business_hours_an_away_reply_and_automatic_assignment(
    admin_client, campaign
):
    response = edit(admin_client, campaign, settings_post(sat_opens="10:00", sat_closes="00:00"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.auto_assign is True
    assert campaign.away_message == "We're closed; we answer from 09:00."
    assert campaign.business_hours == {
        "timezone": "Europe/Berlin",
        "days": {
            **{day: [["09:00", "17:00"]] for day in WEEKDAYS},
            "sat": [["10:00", "24:00"]],  # a closing time of 00:00 is midnight
            "sun": [],
        },
        "holidays": ["2026-12-25", "2026-12-26"],
    }


def test_the_form_shows_the_saved_schedule_back(admin_client, campaign):
    edit(admin_client, campaign, settings_post(sat_opens="10:00", sat_closes="00:00"))
    page = admin_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'id="id_hours_enabled" checked' in page
    assert '<option value="Europe/Berlin" selected>' in page
    assert 'name="mon_opens" value="09:00"' in page
    assert 'name="sat_closes" value="00:00"' in page
    assert 'name="sun_opens" id="id_sun_opens"' in page and 'name="sun_opens" value' not in page
    assert "2026-12-25\n2026-12-26</textarea>" in page


def test_a_day_with_more_openings_than_the_form_shows_says_so(admin_client, campaign):
    campaign.business_hours = validate_schedule(
        {"timezone": "UTC", "days": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}}
    )
    campaign.save()
    page = admin_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'name="mon_opens" value="08:00"' in page and 'name="mon_closes" value="12:00"' in page
    assert "Monday has 1 more opening set through the API" in page


def test_turning_business_hours_off_makes_the_campaign_always_open(admin_client, campaign):
    campaign.business_hours = validate_schedule({"timezone": "UTC", "days": {}})
    campaign.save()
    edit(admin_client, campaign, settings_post(hours_enabled=None))
    campaign.refresh_from_db()
    assert campaign.business_hours is None


def test_a_new_campaign_is_always_open_with_weekday_hours_suggested(admin_client):
    page = admin_client.get(reverse("campaigns:create")).content.decode()
    assert 'id="id_hours_enabled"' in page
    assert 'id="id_hours_enabled" checked' not in page
    assert 'name="fri_closes" value="17:00"' in page and 'name="sat_opens" value' not in page
    assert '<option value="UTC" selected>' in page  # settings.TIME_ZONE


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        (
            {"tue_opens": "18:00", "tue_closes": "08:00"},
            "Tuesday: Closes (08:00) before it opens (18:00).",
        ),
        ({"wed_closes": ""}, "Wednesday: Give both times, or leave both empty for a closed day."),
        ({"thu_opens": "nine"}, "Thursday: Enter a valid time."),
        ({"holidays": "2026-12-25\n25.12.2026"}, "“25.12.2026”: give each holiday as a date like"),
        ({"hours_timezone": "Mars/Olympus"}, "Select a valid choice. Mars/Olympus is not one"),
        ({"hours_timezone": ""}, "Choose a time zone, e.g. “Europe/Berlin”."),
        (
            {"away_message": "x" * (AWAY_MESSAGE_MAX_LENGTH + 1)},
            f"Ensure this value has at most {AWAY_MESSAGE_MAX_LENGTH} characters (it has 2000).",
        ),
    ],
)
def test_bad_settings_are_shown_back_with_their_error_and_nothing_is_saved(
    admin_client, campaign, changes, shown
):
    response = edit(admin_client, campaign, settings_post(**changes))
    assert response.status_code == 200  # the form again, as the builder's generic views answer
    page = response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert shown in page
    assert 'role="alert"' in page
    for value in changes.values():
        if value and len(value) < 30:
            assert value.split("\n")[-1] in page  # the bad input is shown back
    campaign.refresh_from_db()
    assert (campaign.business_hours, campaign.away_message) == (None, "")


def test_the_away_reply_fits_one_message_of_every_channel():
    assert AWAY_MESSAGE_MAX_LENGTH <= MAX_TEXT_LENGTH


def test_the_campaign_page_summarises_the_settings(admin_client, campaign):
    edit(admin_client, campaign, settings_post())
    page = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Mon\u2013Fri 09:00\u201317:00 · Europe/Berlin · 2 holidays" in page
    assert 'data-testid="away-summary">On<' in page


def test_without_business_hours_the_campaign_page_says_always_open(admin_client, campaign):
    page = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert 'data-testid="hours-summary">Always open' in page
    assert 'data-testid="away-summary">Off<' in page


# --- API -----------------------------------------------------------------------------------------
@pytest.fixture
def admin_api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_the_api_takes_business_hours_and_answers_them_normalised(admin_api, campaign):
    response = admin_api.patch(
        f"/api/campaigns/{campaign.pk}/",
        {
            "business_hours": {"timezone": "Asia/Tokyo", "days": {"mon": [["09:00", "18:00"]]}},
            "away_message": "Closed now.",
            "auto_assign": True,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["business_hours"]["days"]["mon"] == [["09:00", "18:00"]]
    assert body["business_hours"]["days"]["sun"] == []
    assert body["business_hours"]["holidays"] == []
    assert (body["away_message"], body["auto_assign"]) == ("Closed now.", True)
    response = admin_api.patch(
        f"/api/campaigns/{campaign.pk}/", {"business_hours": None}, format="json"
    )
    assert response.json()["business_hours"] is None


def test_the_api_answers_a_bad_schedule_with_400_naming_each_part(admin_api, campaign):
    response = admin_api.patch(
        f"/api/campaigns/{campaign.pk}/",
        {
            "business_hours": {
                "timezone": "Europe/Nowhere",
                "days": {"fri": [["17:00", "09:00"]]},
                "holidays": ["tomorrow"],
            }
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["business_hours"]
    assert set(errors) == {"timezone", "days.fri", "holidays"}
    assert errors["timezone"] == ["“Europe/Nowhere” is not a time zone name like “Europe/Berlin”."]
    assert errors["days.fri"][0].startswith("Closes (09:00) before it opens (17:00).")
    campaign.refresh_from_db()
    assert campaign.business_hours is None


def test_the_api_refuses_a_schedule_that_is_not_an_object(admin_api, campaign):
    response = admin_api.patch(
        f"/api/campaigns/{campaign.pk}/", {"business_hours": "9 to 5"}, format="json"
    )
    assert response.status_code == 400
    assert "Business hours are an object" in str(response.json()["business_hours"])


def test_agents_may_not_change_business_hours(agent, campaign):
    client = APIClient()
    client.force_authenticate(agent)
    response = client.patch(
        f"/api/campaigns/{campaign.pk}/", {"business_hours": None}, format="json"
    )
    assert response.status_code == 403
