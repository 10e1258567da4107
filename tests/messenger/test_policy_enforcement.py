"""Facebook's policy warnings (`messaging_policy_enforcement`): the entry point's last error,
with Facebook's reason, and an alert on the health card."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from messenger import health
from messenger.sandbox.facebook_webhooks import page_body
from tests.conftest import PAGE

PAGE_ID = PAGE["page_id"]
REASON = "The bot violated our Platform Policies."


def policy(action, *, at_ms, reason=REASON):
    item = {
        "recipient": {"id": PAGE_ID},
        "timestamp": at_ms,
        "policy_enforcement": {"action": action, "reason": reason},
    }
    return page_body(PAGE_ID, item)


@pytest.fixture
def health_url(connected_page):
    return reverse("messenger_builder:health", args=[connected_page.entry_point_id])


def test_a_block_becomes_the_last_error_with_facebooks_reason(deliver, payload, connected_page):
    delivery = deliver(payload("32"))
    assert delivery.status == "processed" and delivery.event_kinds == ["policy_enforcement"]
    connected_page.refresh_from_db()
    reason = payload("32")["entry"][0]["messaging"][0]["policy_enforcement"]["reason"]
    assert connected_page.last_error == (
        f"Facebook blocked the app on this page for a policy: {reason}"
    )
    assert connected_page.last_error_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert (connected_page.policy_action, connected_page.policy_reason) == ("block", reason)


def test_the_health_card_shows_the_block_as_an_alert(
    deliver, payload, admin_client, health_url, fake_graph
):
    deliver(payload("32"))
    html = admin_client.get(health_url).content.decode()
    assert 'data-testid="policy-alert"' in html and 'role="alert"' in html
    assert "Facebook blocked the app on 1 Jan 2026" in html
    assert "The bot violated our Platform Policies." in html
    assert escape(health.POLICY_FIX) in html


def test_the_block_is_told_once_by_the_alert_and_once_by_the_last_error(
    deliver, payload, admin_client, health_url, connected_page, fake_graph
):
    deliver(payload("32"))
    reason = payload("32")["entry"][0]["messaging"][0]["policy_enforcement"]["reason"]
    card = admin_client.get(health_url).content.decode()
    assert 'data-testid="check-policy"' not in card
    assert 'data-testid="check-last_error" data-state="error"' in card
    assert card.count(reason) == 2
    panel_url = reverse("campaigns:entry_point", args=[connected_page.entry_point_id])
    panel = admin_client.get(panel_url).content.decode()
    assert "Last problem" not in panel and reason not in panel


def test_a_warning_is_an_alert_of_its_own_kind(deliver, connected_page, fake_graph):
    deliver(policy("warning", at_ms=1767225600000, reason="Too many messages marked as spam."))
    connected_page.refresh_from_db()
    check = health.check_page(connected_page)["policy"]
    assert check.state == "warn"
    assert check.detail.startswith("Facebook warned the app on 1 Jan 2026")
    assert check.detail.endswith("Too many messages marked as spam.")


def test_an_unblock_ends_the_alert_and_an_older_block_does_not_bring_it_back(
    deliver, connected_page, admin_client, health_url, fake_graph
):
    deliver(policy("block", at_ms=1767225600000))
    deliver(policy("unblock", at_ms=1767229200000))
    deliver(policy("block", at_ms=1767225000000))  # redelivered late
    connected_page.refresh_from_db()
    assert connected_page.policy_action == ""
    assert b'data-testid="policy-alert"' not in admin_client.get(health_url).content
