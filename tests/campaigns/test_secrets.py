"""Secrets at rest: encrypted in the row, rotatable, and never handed on when unreadable."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from campaigns.models import FacebookPage
from campaigns.secrets import SecretUnreadable
from tests.conftest import PAGE


def raw_row(page):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app_secret_ciphertext, page_access_token_ciphertext "
            "FROM campaigns_facebookpage WHERE id = %s",
            [page.pk],
        )
        return cursor.fetchone()


def test_secrets_are_encrypted_in_the_database_row(connected_page):
    row = raw_row(connected_page)
    assert PAGE["app_secret"] not in " ".join(row)
    assert PAGE["access_token"] not in " ".join(row)
    assert all(value.startswith("gAAAA") for value in row)  # Fernet tokens
    fresh = FacebookPage.objects.get(pk=connected_page.pk)
    assert fresh.app_secret == PAGE["app_secret"]
    assert fresh.page_access_token == PAGE["access_token"]


def test_old_rows_stay_readable_after_a_new_key_is_put_first(connected_page, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *old_keys]
    assert FacebookPage.objects.get(pk=connected_page.pk).app_secret == PAGE["app_secret"]


def test_a_key_that_cannot_decrypt_raises_an_explicit_error(connected_page, settings):
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    page = FacebookPage.objects.get(pk=connected_page.pk)
    with pytest.raises(SecretUnreadable) as caught:
        page.app_secret  # noqa: B018
    assert "App Secret" in str(caught.value)
    assert page.app_secret_ciphertext not in str(caught.value)
    assert page.unreadable_secrets() == ["App Secret", "Page Access Token"]


def test_a_malformed_key_is_a_configuration_error(settings, connected_page):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEY = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet"):
        FacebookPage.objects.get(pk=connected_page.pk).app_secret  # noqa: B018
