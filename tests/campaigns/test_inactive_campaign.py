"""An inactive campaign holds: no new entry points (form, API, builder), its pages' deliveries
are kept but ignored ("campaign inactive", no contact, no Graph call), every builder page says
so, and once it is active again the kept deliveries replay into conversations."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from agent_desktop.models import Contact
from campaigns import services as builder
from campaigns.models import AuditEntry, EntryPoint
from messenger import delivery_log, services
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import (
    encode_like_facebook,
    page_body,
    signature_headers,
    text_item,
)
from messenger.setup import KIND
from tests.campaigns.test_delivery_log import log_url
from tests.conftest import PAGE, connect_page

INACTIVE = "This campaign is inactive: it accepts no new entry points. Activate it first."


@pytest.fixture
def admin_api(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


def post_signed_message(client, page, text="", *, psid="4440001", body=None):
    """Post to the page's webhook URL as Facebook would: a customer's text, or `body`."""
    body = body or page_body(PAGE["page_id"], text_item(PAGE["page_id"], psid, text))
    raw = encode_like_facebook(body)
    return client.post(
        page_setup.webhook_path(page),
        data=raw,
        content_type="application/json",
        headers=signature_headers(raw, PAGE["app_secret"]),
    )


def deactivate(campaign, actor=None):
    return builder.campaign_set_active(campaign=campaign, is_active=False, actor=actor)


def test_the_form_refuses_a_new_entry_point_for_an_inactive_campaign(admin_client, campaign):
    deactivate(campaign)
    response = admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]),
        {"kind": KIND, "name": "Late page"},
    )
    assert response.status_code == 400
    assert INACTIVE in response.content.decode()
    assert not EntryPoint.objects.exists()


def test_the_builder_offers_activate_instead_of_add_for_an_inactive_campaign(
    admin_client, campaign
):
    html = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Add Facebook Page</button>" in html and 'data-testid="no-new-entry-points"' not in html
    deactivate(campaign)
    html = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Add Facebook Page</button>" not in html
    assert 'data-testid="no-new-entry-points"' in html
    assert "An inactive campaign accepts no new entry points" in html


def test_an_inactive_campaigns_pages_show_as_paused_not_connected(admin_client, connected_page):
    campaign = connected_page.entry_point.campaign
    deactivate(campaign)
    for url in (campaign.get_absolute_url(), connected_page.entry_point.get_absolute_url()):
        html = admin_client.get(url).content.decode()
        assert "Paused: campaign inactive" in html and "Connected</span>" not in html


def test_the_api_refuses_a_new_entry_point_for_an_inactive_campaign(admin_api, campaign):
    deactivate(campaign)
    response = admin_api.post(
        "/api/entry-points/",
        {"campaign": campaign.pk, "kind": KIND, "name": "Late page"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"campaign": [INACTIVE]}
    assert not EntryPoint.objects.exists()


def test_the_service_refuses_too_whoever_calls_it(campaign):
    deactivate(campaign)
    with pytest.raises(builder.CampaignInactive):
        page_setup.facebook_page_entry_point_create(campaign=campaign, name="Late page")
    assert not EntryPoint.objects.exists()


def test_an_inactive_campaigns_existing_entry_point_can_still_be_renamed(admin_api, connected_page):
    deactivate(connected_page.entry_point.campaign)
    response = admin_api.patch(
        f"/api/entry-points/{connected_page.entry_point_id}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 200 and response.json()["name"] == "Renamed"


def test_every_builder_page_of_an_inactive_campaign_shows_the_banner(
    admin_client, connected_page, campaign
):
    ep = connected_page.entry_point
    delivery = WebhookDelivery.objects.create(facebook_page=connected_page, body="{}")
    archived = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Old page")
    builder.entry_point_archive(entry_point=archived)
    pages = [
        campaign.get_absolute_url(),
        reverse("campaigns:edit", args=[campaign.pk]),
        ep.get_absolute_url(),
        reverse("messenger_builder:webhook", args=[ep.pk]),
        reverse("messenger_builder:deliveries", args=[ep.pk]),
        reverse("messenger_builder:delivery", args=[ep.pk, delivery.pk]),
        reverse("campaigns:archive", args=[ep.pk]),
        archived.get_absolute_url(),
        reverse("campaigns:erase", args=[archived.pk]),
    ]
    for url in pages:
        assert 'data-testid="inactive-banner"' not in admin_client.get(url).content.decode(), url
    deactivate(campaign)
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert 'data-testid="inactive-banner"' in html, url
        assert "Activate campaign</button>" in html, url


def test_the_banners_button_activates_the_campaign(admin_client, campaign):
    deactivate(campaign)
    response = admin_client.post(
        reverse("campaigns:set_active", args=[campaign.pk]), {"is_active": "1"}
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.is_active


def test_a_delivery_to_an_inactive_campaigns_page_is_kept_ignored_and_makes_no_contact(
    client, connected_page, campaign, fake_graph
):
    deactivate(campaign)
    calls_before = len(fake_graph.calls)
    assert post_signed_message(client, connected_page, "Anyone there?").status_code == 200
    services.process_deliveries()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("ignored", "campaign inactive")
    assert "Anyone there?" in delivery.body  # nothing lost
    assert not Contact.objects.exists()
    assert len(fake_graph.calls) == calls_before  # no profile fetch, no Graph call at all


def test_an_inactive_campaigns_page_reached_through_a_sibling_page_makes_no_contact(
    client, connected_page, campaign, other_campaign, fake_graph
):
    """One app's webhook carries the events of all its pages: an entry for the page of an
    inactive campaign, posted to an active one's URL, does not land there either."""
    sibling = {
        **PAGE,
        "page_id": "998877001122",
        "name": "Sibling",
        "access_token": "EAAGsiblingToken0123456789",
    }
    fake_graph.add_page(**sibling)
    other_ep = page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Sibling")
    connect_page(other_ep, sibling)
    deactivate(other_campaign)
    body = page_body(sibling["page_id"], text_item(sibling["page_id"], "55501", "hi"))
    assert post_signed_message(client, connected_page, body=body).status_code == 200
    services.process_deliveries()
    assert not Contact.objects.exists()
    assert "not served here" in WebhookDelivery.objects.get().last_error


