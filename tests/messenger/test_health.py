"""The setup health card, Connect automatically and the token lifecycle, against the fake Graph
API over real HTTP (and, for the verify handshake, our own webhook view on a live server)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from messenger import graph, health
from messenger import setup as page_setup
from messenger.models import FacebookPage
from messenger.setup import webhook_path
from messenger.tasks import check_all_tokens
from tests.conftest import PAGE

APP_ID = PAGE["app_id"]
PAGE_ID = PAGE["page_id"]
TOKEN = PAGE["access_token"]


def states(page):
    return {check.key: check.state for check in health.check_page(page).checks}


def texts(page_health):
    return " ".join(f"{c.detail} {c.fix}" for c in page_health.checks)


@pytest.fixture
def healthy_page(connected_page, fake_graph):
    """Everything set up: subscribed, verified, events arriving."""
    fake_graph.set_page_subscription(PAGE_ID, health.WEBHOOK_FIELDS)
    FacebookPage.objects.filter(pk=connected_page.pk).update(
        webhook_verified_at=timezone.now(), last_event_at=timezone.now()
    )
    connected_page.refresh_from_db()
    return connected_page


# --- The health card ---------------------------------------------------------------------------
def test_a_page_set_up_completely_is_healthy(healthy_page):
    page_health = health.check_page(healthy_page)
    assert {c.key: c.state for c in page_health.checks} == {
        "token": "ok",
        "app_secret": "ok",
        "permissions": "ok",
        "webhook_verified": "ok",
        "subscribed": "ok",
        "last_event": "ok",
        "last_error": "ok",
    }
    assert page_health.state == "ok"
    assert PAGE["name"] in page_health["token"].detail
    assert "never expires" in page_health["permissions"].detail
    assert "messages, message_deliveries" in page_health["subscribed"].detail


def test_an_expired_token_is_an_error_with_a_plain_fix(healthy_page, fake_graph):
    fake_graph.expire_token(TOKEN)
    page_health = health.check_page(healthy_page)
    assert page_health["token"].state == "error"
    assert "invalid or has expired" in page_health["token"].detail
    assert "generate a new Page Access Token" in page_health["token"].fix
    assert page_health["permissions"].state == "error"
    assert page_health["subscribed"].state == "unknown"
    assert page_health["app_secret"].state == "ok"


def test_a_wrong_app_secret_is_named_and_the_token_waits_for_it(healthy_page):
    healthy_page.set_secret("app_secret", "f" * 32)
    healthy_page.save()
    page_health = health.check_page(healthy_page)
    assert page_health["app_secret"].state == "error"
    assert "the App Secret or the App ID is wrong" in page_health["app_secret"].detail
    assert "Settings → Basic" in page_health["app_secret"].fix
    assert page_health["token"].state == "unknown"
    assert page_health["subscribed"].state == "unknown"


def test_a_wrong_app_id_is_named_too(healthy_page):
    healthy_page.app_id = "999999999999"
    healthy_page.save()
    assert health.check_page(healthy_page)["app_secret"].state == "error"


def test_a_token_made_by_another_app_is_an_error(healthy_page, fake_graph):
    other_token = "EAAGtokenOfAnotherApp0123456789abcdefXYZ"
    fake_graph.add_page(
        **{**PAGE, "access_token": other_token, "app_id": "555555555555555", "app_secret": "a" * 32}
    )
    healthy_page.set_secret("page_access_token", other_token)
    healthy_page.save()
    page_health = health.check_page(healthy_page)
    assert page_health["app_secret"].state == "error"
    assert "another app (App ID 555555555555555)" in page_health["app_secret"].detail


def test_a_token_without_pages_messaging_is_an_error(healthy_page, fake_graph):
    fake_graph.set_token(TOKEN, scopes=["pages_show_list", "pages_manage_metadata"])
    check = health.check_page(healthy_page)["permissions"]
    assert check.state == "error"
    assert "lacks the pages_messaging permission" in check.detail
    assert "Generate the token again" in check.fix


def test_a_token_without_pages_manage_metadata_warns(healthy_page, fake_graph):
    fake_graph.set_token(TOKEN, scopes=["pages_show_list", "pages_messaging"])
    check = health.check_page(healthy_page)["permissions"]
    assert check.state == "warn"
    assert "pages_manage_metadata" in check.detail


def test_a_token_expiring_within_a_week_warns(healthy_page, fake_graph):
    fake_graph.set_token(TOKEN, expires_at=timezone.now() + timedelta(days=3))
    check = health.check_page(healthy_page)["permissions"]
    assert check.state == "warn"
    assert "expires on" in check.detail and "in 3 days" in check.detail
    assert "does not expire" in check.fix


def test_a_token_expiring_later_is_fine(healthy_page, fake_graph):
    fake_graph.set_token(TOKEN, expires_at=timezone.now() + timedelta(days=50))
    check = health.check_page(healthy_page)["permissions"]
    assert check.state == "ok" and "expires on" in check.detail


def test_a_page_not_subscribed_is_an_error_pointing_to_connect_automatically(
    healthy_page, fake_graph
):
    fake_graph.set_page_subscription(PAGE_ID, [])
    check = health.check_page(healthy_page)["subscribed"]
    assert check.state == "error"
    assert "not subscribed" in check.detail
    assert "Connect automatically" in check.fix


def test_a_page_subscribed_only_to_another_app_is_not_subscribed(healthy_page, fake_graph):
    fake_graph.set_page_subscription(PAGE_ID, [])
    fake_graph.set_page_subscription(PAGE_ID, ["messages"], app_id="777")
    check = health.check_page(healthy_page)["subscribed"]
    assert check.state == "error" and "only to: App 777" in check.detail


def test_a_subscription_missing_fields_warns_naming_them(healthy_page, fake_graph):
    fake_graph.set_page_subscription(PAGE_ID, ["messages", "message_reads"])
    check = health.check_page(healthy_page)["subscribed"]
    assert check.state == "warn"
    assert "without message_deliveries and message_echoes" in check.detail
    assert "message_deliveries and message_echoes" in check.fix


def test_read_receipts_need_message_reads(healthy_page, fake_graph):
    fake_graph.set_page_subscription(PAGE_ID, ["messages", "message_deliveries", "message_echoes"])
    check = health.check_page(healthy_page)["subscribed"]
    assert check.state == "warn"
    assert "without message_reads" in check.detail


def test_a_webhook_never_verified_warns_how_to_verify(connected_page):
    check = health.check_page(connected_page)["webhook_verified"]
    assert check.state == "warn"
    assert "has not verified" in check.detail
    assert "Verify and save" in check.fix


def test_a_page_without_webhook_is_told_to_press_get_webhook(entry_point, fake_graph):
    check = health.check_page(entry_point.facebook_page)["webhook_verified"]
    assert check.state == "warn" and check.fix == "Press Get Webhook."


def test_no_event_yet_warns(connected_page):
    check = health.check_page(connected_page)["last_event"]
    assert check.state == "warn" and "No event" in check.detail


def test_the_last_error_is_shown(healthy_page):
    FacebookPage.objects.filter(pk=healthy_page.pk).update(
        last_error="Webhook delivery 7 could not be processed", last_error_at=timezone.now()
    )
    healthy_page.refresh_from_db()
    check = health.check_page(healthy_page)["last_error"]
    assert check.state == "error"
    assert check.detail.startswith("Webhook delivery 7 could not be processed")


def test_an_unreachable_graph_leaves_the_graph_checks_unknown(healthy_page, settings):
    settings.GRAPH_API_URL = "http://127.0.0.1:9/v25.0"
    page_health = health.check_page(healthy_page)
    for key in ("token", "app_secret", "permissions", "subscribed"):
        assert page_health[key].state == "unknown"
        assert "Could not reach Facebook" in page_health[key].detail
    assert page_health["webhook_verified"].state == "ok"  # ours, not Facebook's


def test_a_page_without_credentials_makes_no_graph_call(entry_point, fake_graph):
    page_health = health.check_page(entry_point.facebook_page)
    assert page_health["token"].state == "unknown"
    assert "Enter the App ID" in page_health["token"].detail
    assert fake_graph.calls == []


def test_no_secret_appears_in_any_text(healthy_page, fake_graph):
    secrets = [TOKEN, PAGE["app_secret"], healthy_page.verify_token, healthy_page.webhook_key]
    fake_graph.expire_token(TOKEN)
    written = texts(health.check_page(healthy_page))
    healthy_page.set_secret("app_secret", "f" * 32)
    healthy_page.save()
    written += texts(health.check_page(healthy_page))
    written += " ".join(
        r.detail for r in health.connect_automatically(healthy_page, "http://127.0.0.1:9/x/")
    )
    for secret in [*secrets, "f" * 32]:
        assert secret not in written


# --- Connect automatically ---------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_connect_automatically_sets_the_webhook_and_subscribes_the_page(
    live_server, connected_page, fake_graph
):
    callback_url = live_server.url + webhook_path(connected_page)
    results = health.connect_automatically(connected_page, callback_url)
    assert [r.ok for r in results] == [True, True], results
    assert callback_url in results[0].detail
    assert PAGE["name"] in results[1].detail

    connected_page.refresh_from_db()
    assert connected_page.webhook_verified_at is not None  # our view answered the handshake
    (subscription,) = fake_graph.app_subscriptions(APP_ID)
    assert subscription["callback_url"] == callback_url
    assert subscription["fields"] == list(health.WEBHOOK_FIELDS)
    assert fake_graph.page_subscriptions(PAGE_ID) == {APP_ID: list(health.WEBHOOK_FIELDS)}
    page_health = health.check_page(connected_page)
    assert page_health["webhook_verified"].state == "ok"
    assert page_health["subscribed"].state == "ok"


@pytest.mark.django_db(transaction=True)
def test_connect_automatically_stops_when_the_handshake_is_refused(
    live_server, connected_page, fake_graph
):
    callback_url = live_server.url + webhook_path(connected_page)
    connected_page.verify_token = "not-the-token-our-webhook-expects"  # rotated meanwhile
    (result,) = health.connect_automatically(connected_page, callback_url)
    assert not result.ok
    assert result.detail.startswith(f"Facebook could not verify the Webhook URL {callback_url}")
    assert "403" in result.detail
    assert "reachable from the internet" in result.detail
    assert fake_graph.app_subscriptions(APP_ID) == []
    assert fake_graph.page_subscriptions(PAGE_ID) == {}
    connected_page.refresh_from_db()
    assert connected_page.webhook_verified_at is None


@pytest.mark.django_db(transaction=True)
def test_subscribing_the_page_without_pages_manage_metadata_fails_plainly(
    live_server, connected_page, fake_graph
):
    fake_graph.set_token(TOKEN, scopes=["pages_messaging", "pages_show_list"])
    callback_url = live_server.url + webhook_path(connected_page)
    first, second = health.connect_automatically(connected_page, callback_url)
    assert first.ok and not second.ok
    assert "pages_manage_metadata" in second.detail
    assert fake_graph.page_subscriptions(PAGE_ID) == {}


def test_connect_automatically_with_an_unreachable_callback_fails_plainly(
    connected_page, fake_graph
):
    (result,) = health.connect_automatically(
        connected_page, "http://127.0.0.1:9/messenger/webhook/k/"
    )
    assert not result.ok
    assert "could not verify" in result.detail and "Could not connect" in result.detail


def test_connect_automatically_needs_a_webhook_first(entry_point, fake_graph):
    page = entry_point.facebook_page
    page_setup.facebook_page_save_credentials(
        page=page,
        app_id=APP_ID,
        app_secret=PAGE["app_secret"],
        page_access_token=TOKEN,
    )
    calls = len(fake_graph.calls)
    (result,) = health.connect_automatically(page, "https://desk.example.com/x/")
    assert not result.ok and "Press Get Webhook first" in result.detail
    assert len(fake_graph.calls) == calls


def test_connect_automatically_needs_credentials_first(entry_point, fake_graph):
    (result,) = health.connect_automatically(entry_point.facebook_page, "https://x.example/")
    assert not result.ok and "Enter the App ID" in result.detail
    assert fake_graph.calls == []


def test_connect_automatically_needs_a_full_url(connected_page, fake_graph):
    (result,) = health.connect_automatically(connected_page, webhook_path(connected_page))
    assert not result.ok and "PUBLIC_BASE_URL" in result.detail
    assert fake_graph.calls_to("POST", f"/{APP_ID}/subscriptions") == []


# --- Token lifecycle ---------------------------------------------------------------------------
def test_the_token_check_stores_scopes_and_a_token_that_never_expires(connected_page):
    assert health.check_token_lifecycle(connected_page) == ""
    connected_page.refresh_from_db()
    assert connected_page.token_expires_at is None
    assert connected_page.token_checked_at is not None
    assert "pages_messaging" in connected_page.token_scopes
    assert connected_page.token_status == "valid"


def test_a_token_expiring_soon_gives_a_warning(connected_page, fake_graph):
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    fake_graph.set_token(TOKEN, expires_at=expiry)
    warning = health.check_token_lifecycle(connected_page)
    assert warning.startswith("The Page Access Token expires on")
    connected_page.refresh_from_db()
    assert connected_page.token_expires_at == expiry
    assert connected_page.token_status == "valid"


def test_an_invalid_token_marks_the_page(connected_page, fake_graph):
    fake_graph.expire_token(TOKEN)
    warning = health.check_token_lifecycle(connected_page)
    assert "no longer valid" in warning
    connected_page.refresh_from_db()
    assert connected_page.token_status == "invalid"
    assert "while checking its expiry" in connected_page.last_error
    assert "(code 190/463)" in connected_page.last_error


def test_a_wrong_app_secret_does_not_mark_the_token_invalid(connected_page):
    connected_page.set_secret("app_secret", "f" * 32)
    connected_page.save()
    with pytest.raises(graph.TokenInvalid):
        health.check_token_lifecycle(connected_page)
    connected_page.refresh_from_db()
    assert connected_page.token_status == "valid"


def test_the_daily_task_checks_every_page_with_credentials(
    connected_page, fake_graph, campaign, entry_point
):
    page_setup.facebook_page_entry_point_create(campaign=campaign, name="Not set up")
    fake_graph.set_token(TOKEN, expires_at=timezone.now() + timedelta(days=1))
    result = check_all_tokens.apply()
    assert result.get() == {"checked": 1, "warnings": 1, "failed": 0}
    assert len(fake_graph.calls_to("GET", "/debug_token")) == 1


def test_the_daily_task_stops_when_facebook_is_unreachable(connected_page, settings):
    settings.GRAPH_API_URL = "http://127.0.0.1:9/v25.0"
    assert check_all_tokens.apply().get() == {"checked": 0, "warnings": 0, "failed": 1}
