"""The campaign builder's pages, as an admin and as an agent sees them."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, EntryPoint
from messenger.setup import KIND, webhook_url_problem
from tests.conftest import PAGE

CREDENTIALS = {
    "app_id": PAGE["app_id"],
    "app_secret": PAGE["app_secret"],
    "page_access_token": PAGE["access_token"],
}


def panel_url(entry_point):
    return reverse("campaigns:entry_point", args=[entry_point.pk])


# --- Campaigns ------------------------------------------------------------------------------
def test_the_empty_campaign_list_invites_to_create_one(admin_client):
    response = admin_client.get(reverse("campaigns:list"))
    assert response.status_code == 200
    assert "No campaigns yet" in response.content.decode()


def test_an_admin_creates_edits_and_deactivates_a_campaign(admin_client, agent):
    response = admin_client.post(
        reverse("campaigns:create"),
        {"name": "Winter", "description": "Coats", "agents": [agent.pk]},
    )
    campaign = Campaign.objects.get(name="Winter")
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert list(campaign.agents.all()) == [agent]

    admin_client.post(reverse("campaigns:edit", args=[campaign.pk]), {"name": "Winter coats"})
    campaign.refresh_from_db()
    assert campaign.name == "Winter coats"
    assert campaign.agents.count() == 0

    admin_client.post(reverse("campaigns:set_active", args=[campaign.pk]), {"is_active": "0"})
    campaign.refresh_from_db()
    assert campaign.is_active is False
    page = admin_client.get(reverse("campaigns:list")).content.decode()
    assert "Winter coats" in page and "Inactive" in page


def test_a_campaign_without_a_name_is_shown_back_with_its_error(admin_client):
    response = admin_client.post(reverse("campaigns:create"), {"name": "", "description": "x"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Campaign.objects.count() == 0


def test_a_campaign_page_lists_its_entry_points(admin_client, connected_page):
    campaign = connected_page.entry_point.campaign
    html = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Acme page" in html
    assert PAGE["name"] in html
    assert "Waiting for Facebook" in html


def test_an_admin_adds_a_facebook_page_entry_point(admin_client, campaign):
    response = admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]),
        {"kind": KIND, "name": "Support page"},
    )
    entry_point = EntryPoint.objects.get(name="Support page")
    assert entry_point.kind == "facebook_page"
    assert entry_point.facebook_page.token_status == "unchecked"
    assert response["Location"] == panel_url(entry_point)


def test_an_entry_point_without_a_name_is_refused_on_the_campaign_page(admin_client, campaign):
    response = admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]), {"kind": KIND, "name": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not EntryPoint.objects.exists()


# --- Messenger panel: credentials -----------------------------------------------------------
def test_good_credentials_are_checked_and_the_page_is_named(admin_client, entry_point, fake_graph):
    response = admin_client.post(panel_url(entry_point), CREDENTIALS, follow=True)
    html = response.content.decode()
    page = entry_point.facebook_page
    page.refresh_from_db()
    assert page.page_id == PAGE["page_id"] and page.page_name == PAGE["name"]
    assert page.token_status == "valid"
    assert f"Connected to the Facebook Page “{PAGE['name']}”" in html
    assert len(fake_graph.calls_to("GET", "/me")) == 1


def test_a_wrong_token_is_explained_beside_the_token_and_still_saved(
    admin_client, entry_point, fake_graph
):
    response = admin_client.post(
        panel_url(entry_point), {**CREDENTIALS, "page_access_token": "EAAGwrongToken1234567890"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Facebook rejected the Page Access Token" in html
    assert 'id="id_page_access_token_error"' in html
    page = entry_point.facebook_page
    page.refresh_from_db()
    assert page.token_status == "invalid"
    assert page.app_id == PAGE["app_id"] and page.page_access_token_is_set
    assert page.last_error.startswith("Facebook rejected the Page Access Token")


def test_a_wrong_app_secret_is_explained_beside_the_secret(admin_client, entry_point, fake_graph):
    response = admin_client.post(panel_url(entry_point), {**CREDENTIALS, "app_secret": "a" * 32})
    html = response.content.decode()
    assert response.status_code == 400
    assert "The App Secret does not belong to the app" in html
    assert 'id="id_app_secret_error"' in html
    entry_point.facebook_page.refresh_from_db()
    assert entry_point.facebook_page.token_status == "unverified"


def test_an_unreachable_graph_api_is_explained_and_the_entry_is_saved(
    admin_client, entry_point, settings
):
    settings.GRAPH_API_URL = "http://127.0.0.1:9/v25.0"
    response = admin_client.post(panel_url(entry_point), CREDENTIALS)
    assert response.status_code == 400
    assert "could not be reached" in response.content.decode()
    page = entry_point.facebook_page
    page.refresh_from_db()
    assert page.has_credentials and page.token_status == "unverified"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("app_id", "my-app", "An App ID is a number"),
        ("app_secret", "not hex at all", "An App Secret is 32 letters and digits"),
        ("page_access_token", "short", "does not look like a Page Access Token"),
        ("app_secret", "", "Enter the App Secret."),
    ],
)
def test_malformed_input_is_shown_back_and_nothing_is_saved(
    admin_client, entry_point, fake_graph, field, value, message
):
    response = admin_client.post(panel_url(entry_point), {**CREDENTIALS, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    entry_point.facebook_page.refresh_from_db()
    assert not entry_point.facebook_page.has_credentials
    assert fake_graph.calls == []


def test_saved_secrets_are_kept_when_their_boxes_are_left_empty(
    admin_client, connected_page, fake_graph
):
    response = admin_client.post(
        panel_url(connected_page.entry_point),
        {"app_id": PAGE["app_id"], "app_secret": "", "page_access_token": ""},
    )
    assert response.status_code == 302
    connected_page.refresh_from_db()
    assert connected_page.app_secret == PAGE["app_secret"]
    assert connected_page.token_status == "valid"


def test_saved_secrets_never_appear_in_the_panel(admin_client, connected_page):
    html = admin_client.get(panel_url(connected_page.entry_point)).content.decode()
    assert PAGE["app_secret"] not in html
    assert PAGE["access_token"] not in html
    assert connected_page.app_secret_ciphertext not in html
    assert f"Saved · ends in {PAGE['access_token'][-4:]}" in html


def test_secrets_that_cannot_be_decrypted_are_asked_for_again(
    admin_client, connected_page, settings
):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    url = panel_url(connected_page.entry_point)
    html = admin_client.get(url).content.decode()
    assert "can't be decrypted with the current encryption key" in html
    assert connected_page.app_secret_ciphertext not in html
    response = admin_client.post(url, {"app_id": PAGE["app_id"]})
    assert response.status_code == 400
    assert "Enter it again." in response.content.decode()


# --- Messenger panel: Get Webhook -----------------------------------------------------------
def test_get_webhook_shows_an_absolute_url_and_a_verify_token(admin_client, entry_point):
    response = admin_client.post(
        reverse("messenger_builder:webhook", args=[entry_point.pk]), follow=True
    )
    page = entry_point.facebook_page
    page.refresh_from_db()
    html = response.content.decode()
    assert f'value="http://testserver/messenger/webhook/{page.webhook_key}/"' in html
    assert f'value="{page.verify_token}"' in html
    assert "Waiting for Facebook to verify this webhook" in html


def test_the_webhook_url_uses_public_base_url_when_set(admin_client, entry_point, settings):
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    response = admin_client.post(
        reverse("messenger_builder:webhook", args=[entry_point.pk]), follow=True
    )
    entry_point.facebook_page.refresh_from_db()
    key = entry_point.facebook_page.webhook_key
    assert f"https://support.example.com/messenger/webhook/{key}/" in response.content.decode()


def test_a_webhook_url_facebook_cannot_reach_is_flagged_with_the_fix(admin_client, entry_point):
    response = admin_client.post(
        reverse("messenger_builder:webhook", args=[entry_point.pk]), follow=True
    )
    html = response.content.decode()
    assert 'data-testid="webhook-url-not-public"' in html
    assert "testserver is a name only this machine or its network knows." in html
    assert "PUBLIC_BASE_URL" in html


def test_a_public_https_webhook_url_is_not_flagged(admin_client, entry_point, settings):
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    response = admin_client.post(
        reverse("messenger_builder:webhook", args=[entry_point.pk]), follow=True
    )
    assert 'data-testid="webhook-url-not-public"' not in response.content.decode()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8000/messenger/webhook/k/", "127.0.0.1 is an address of this machine"),
        ("https://10.1.2.3/messenger/webhook/k/", "10.1.2.3 is an address of this machine"),
        ("https://[::1]/messenger/webhook/k/", "::1 is an address of this machine"),
        ("https://localhost/messenger/webhook/k/", "localhost is a name only this machine"),
        ("https://desk.local/messenger/webhook/k/", "desk.local is a name only this machine"),
        ("http://support.example.com/messenger/webhook/k/", "only calls https:// URLs"),
        ("https://support.example.com/messenger/webhook/k/", ""),
        ("https://abc.trycloudflare.com/messenger/webhook/k/", ""),
    ],
)
def test_which_webhook_urls_facebook_can_call(url, problem):
    found = webhook_url_problem(url)
    assert (problem in found) if problem else found == ""
    assert bool(found) == bool(problem)


def test_the_webhook_card_names_every_field_the_desk_needs(admin_client, connected_page):
    html = admin_client.get(panel_url(connected_page.entry_point)).content.decode()
    for field in ("messages", "message_deliveries", "message_reads", "message_echoes"):
        assert f"<code>{field}</code>" in html


def test_pressing_get_webhook_again_asks_before_rotating(admin_client, connected_page):
    url = reverse("messenger_builder:webhook", args=[connected_page.entry_point.pk])
    key = connected_page.webhook_key
    response = admin_client.post(url)
    assert response["Location"] == url
    connected_page.refresh_from_db()
    assert connected_page.webhook_key == key
    confirm = admin_client.get(url).content.decode()
    assert "Make a new Webhook URL and Verify Token?" in confirm
    admin_client.post(url, {"rotate": "1"})
    connected_page.refresh_from_db()
    assert connected_page.webhook_key != key


def test_the_webhook_status_turns_verified_after_the_handshake(
    admin_client, client, connected_page
):
    status_url = reverse("messenger_builder:webhook_status", args=[connected_page.entry_point.pk])
    assert "Waiting for Facebook" in admin_client.get(status_url).content.decode()
    from messenger.setup import facebook_page_mark_webhook_verified

    facebook_page_mark_webhook_verified(page=connected_page)
    assert "Verified by Facebook" in admin_client.get(status_url).content.decode()


# --- Who may see what -----------------------------------------------------------------------
BUILDER_URLS = [
    ("campaigns:list", False),
    ("campaigns:create", False),
    ("campaigns:detail", "campaign"),
    ("campaigns:edit", "campaign"),
    ("campaigns:entry_point", "entry_point"),
    ("messenger_builder:webhook", "entry_point"),
    ("messenger_builder:webhook_status", "entry_point"),
]


def _builder_urls(entry_point):
    for name, arg in BUILDER_URLS:
        args = {"campaign": [entry_point.campaign.pk], "entry_point": [entry_point.pk]}
        yield reverse(name, args=args.get(arg, []))


def test_agents_cannot_open_any_builder_page(agent_client, connected_page):
    for url in _builder_urls(connected_page.entry_point):
        response = agent_client.get(url)
        assert response.status_code == 403, url
        assert connected_page.verify_token not in response.content.decode()
    response = agent_client.post(
        reverse("messenger_builder:webhook", args=[connected_page.entry_point.pk])
    )
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, connected_page):
    for url in _builder_urls(connected_page.entry_point):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_login_lands_admins_on_campaigns_and_agents_on_the_desktop(client, admin_user, agent):
    from tests.conftest import PASSWORD

    response = client.post("/login/", {"username": "ada", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("campaigns:list")
    client.post("/logout/")
    response = client.post("/login/", {"username": "alex", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("agent_desktop:home")
    assert "Spring sale" in response.content.decode()


def test_a_wrong_password_is_shown_on_the_login_form(client, agent):
    response = client.post("/login/", {"username": "alex", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_a_token_that_expires_within_a_week_is_flagged_in_the_builder(admin_client, connected_page):
    from datetime import timedelta

    from django.utils import timezone

    connected_page.token_checked_at = timezone.now()
    connected_page.token_expires_at = timezone.now() + timedelta(days=3)
    connected_page.save()
    html = admin_client.get(panel_url(connected_page.entry_point)).content.decode()
    assert "Token expires" in html and "paste a new token before then" in html
    campaign_page = admin_client.get(connected_page.entry_point.campaign.get_absolute_url())
    assert "Token expires" in campaign_page.content.decode()
