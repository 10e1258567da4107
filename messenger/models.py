import secrets as random_tokens
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from campaigns.models import EntryPoint
from campaigns.secrets import EncryptedSecret, SecretUnreadable


def new_webhook_key():
    return random_tokens.token_urlsafe(32)


def new_verify_token():
    return random_tokens.token_urlsafe(24)


class FacebookPage(models.Model):
    """The Messenger settings of a Facebook Page entry point, and what we know of its health."""

    class TokenStatus(models.TextChoices):
        UNCHECKED = "unchecked", "Not checked yet"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"
        UNVERIFIED = "unverified", "Could not be checked"

    entry_point = models.OneToOneField(
        EntryPoint, on_delete=models.CASCADE, related_name="facebook_page"
    )
    app_id = models.CharField("Facebook App ID", max_length=32, blank=True)
    app_secret_ciphertext = models.TextField(blank=True, editable=False)
    page_access_token_ciphertext = models.TextField(blank=True, editable=False)
    app_secret = EncryptedSecret("app_secret_ciphertext", "App Secret")
    page_access_token = EncryptedSecret("page_access_token_ciphertext", "Page Access Token")
    # Last characters of each secret, so an admin can tell which one is saved without seeing it.
    app_secret_hint = models.CharField(max_length=4, blank=True, editable=False)
    page_access_token_hint = models.CharField(max_length=4, blank=True, editable=False)

    page_id = models.CharField(max_length=32, blank=True, db_index=True)
    page_name = models.CharField(max_length=255, blank=True)
    token_status = models.CharField(
        max_length=16, choices=TokenStatus.choices, default=TokenStatus.UNCHECKED
    )
    credentials_checked_at = models.DateTimeField(null=True, blank=True)
    # What Graph's debug_token said of the page token at its last check (messenger.health):
    # when it expires (None with token_checked_at set: it never expires) and what it may do.
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token_scopes = models.JSONField(default=list, blank=True)
    token_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Facebook's last policy enforcement of the app on this page (`messaging_policy_enforcement`:
    # block, warning…; an unblock clears it), shown as an alert on the health card.
    policy_action = models.CharField(max_length=32, blank=True)
    policy_reason = models.TextField(blank=True)
    policy_at = models.DateTimeField(null=True, blank=True)

    # Graph refused the extended profile fields (locale, timezone, gender) for this page once:
    # ask only for the default ones from then on.
    profile_fields_basic_only = models.BooleanField(default=False)

    # A copy of entry_point.is_archived (messenger.setup.facebook_page_archive sets it): the
    # constraint below can't look across the join, and it must decide two concurrent saves.
    entry_point_archived = models.BooleanField(default=False, editable=False)

    webhook_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    verify_token = models.CharField(max_length=64, blank=True)
    webhook_created_at = models.DateTimeField(null=True, blank=True)
    webhook_verified_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One Facebook page, one live entry point: two would split its conversations
            # between them (messenger.setup.facebook_page_check_credentials).
            models.UniqueConstraint(
                fields=["page_id"],
                condition=~Q(page_id="") & Q(entry_point_archived=False),
                name="facebook_page_connected_once",
            )
        ]

    def __str__(self):
        return self.page_name or self.entry_point.name

    @property
    def app_secret_is_set(self):
        return bool(self.app_secret_ciphertext)

    @property
    def page_access_token_is_set(self):
        return bool(self.page_access_token_ciphertext)

    @property
    def app_secret_summary(self):
        return _secret_summary(self.app_secret_is_set, self.app_secret_hint)

    @property
    def page_access_token_summary(self):
        return _secret_summary(self.page_access_token_is_set, self.page_access_token_hint)

    @property
    def has_credentials(self):
        return bool(self.app_id and self.app_secret_is_set and self.page_access_token_is_set)

    @property
    def token_expires_soon(self):
        """Within a week (the daily token check stores the expiry): time to paste a new one."""
        return bool(
            self.token_expires_at and self.token_expires_at - timezone.now() < timedelta(days=7)
        )

    @property
    def has_webhook(self):
        return bool(self.webhook_key)

    def unreadable_secrets(self):
        """Labels of stored secrets that no configured key can decrypt."""
        labels = []
        for name in ("app_secret", "page_access_token"):
            try:
                getattr(self, name)
            except SecretUnreadable as exc:
                labels.append(exc.field_label)
        return labels

    @sensitive_variables("plaintext")
    def set_secret(self, name, plaintext):
        setattr(self, name, plaintext)
        setattr(self, f"{name}_hint", plaintext[-4:] if len(plaintext) >= 12 else "")

    def rotate_webhook(self):
        self.webhook_key = new_webhook_key()
        self.verify_token = new_verify_token()
        self.webhook_created_at = timezone.now()
        self.webhook_verified_at = None


