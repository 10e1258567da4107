"""Secrets at rest: encrypted in the row, rotatable with two keys and `manage.py
rotate_secrets`, and never handed on when unreadable: an explicit error, and the builder asks
for the secret again (never showing or re-saving the ciphertext)."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from campaigns.secrets import SecretUnreadable
from messenger import setup as page_setup
from messenger.models import FacebookPage
from tests.conftest import PAGE

SECRETS = (PAGE["app_secret"], PAGE["access_token"])
SECRET_COLUMNS = ("app_secret_ciphertext", "page_access_token_ciphertext")


def raw_row(page):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app_secret_ciphertext, page_access_token_ciphertext "
            "FROM messenger_facebookpage WHERE id = %s",
            [page.pk],
        )
        return cursor.fetchone()


def every_stored_value():
    """Every row of every table, through raw SQL: what a database dump or backup holds."""
    values, tables = [], connection.introspection.table_names()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            values.extend(repr(row) for row in cursor.fetchall())
    return tables, values


def ciphertexts(page):
    return FacebookPage.objects.filter(pk=page.pk).values_list(*SECRET_COLUMNS).get()


def test_secrets_are_encrypted_in_the_database_row(connected_page):
    row = raw_row(connected_page)
    assert PAGE["app_secret"] not in " ".join(row)
    assert PAGE["access_token"] not in " ".join(row)
    assert all(value.startswith("gAAAA") for value in row)  # Fernet tokens
    fresh = FacebookPage.objects.get(pk=connected_page.pk)
    assert fresh.app_secret == PAGE["app_secret"]
    assert fresh.page_access_token == PAGE["access_token"]


def test_no_table_holds_a_secret_in_plain_text(admin_client, connected_page, counts):
    # Exercise the paths that write: the panel's save, a webhook post, a Graph call.
    admin_client.post(
        f"/campaigns/entry-points/{connected_page.entry_point_id}/",
        {"app_id": PAGE["app_id"], "app_secret": PAGE["app_secret"]},
    )
    tables, values = every_stored_value()
    found = [v for v in values if any(secret in v for secret in SECRETS)]
    assert found == []
    counts(
        "raw SQL over every table",
        tables=len(tables),
        rows=len(values),
        plaintext_secrets_found=len(found),
    )


def test_old_rows_stay_readable_after_a_new_key_is_put_first(connected_page, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *old_keys]
    assert FacebookPage.objects.get(pk=connected_page.pk).app_secret == PAGE["app_secret"]


def test_rotate_secrets_reencrypts_every_row_with_the_first_key(
    connected_page, entry_point, settings, campaign, counts
):
    old_key = settings.FIELD_ENCRYPTION_KEY[0]
    second = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Second page")
    second.facebook_page.set_secret("app_secret", "f" * 32)
    second.facebook_page.save()
    page_setup.facebook_page_entry_point_create(campaign=campaign, name="No secrets yet")
    before = {page.pk: ciphertexts(page) for page in FacebookPage.objects.all()}

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)

    settings.FIELD_ENCRYPTION_KEY = [new_key]  # the old key is gone: everything still reads
    assert FacebookPage.objects.get(pk=connected_page.pk).app_secret == PAGE["app_secret"]
    assert FacebookPage.objects.get(pk=connected_page.pk).page_access_token == PAGE["access_token"]
    assert FacebookPage.objects.get(pk=second.facebook_page.pk).app_secret == "f" * 32
    changed = sum(
        old != new
        for page_pk, row in before.items()
        for old, new in zip(row, ciphertexts(FacebookPage(pk=page_pk)), strict=True)
        if old
    )
    output = out.getvalue()
    assert "Re-encrypted 3 secrets of 3 Facebook Pages" in output
    assert changed == 3  # the two of the connected page and the second page's App Secret
    assert not any(secret in output for secret in SECRETS)
    unreadable = sum(bool(page.unreadable_secrets()) for page in FacebookPage.objects.all())
    assert unreadable == 0
    counts(
        "rotate_secrets",
        pages=len(before),
        secrets_reencrypted=changed,
        unreadable=unreadable,
    )


def test_rotate_secrets_lists_the_rows_it_cannot_decrypt_and_leaves_them(
    connected_page, settings, campaign
):
    stray = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Stray page")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # only for this row
    stray.facebook_page.set_secret("app_secret", "e" * 32)
    stray.facebook_page.save()
    unreadable_before = ciphertexts(stray.facebook_page)
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # neither key is known
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 Facebook Pages have secrets that no configured key"):
        call_command("rotate_secrets", stdout=out)
    output = out.getvalue()
    assert f"entry point {connected_page.entry_point_id} “Acme page”" in output
    assert "App Secret, Page Access Token can't be decrypted" in output
    assert "“Stray page” (campaign “Spring sale”): App Secret can't be decrypted" in output
    assert ciphertexts(stray.facebook_page) == unreadable_before
    assert not any(value and value in output for value in (*SECRETS, *unreadable_before))


def test_a_key_that_cannot_decrypt_raises_an_explicit_error(connected_page, settings):
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    page = FacebookPage.objects.get(pk=connected_page.pk)
    with pytest.raises(SecretUnreadable) as caught:
        page.app_secret  # noqa: B018
    assert "App Secret" in str(caught.value)
    assert page.app_secret_ciphertext not in str(caught.value)
    assert page.unreadable_secrets() == ["App Secret", "Page Access Token"]


def test_with_a_wrong_key_the_builder_asks_for_the_secrets_again_and_never_resaves_them(
    admin_client, admin_user, connected_page, settings, counts
):
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    stored = ciphertexts(connected_page)
    panel = f"/campaigns/entry-points/{connected_page.entry_point_id}/"
    html = admin_client.get(panel).content.decode()
    asking = "can't be decrypted with the current encryption key. Enter them again."
    assert asking in html
    health = admin_client.get(panel + "health/").content.decode()
    api = APIClient()
    api.force_authenticate(admin_user)
    shown = api.get(f"/api/entry-points/{connected_page.entry_point_id}/").content.decode()
    with_a_ciphertext = [
        text for text in (html, health, shown) if any(value in text for value in stored)
    ]
    assert with_a_ciphertext == []

    # Saving without the secrets (or with one of the two) is refused and keeps the rows as they are.
    attempts = [
        admin_client.post(panel, {"app_id": PAGE["app_id"]}),
        admin_client.post(panel, {"app_id": PAGE["app_id"], "app_secret": PAGE["app_secret"]}),
        api.patch(
            f"/api/entry-points/{connected_page.entry_point_id}/",
            {"app_id": PAGE["app_id"]},
            format="json",
        ),
    ]
    assert [r.status_code for r in attempts] == [400, 400, 400]
    assert "Enter it again." in attempts[0].content.decode()
    resaved = sum(a != b for a, b in zip(ciphertexts(connected_page), stored, strict=True))
    assert resaved == 0

    # Entering both again stores them under the current key.
    response = admin_client.post(
        panel,
        {
            "app_id": PAGE["app_id"],
            "app_secret": PAGE["app_secret"],
            "page_access_token": PAGE["access_token"],
        },
    )
    assert response.status_code == 302
    fresh = FacebookPage.objects.get(pk=connected_page.pk)
    assert (fresh.app_secret, fresh.page_access_token) == SECRETS
    assert fresh.unreadable_secrets() == []
    counts(
        "wrong key",
        pages_asking_for_the_secrets_again=int(asking in html),
        saves_refused=sum(r.status_code == 400 for r in attempts),
        ciphertexts_shown=len(with_a_ciphertext),
        ciphertexts_resaved=resaved,
    )


def test_a_malformed_key_is_a_configuration_error(settings, connected_page):
    settings.FIELD_ENCRYPTION_KEY = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet"):
        FacebookPage.objects.get(pk=connected_page.pk).app_secret  # noqa: B018
