"""Secrets at rest: Fernet encryption with keys from FIELD_ENCRYPTION_KEY (several, for rotation).

A stored secret is only ever decrypted on purpose, through `EncryptedSecret`; a value that cannot
be decrypted raises `SecretUnreadable` rather than handing on the ciphertext as if it were the
secret (the mistake django-fernet-encrypted-fields makes).
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables


class SecretUnreadable(Exception):
    """A stored secret can't be decrypted with any configured key: it must be entered again."""

    def __init__(self, field_label):
        self.field_label = field_label
        super().__init__(
            f"The saved {field_label} can't be decrypted with the configured "
            "FIELD_ENCRYPTION_KEY. Enter it again to replace it."
        )


@cache
def _fernet():
    keys = settings.FIELD_ENCRYPTION_KEY
    if isinstance(keys, str):
        keys = [k for k in keys.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        ) from exc


@receiver(setting_changed)
def _forget_keys(setting, **kwargs):
    if setting == "FIELD_ENCRYPTION_KEY":
        _fernet.cache_clear()


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, field_label: str = "secret") -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(field_label) from None


def reencrypt(ciphertext: str, field_label: str = "secret") -> str:
    """The same secret under the primary key (raises SecretUnreadable like decrypt)."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(field_label) from None


class EncryptedSecret:
    """Model attribute that stores a secret encrypted in a text column.

    Reading decrypts (or raises SecretUnreadable); assigning encrypts; assigning "" clears it.
    `<name>_is_set` tells whether a secret is stored without decrypting it.
    """

    def __init__(self, column, label):
        self.column = column
        self.label = label

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        ciphertext = getattr(instance, self.column)
        return decrypt(ciphertext, self.label) if ciphertext else ""

    def __set__(self, instance, plaintext):
        setattr(instance, self.column, encrypt(plaintext) if plaintext else "")
