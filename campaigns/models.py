from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from campaigns.business_hours import AWAY_MESSAGE_MAX_LENGTH, validate_business_hours
from campaigns.kinds import UnknownKind, kind_named

# Messenger shows at most 640 characters of a message with quick replies.
CSAT_QUESTION_MAX_LENGTH = 300
CSAT_QUESTION = "How would you rate the help you received? (1 = poor, 5 = great)"


class Campaign(models.Model):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="campaigns",
        help_text="Agents who see and answer this campaign's contacts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # New and reopened conversations go to the online member with the most room
    # (agent_desktop.assignment). Off: they wait in the Unassigned tab.
    auto_assign = models.BooleanField(default=False)
    # {"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "17:00"]], ...},
    #  "holidays": ["2026-12-25"]}; None: always open (campaigns.business_hours).
    business_hours = models.JSONField(null=True, blank=True, validators=[validate_business_hours])
    # Sent once per conversation to a customer who writes outside business hours; empty: none.
    away_message = models.TextField(blank=True, max_length=AWAY_MESSAGE_MAX_LENGTH)
    # Reports count the share of first responses within this (business seconds when the campaign
    # has hours).
    first_response_target_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 3600)]
    )
    # A one-question satisfaction survey when a conversation is closed (reports.csat); on
    # Messenger only inside the 24 h window, as a plain response.
    csat_enabled = models.BooleanField(default=False)
    csat_question = models.CharField(max_length=CSAT_QUESTION_MAX_LENGTH, default=CSAT_QUESTION)

    class Meta:
        ordering = ["-is_active", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("campaigns:detail", args=[self.pk])


class EntryPoint(models.Model):
    """A way customers reach a campaign. Its `kind` names a kind a channel app registered
    (campaigns.kinds); the kind's own settings live in the channel app's tables."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="entry_points")
    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    # Archived instead of deleted: its webhook is gone and it leaves the builder's lists, but its
    # conversations stay (campaigns.services.entry_point_archive).
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return f"{self.name} ({self.kind_label})"

    def get_absolute_url(self):
        return reverse("campaigns:entry_point", args=[self.pk])

    @property
    def kind_label(self):
        try:
            return kind_named(self.kind).label
        except UnknownKind:
            return self.kind


class Person(models.Model):
    """What the app keeps of a user beyond Django's auth user: presence, capacity, avatar and
    notification preferences. Made on first need (`campaigns.people.person_of`)."""

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person"
    )
    # Open conversations the person can hold at once (automatic assignment stops there).
    capacity = models.PositiveSmallIntegerField(default=10)
    # Said "away" themselves; stays until they say "online" again.
    away = models.BooleanField(default=False)
    # Last heartbeat of an open desktop tab, and last time the person used one (keys, clicks).
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    # Last conversation given to them by automatic assignment (ties go to the longest idle).
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    avatar = models.FileField(upload_to="avatars/", blank=True, max_length=255)
    # {"mentions": bool, "assigned": bool, "sound": bool}: what the desktop tells them.
    notification_preferences = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return str(self.user)


class AuditEntry(models.Model):
    """Who changed what, when: an admin's record, never holding a secret's value."""

    class Action(models.TextChoices):
        CREDENTIALS_SAVED = "credentials_saved", "Credentials saved"
        WEBHOOK_GENERATED = "webhook_generated", "Webhook generated"
        WEBHOOK_ROTATED = "webhook_rotated", "Webhook rotated"
        PAGE_CONNECTED = "page_connected", "Page connected automatically"
        PAGE_MOVED = "page_moved", "Page moved from another entry point"
        CAMPAIGN_CREATED = "campaign_created", "Campaign created"
        CAMPAIGN_CHANGED = "campaign_changed", "Campaign changed"
        CAMPAIGN_ACTIVATED = "campaign_activated", "Campaign activated"
        CAMPAIGN_DEACTIVATED = "campaign_deactivated", "Campaign deactivated"
        ENTRY_POINT_CREATED = "entry_point_created", "Entry point created"
        ENTRY_POINT_ARCHIVED = "entry_point_archived", "Entry point archived"
        CONVERSATIONS_ERASED = "conversations_erased", "Conversations erased"
        PERSON_INVITED = "person_invited", "Person invited"
        PERSON_ADDED = "person_added", "Person added"
        PERSON_DEACTIVATED = "person_deactivated", "Person deactivated"
        PERSON_REACTIVATED = "person_reactivated", "Person reactivated"
        ROLE_CHANGED = "role_changed", "Role changed"
        MEMBERSHIP_CHANGED = "membership_changed", "Campaign membership changed"
        DELIVERIES_REPLAYED = "deliveries_replayed", "Deliveries replayed"
        ENTRY_POINT_CHANGED = "entry_point_changed", "Entry point settings changed"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept apart from the foreign key: the entry outlives a deleted user or object.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    target_type = models.CharField(max_length=32, blank=True)  # "campaign", "entry_point", "user"
    target_id = models.BigIntegerField(null=True, blank=True)
    target_name = models.CharField(max_length=255, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        who = self.actor_name or "app"
        return f"{self.at:%Y-%m-%d %H:%M} {who} {self.action} {self.target_name}"
