"""The setup health card, Connect automatically and the checklist, in the builder."""

import re

import pytest
from django.urls import reverse

from tests.conftest import PAGE


def states(html):
    return dict(re.findall(r'data-testid="check-(\w+)" data-state="(\w+)"', html))


def test_the_panel_loads_the_health_card_after_itself(admin_client, connected_page, fake_graph):
    fake_graph.reset()
    fake_graph.add_page(**PAGE)
    panel = admin_client.get(reverse("campaigns:entry_point", args=[connected_page.entry_point_id]))
    assert 'hx-get="/campaigns/entry-points/' in panel.content.decode()
    assert fake_graph.calls == []  # the panel itself asks Facebook nothing


def test_the_health_card_shows_each_check_with_its_state(admin_client, connected_page, fake_graph):
    html = admin_client.get(
        reverse("messenger_builder:health", args=[connected_page.entry_point_id])
    ).content.decode()
    found = states(html)
    assert found["token"] == "ok" and found["app_secret"] == "ok"
    assert found["subscribed"] == "error"  # the fake page starts unsubscribed
    assert found["webhook_verified"] == "warn"
    assert "Setup checklist" in html
    assert html.count('class="done"') >= 5  # page, app, product, token, credentials, webhook


def test_an_expired_token_shows_as_an_error_with_the_fix(admin_client, connected_page, fake_graph):
    fake_graph.expire_token(PAGE["access_token"])
    html = admin_client.get(
        reverse("messenger_builder:health", args=[connected_page.entry_point_id])
    ).content.decode()
    assert states(html)["token"] == "error"


@pytest.mark.django_db(transaction=True)
def test_connect_automatically_sets_the_webhook_and_subscribes_the_page(
    admin_client, live_server, connected_page, fake_graph
):
    admin_client.defaults["HTTP_HOST"] = live_server.url.removeprefix("http://")
    response = admin_client.post(
        reverse("messenger_builder:health", args=[connected_page.entry_point_id])
    )
    html = response.content.decode()
    assert html.count("alert-success") == 2, html[:2000]
    found = states(html)
    assert found["subscribed"] == "ok" and found["webhook_verified"] == "ok"
    connected_page.refresh_from_db()
    assert connected_page.webhook_verified_at is not None  # Facebook's handshake reached us
    assert "messages" in fake_graph.page_subscriptions(PAGE["page_id"])[PAGE["app_id"]]


def test_the_health_card_is_for_admins_only(agent_client, connected_page):
    assert (
        agent_client.get(
            reverse("messenger_builder:health", args=[connected_page.entry_point_id])
        ).status_code
        == 403
    )


def test_the_health_api_returns_the_checks(admin_user, connected_page, fake_graph):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    body = api.get(f"/api/entry-points/{connected_page.entry_point_id}/health/").json()
    by_key = {check["key"]: check for check in body["checks"]}
    assert by_key["token"]["state"] == "ok"
    assert by_key["subscribed"]["state"] == "error" and by_key["subscribed"]["fix"]
