from django.db import models


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
        "campaigns.FacebookPage",
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