def test_replaying_a_kept_delivery_after_reactivation_makes_the_conversation(
    admin_client, client, connected_page, campaign, django_capture_on_commit_callbacks
):
    deactivate(campaign)
    post_signed_message(client, connected_page, "Anyone there?")
    services.process_deliveries()
    delivery = WebhookDelivery.objects.get()
    builder.campaign_set_active(campaign=campaign, is_active=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(log_url(connected_page, delivery.pk))
    assert response.status_code == 302
    services.process_delivery(delivery.pk)  # as the worker would
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    contact = Contact.objects.get()
    assert contact.messages.get().text == "Anyone there?"


def test_the_delivery_log_replays_all_deliveries_kept_while_inactive_at_once(
    admin_client, admin_user, client, connected_page, campaign, django_capture_on_commit_callbacks
):
    deactivate(campaign)
    for n in range(3):
        post_signed_message(client, connected_page, f"message {n}", psid=f"4440{n}")
    services.process_deliveries()
    html = admin_client.get(log_url(connected_page)).content.decode()
    assert "3 deliveries arrived while the campaign was inactive" in html
    assert "Activate the campaign to replay them" in html
    replay_url = reverse("messenger_builder:replay_ignored", args=[connected_page.entry_point_id])
    refused = admin_client.post(replay_url, follow=True)
    assert "Activate the campaign first" in refused.content.decode()
    assert WebhookDelivery.objects.filter(status="ignored").count() == 3

    builder.campaign_set_active(campaign=campaign, is_active=True)
    html = admin_client.get(log_url(connected_page)).content.decode()
    assert "Replay them</button>" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(replay_url, follow=True)
    assert "3 deliveries queued to be processed again" in response.content.decode()
    services.process_deliveries()
    assert Contact.objects.count() == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    entry = AuditEntry.objects.get(action="deliveries_replayed")
    assert (entry.actor, entry.details) == (admin_user, {"deliveries": 3})
    # Done: nothing left to replay, and pressing again replays nothing more.
    assert delivery_log.replay_ignored_while_inactive(connected_page) == 0


def test_replies_to_an_inactive_campaigns_open_conversation_still_go_out(
    client, connected_page, campaign, agent
):
    """Deactivating stops new inbound conversations; agents may still answer (e.g. to say where
    to write now) the conversations already open."""
    from agent_desktop import services as desktop

    post_signed_message(client, connected_page, "Hello")
    services.process_deliveries()
    contact = Contact.objects.get()
    deactivate(campaign)
    (reply,) = desktop.reply_send(contact=contact, agent=agent, text="We moved: see our site")
    assert reply.status == "queued"


@pytest.mark.django_db(transaction=True)
def test_of_two_admins_replaying_at_once_one_takes_the_deliveries(
    connected_page, admin_user, counts
):
    for n in range(3):
        WebhookDelivery.objects.create(
            facebook_page=connected_page,
            body=f'{{"n": {n}}}',
            status="ignored",
            last_error=services.CAMPAIGN_INACTIVE,
        )
    start = threading.Barrier(2)
    replayed = [None, None]

    def replay(n):
        try:
            start.wait()
            replayed[n] = delivery_log.replay_ignored_while_inactive(
                connected_page, actor=admin_user
            )
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=replay, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(replayed) == [0, 3]
    assert AuditEntry.objects.filter(action="deliveries_replayed").count() == 1
    counts(
        f"concurrent replays of kept deliveries ({connection.vendor})",
        admins=2,
        replayed_by_one=max(replayed),
        replayed_by_the_other=min(replayed),
    )