def _secret_summary(is_set, hint):
    """What the builder may show of a saved secret: that it is set, and its last characters."""
    if not is_set:
        return ""
    return f"Saved · ends in {hint}" if hint else "Saved"


class WebhookDelivery(models.Model):
    """One POST from Facebook, stored raw before it is acknowledged, then processed.

    The body is kept byte for byte (as text: Facebook sends ASCII-escaped JSON), so a delivery
    can be replayed and its signature checked again.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    # No foreign key constraint in the database: checking it made every webhook INSERT lock the
    # page's row (FOR KEY SHARE), which concurrent posts to one page contend on (bench/).
    # Deleting a page still deletes its deliveries (Django cascades); a delivery stored while
    # its page was being deleted is dropped when a worker takes it.
    facebook_page = models.ForeignKey(
        FacebookPage,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
    )
    received_at = models.DateTimeField(auto_now_add=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the sweep last enqueued it again: at most once per sweep period, so a backlog after
    # an outage is not enqueued over and over while it drains.
    swept_at = models.DateTimeField(null=True, blank=True)
    event_kinds = models.JSONField(
        default=list, blank=True, help_text="The kinds of the events it held, in order."
    )

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["facebook_page", "-received_at"]),
        ]

    def __str__(self):
        return f"Delivery {self.pk} ({self.status})"

    @property
    def size(self):
        return len(self.body)


class PageRecovery(models.Model):
    """One run of gap recovery for a page (messenger.recovery): whether the page's subscription
    was gone and made again, and how many missed messages the Conversations API gave back.
    The health card tells its story."""

    class Trigger(models.TextChoices):
        SUBSCRIPTION_LOST = "subscription_lost", "Facebook unsubscribed the page"
        MANUAL = "manual", "Recover pressed"

    facebook_page = models.ForeignKey(
        FacebookPage, on_delete=models.CASCADE, related_name="recoveries"
    )
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    # The last event stored before the gap (None: the page never had one); messages are
    # fetched from a little before it.
    gap_started = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    resubscribed_at = models.DateTimeField(null=True, blank=True)
    recovered_count = models.PositiveIntegerField(default=0)
    graph_calls = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # One run at a time per page: a second one (the periodic check and Recover pressed
            # together) fails to insert and leaves it to the first.
            models.UniqueConstraint(
                fields=["facebook_page"],
                condition=Q(finished_at=None),
                name="page_recovery_one_running",
            )
        ]

    def __str__(self):
        return f"Recovery {self.pk} of page {self.facebook_page_id}"


class SendPace(models.Model):
    """The next free Send API turn of one page for one kind of message (messenger.pacing's
    bucket when there is no Redis): moved on by conditional UPDATEs, never read-then-written."""

    page_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)
    # Epoch microseconds (an integer, so the conditional UPDATE compares exactly).
    next_turn_us = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page_id", "kind"], name="unique_send_pace_per_kind")
        ]

    def __str__(self):
        return f"send pace of page {self.page_id} ({self.kind})"
