"""The delivery log an admin reads per entry point, and replay."""

from django.urls import reverse

from agent_desktop.models import Message
from messenger import services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook
from tests.messenger.conftest import load_payload


def log_url(page, *args):
    name = "messenger_builder:delivery" if args else "messenger_builder:deliveries"
    return reverse(name, args=[page.entry_point_id, *args])


def store(page, body):
    raw = body if isinstance(body, str) else encode_like_facebook(body).decode()
    return WebhookDelivery.objects.create(facebook_page=page, body=raw)


def test_an_empty_log_says_what_will_appear(admin_client, connected_page):
    html = admin_client.get(log_url(connected_page)).content.decode()
    assert "No deliveries yet" in html


def test_the_log_lists_time_status_kinds_size_and_error(admin_client, connected_page):
    processed = services.process_delivery(store(connected_page, load_payload("01")).pk)
    ignored = services.process_delivery(store(connected_page, {"object": "instagram"}).pk)
    failed = store(connected_page, "{}")
    WebhookDelivery.objects.filter(pk=failed.pk).update(status="failed", last_error="boom")
    html = admin_client.get(log_url(connected_page)).content.decode()
    assert html.count("<tr>") == 3 + 1  # header + rows
    assert "Processed" in html and "Ignored" in html and "Failed" in html and "boom" in html
    assert "message" in html
    only_failed = admin_client.get(log_url(connected_page), {"status": "failed"}).content.decode()
    assert only_failed.count("<tr>") == 2
    assert processed.status == "processed" and ignored.status == "ignored"


def test_a_delivery_shows_its_parsed_events(admin_client, connected_page):
    delivery = services.process_delivery(store(connected_page, load_payload("40")).pk)
    html = admin_client.get(log_url(connected_page, delivery.pk)).content.decode()
    assert "1. message" in html and "3. read" in html
    assert "998877665544332 is not served here" in html
    assert "&quot;object&quot;: &quot;page&quot;" in html  # the body, escaped


def test_replay_processes_again_without_doubling(
    admin_client, connected_page, django_capture_on_commit_callbacks
):
    delivery = services.process_delivery(store(connected_page, load_payload("01")).pk)
    with django_capture_on_commit_callbacks(execute=True):
        # Executing the callback enqueues to the broker; process as the worker would.
        response = admin_client.post(log_url(connected_page, delivery.pk))
    assert response.status_code == 302
    services.process_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.attempts == 1
    assert Message.objects.count() == 1


def test_agents_and_other_entry_points_cannot_read_the_log(
    agent_client, admin_user, connected_page, other_campaign
):
    from django.test import Client

    from messenger.setup import facebook_page_entry_point_create

    admin_client = Client()
    admin_client.force_login(admin_user)
    delivery = store(connected_page, load_payload("01"))
    assert agent_client.get(log_url(connected_page)).status_code == 403
    assert agent_client.get(log_url(connected_page, delivery.pk)).status_code == 403
    other = facebook_page_entry_point_create(campaign=other_campaign, name="Other").facebook_page
    assert admin_client.get(log_url(other, delivery.pk)).status_code == 404
