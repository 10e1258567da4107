"""The health card tells a gap's story and Facebook's policy block, readable and accessible at
phone, tablet and desktop widths; Recover queues a run."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from messenger.models import FacebookPage, PageRecovery
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "The bot violated our Platform Policies. Common violations include spammy messages."


@pytest.fixture
def page_after_a_gap(connected_page, admin_user):
    now = timezone.now()
    FacebookPage.objects.filter(pk=connected_page.pk).update(
        policy_action="block",
        policy_reason=REASON,
        policy_at=now - timedelta(minutes=5),
        last_error=f"Facebook blocked the app on this page for a policy: {REASON}",
        last_error_at=now - timedelta(minutes=5),
        last_event_at=now,
    )
    PageRecovery.objects.create(
        facebook_page=connected_page,
        trigger=PageRecovery.Trigger.SUBSCRIPTION_LOST,
        gap_started=now - timedelta(minutes=38),
        started_at=now - timedelta(minutes=1),
        resubscribed_at=now - timedelta(minutes=1),
        finished_at=now,
        recovered_count=37,
        graph_calls=3,
    )
    return connected_page


@pytest.mark.parametrize("width", [390, 768, 1366])
def test_the_health_card_tells_the_gap_and_the_policy_block(
    page, page_after_a_gap, assert_accessible, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "ada")
    page.goto(reverse("campaigns:entry_point", args=[page_after_a_gap.entry_point_id]))
    health = page.get_by_test_id("health")
    alert = health.get_by_test_id("policy-alert")
    expect(alert).to_contain_text("Facebook blocked the app")
    expect(alert).to_contain_text("The bot violated our Platform Policies.")
    # Told by the alert and the last error only: no policy row, no "Last problem" beside.
    expect(health.get_by_test_id("check-policy")).to_have_count(0)
    expect(health.get_by_test_id("check-last_error")).to_contain_text("for a policy")
    expect(page.get_by_text("Last problem")).to_have_count(0)
    story = health.get_by_test_id("check-recovery")
    expect(story).to_contain_text("Facebook disabled the webhook: no event arrived after")
    expect(story).to_contain_text("37 messages recovered")
    no_overflow = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_overflow), "the page scrolls sideways"
    assert_accessible(page, within="#health")
    screenshot(page, f"gap_recovery_health_{width}")

    health.get_by_test_id("recover").click()
    expect(page.get_by_test_id("recovery-queued")).to_be_visible()
    assert_accessible(page, within="#health")
