"""One row per conversation cycle (open → closed) of a contact, kept current by the lifecycle
hooks (reports.receivers), so reports are plain aggregates over indexed columns."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ConversationCycle(models.Model):
    class CsatStatus(models.TextChoices):
        # Set when the cycle closes in a campaign asking for ratings (reports.csat).
        NONE = "", "No survey"
        SENT = "sent", "Survey sent"
        ANSWERED = "answered", "Answered"
        # Messenger's 24 h window had closed: no automatic message may go out.
        SKIPPED_WINDOW = "skipped_window", "Skipped: reply window closed"
        # The conversation's channel can't ask (no survey hook).
        SKIPPED_CHANNEL = "skipped_channel", "Skipped: channel can't ask"

    contact = models.ForeignKey(
        "agent_desktop.Contact", on_delete=models.CASCADE, related_name="cycles"
    )
    # Copied from the contact when the cycle opens, for filters without joins.
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    entry_point = models.ForeignKey(
        "campaigns.EntryPoint", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=16)

    # The customer's message that opened (or reopened) it, or an agent's reopening.
    opened_at = models.DateTimeField()
    # A contact's second and later cycles: a reopened conversation counts again.
    reopened = models.BooleanField(default=False)

    first_response_at = models.DateTimeField(null=True, blank=True)
    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Durations are stored when they become known, on the campaign's business-hours clock when
    # it had hours then (`business_hours`), else on the wall clock.
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)

    # Set while the conversation is snoozed or pending; the interval is added to
    # `snoozed_seconds` when it ends.
    snoozed_since = models.DateTimeField(null=True, blank=True)
    snoozed_seconds = models.PositiveIntegerField(default=0)

    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Open → closed, less the time snoozed or pending.
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    business_hours = models.BooleanField(default=False)

    csat_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_comment = models.TextField(blank=True)
    # When the rating came: a free-text message soon after it is kept as the comment.
    csat_answered_at = models.DateTimeField(null=True, blank=True)
    csat_status = models.CharField(
        max_length=16, choices=CsatStatus.choices, default=CsatStatus.NONE, blank=True
    )

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            # One open cycle per contact: of two workers opening one at once, one wins.
            models.UniqueConstraint(
                fields=["contact"], condition=Q(closed_at=None), name="one_open_cycle_per_contact"
            ),
            models.CheckConstraint(
                condition=Q(csat_rating=None) | Q(csat_rating__gte=1, csat_rating__lte=5),
                name="csat_rating_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["opened_at"]),
            models.Index(fields=["closed_at"]),
            models.Index(fields=["campaign", "opened_at"]),
            models.Index(fields=["campaign", "closed_at"]),
            models.Index(fields=["contact", "opened_at"]),
        ]

    def __str__(self):
        return f"{self.contact_id} opened {self.opened_at:%Y-%m-%d %H:%M}"


class MessageDay(models.Model):
    """Messages per UTC day of each entry point, direction, source and sender: what long
    periods count instead of scanning every message (reports.rollup keeps it)."""

    day = models.DateField()
    entry_point = models.ForeignKey(
        "campaigns.EntryPoint", on_delete=models.CASCADE, related_name="+"
    )
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    direction = models.CharField(max_length=3)
    source = models.CharField(max_length=16)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "campaign"])]

    def __str__(self):
        return f"{self.day} {self.entry_point_id} {self.direction}: {self.count}"


class RollupState(models.Model):
    """One row: the days before `rolled_until` are counted in MessageDay."""

    rolled_until = models.DateField(null=True, blank=True)

    def __str__(self):
        return f"rolled until {self.rolled_until}"
