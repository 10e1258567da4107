"""FacebookPage moved from campaigns to messenger (campaigns 0009-0010, messenger 0004): a
database holding the old layout keeps every row, secret, link and constraint."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from campaigns.models import EntryPoint
from campaigns.secrets import encrypt
from messenger.models import FacebookPage, WebhookDelivery

BEFORE_THE_MOVE = [
    ("campaigns", "0008_kinds_from_the_registry"),
    ("messenger", "0003_delivery_page_without_db_constraint"),
]
APP_SECRET = "0123456789abcdef0123456789abcdef"
PAGE_TOKEN = "EAAGmigratedPageAccessToken0123456789"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_pages_and_their_deliveries_survive_the_move_to_messenger():
    old = migrate(BEFORE_THE_MOVE)
    assert "campaigns_facebookpage" in connection.introspection.table_names()
    campaign = old.get_model("campaigns", "Campaign").objects.create(name="Old layout")
    entry_point = old.get_model("campaigns", "EntryPoint").objects.create(
        campaign=campaign, kind="facebook_page", name="Old page"
    )
    page = old.get_model("campaigns", "FacebookPage").objects.create(
        entry_point=entry_point,
        app_id="1234567890123456",
        app_secret_ciphertext=encrypt(APP_SECRET),
        page_access_token_ciphertext=encrypt(PAGE_TOKEN),
        page_id="112233445566778",
        page_name="Acme Support",
        token_status="valid",
        webhook_key="k" * 43,
        verify_token="v" * 32,
    )
    delivery = old.get_model("messenger", "WebhookDelivery").objects.create(
        facebook_page=page, body='{"object":"page"}', event_kinds=["message"]
    )

    migrate(latest())

    tables = connection.introspection.table_names()
    assert "messenger_facebookpage" in tables and "campaigns_facebookpage" not in tables
    moved = FacebookPage.objects.get(pk=page.pk)
    assert moved.entry_point == EntryPoint.objects.get(pk=entry_point.pk)
    assert EntryPoint.objects.get(pk=entry_point.pk).facebook_page == moved
    assert (moved.app_secret, moved.page_access_token) == (APP_SECRET, PAGE_TOKEN)
    assert (moved.page_id, moved.page_name, moved.token_status) == (
        "112233445566778",
        "Acme Support",
        "valid",
    )
    assert (moved.webhook_key, moved.verify_token) == ("k" * 43, "v" * 32)
    kept = WebhookDelivery.objects.get(pk=delivery.pk)
    assert kept.facebook_page == moved and list(moved.deliveries.all()) == [kept]
    assert kept.body == '{"object":"page"}'

    # The partial unique constraint came along: a second live page with its id is refused.
    other = EntryPoint.objects.create(campaign_id=campaign.pk, kind="facebook_page", name="Twin")
    with pytest.raises(IntegrityError), transaction.atomic():
        FacebookPage.objects.create(entry_point=other, page_id="112233445566778")
    # ...and new rows get ids past the old ones (the sequence moved with the table).
    assert FacebookPage.objects.create(entry_point=other).pk > page.pk
