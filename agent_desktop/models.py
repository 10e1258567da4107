"""Contacts and their messages, channel-neutral: the desktop knows a channel by its name (and the
kind it registered, campaigns.kinds); what only one channel has lives in `channel_details`."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from agent_desktop import desk_versions
from campaigns.business_hours import is_open
from campaigns.kinds import UnknownKind, kind_of_channel
from campaigns.models import EntryPoint


class _DeskQuerySet(models.QuerySet):
    """update() and bulk_create() send no signals: these give the desk its change tokens
    (agent_desktop.desk_versions) themselves, so no write path can forget them."""

    # The contact's pk and its campaign's, as lookups from this model.
    contact_field = campaign_field = None

    def update(self, **kwargs):
        touched = list(self.values_list(self.contact_field, self.campaign_field).distinct())
        rows = super().update(**kwargs)
        if rows:
            desk_versions.changed(
                contact_ids=[contact for contact, _ in touched],
                campaign_ids=[campaign for _, campaign in touched],
            )
        return rows

    def update_loaded(self, contacts, **kwargs):
        """update() of rows of `contacts`, instances loaded with their entry points: their desk
        tokens are renewed from the instances, without reading their campaigns again."""
        rows = models.QuerySet.update(self, **kwargs)
        if rows:
            desk_changed(contacts=contacts)
        return rows


class ContactQuerySet(_DeskQuerySet):
    contact_field, campaign_field = "pk", "entry_point__campaign_id"

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        # With ignore_conflicts the new rows have no pk: their campaigns change instead.
        campaigns, missing = set(), set()
        for obj in created:
            if Contact.entry_point.is_cached(obj):
                campaigns.add(obj.entry_point.campaign_id)
            else:
                missing.add(obj.entry_point_id)
        if missing:
            found = EntryPoint.objects.filter(pk__in=missing).values_list("campaign_id")
            campaigns.update(pk for (pk,) in found)
        desk_versions.changed(campaign_ids=campaigns)
        return created


class MessageQuerySet(_DeskQuerySet):
    contact_field, campaign_field = "contact_id", "contact__entry_point__campaign_id"

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        cached = [obj.contact for obj in created if Message.contact.is_cached(obj)]
        desk_changed(contacts=cached, contact_ids=[obj.contact_id for obj in created])
        return created


def desk_changed(*, contacts=(), contact_ids=()):
    """Fresh desk tokens for these contacts (instances, or ids) and their campaigns: read from
    the instances' entry points where loaded, else in one query."""
    campaign_of, missing = {}, set(contact_ids)
    for contact in contacts:
        if Contact.entry_point.is_cached(contact):
            campaign_of[contact.pk] = contact.entry_point.campaign_id
        else:
            missing.add(contact.pk)
    missing -= campaign_of.keys()
    if missing:
        found = Contact.objects.filter(pk__in=missing).values_list("pk", "entry_point__campaign_id")
        campaign_of.update(found)
    desk_versions.changed(contact_ids=campaign_of.keys(), campaign_ids=campaign_of.values())


class Contact(models.Model):
    """A customer reaching a campaign through one entry point (for Messenger: page + PSID)."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        ASSIGNED = "assigned", "Assigned"
        # Waiting on the customer; open again when they write.
        PENDING = "pending", "Pending"
        # Out of the way until `snoozed_until` (or until the customer writes).
        SNOOZED = "snoozed", "Snoozed"
        CLOSED = "closed", "Closed"

    # PROTECT: deleting an entry point must never erase its conversations by cascade; an entry
    # point is archived, and only the explicit erase (which deletes its contacts first) removes
    # them (campaigns.services.entry_point_erase_conversations).
    entry_point = models.ForeignKey(
        "campaigns.EntryPoint", on_delete=models.PROTECT, related_name="contacts"
    )
    # The channel's name as its kind registered it (campaigns.kinds), e.g. "messenger".
    channel = models.CharField(max_length=16)
    external_id = models.CharField(
        max_length=64, help_text="The customer's id on the channel (Messenger: the PSID)."
    )

    # Profile, from the channel (Messenger: the User Profile API).
    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    profile_pic = models.FileField(upload_to="profile_pics/", blank=True, max_length=255)
    # Language and time zone: every channel knows them (Messenger's profile, a browser's).
    locale = models.CharField(max_length=16, blank=True)
    timezone = models.FloatField(null=True, blank=True, help_text="Hours from UTC.")
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    profile_error = models.CharField(max_length=255, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_contacts",
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The customer's own last message: it opens the channel's reply window.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=160, blank=True)
    # What only the contact's channel knows, written by that channel only and shown through its
    # kind's hooks (customer_info, contact_notice); keys by channel (README, "Contacts"):
    # - messenger: "gender" (the User Profile API's, when the page may ask for it) and
    #   "answered_elsewhere" (true while another app owns the conversation: standby events,
    #   handover protocol).
    # - webchat: the visitor's page URL, referrer, browser (the webchat app documents its own).
    # Written with `agent_desktop.services.contact_channel_details_update` (merges under a row
    # lock, so two writers at once both land). In the list's row: no join to draw a row.
    channel_details = models.JSONField(default=dict, blank=True)
    # When the customer was last shown that an agent is typing (rate-limits typing_on).
    typing_sent_at = models.DateTimeField(null=True, blank=True)
    # When this conversation got its away reply (agent_desktop.away_replies): once until it is
    # closed, which clears it.
    away_replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entry_point", "external_id"], name="contact_unique_per_entry_point"
            )
        ]
        indexes = [models.Index(fields=["status", "-last_message_at"])]

    def __str__(self):
        return self.name

    @property
    def name(self):
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.placeholder_name

    @property
    def placeholder_name(self):
        try:
            label = kind_of_channel(self.channel).channel_label
        except UnknownKind:
            label = self.channel
        return f"{label} user ·{self.external_id[-4:]}"

    @property
    def outside_business_hours(self):
        """Whether the customer's latest message came while the campaign was closed. Reads the
        campaign through the entry point: select them with the contact (no query per row)."""
        schedule = self.entry_point.campaign.business_hours
        return self.last_inbound_at is not None and not is_open(schedule, self.last_inbound_at)


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", "From the customer"
        OUT = "out", "To the customer"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        ATTACHMENT = "attachment", "Attachment"
        POSTBACK = "postback", "Button tap"
        REFERRAL = "referral", "Referral"
        REACTION = "reaction", "Reaction"
        OPTIN = "optin", "Opt-in"
        HANDOVER = "handover", "Conversation routing"
        # Signals about another message (details["target_mid"]), shown on that message.
        EDIT = "edit", "Edit"
        UNSEND = "unsend", "Message removed"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent (this app)"
        PAGE = "page", "The page, outside this app"
        # Sent by the app itself (the away reply outside business hours); sent_by is None.
        AUTOMATIC = "automatic", "Automatic reply"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CUSTOMER)
    text = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    # An agent's outgoing file (image or document), sent through the channel's attachment upload.
    upload = models.FileField(upload_to="outgoing/%Y/%m/", blank=True, max_length=255)
    # Kind-specific details: quick-reply and postback payloads, reply_to, referral, reaction…
    details = models.JSONField(default=dict, blank=True)
    # The channel's own id of the message (Messenger's `mid`; the API's `mid` field), unique, so
    # a redelivered event is one message. Kept under the name the API and DESIGN.md use.
    mid = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # Events that carry no mid of their own (reactions, referrals…) are deduplicated by this.
    event_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    sent_at = models.DateTimeField(
        help_text="When the channel says it was sent (Messenger timestamp)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "pk"]
        indexes = [
            models.Index(fields=["contact", "sent_at"]),
            # Reports count messages of a period across all contacts (reports.figures).
            models.Index(fields=["sent_at", "direction"], name="message_sent_at_direction"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()}: {self.text[:40] or self.get_kind_display()}"


class Activity(models.Model):
    """A change of a contact's ownership or lifecycle, shown in the conversation timeline.

    `actor` None means the customer or the app itself (a snooze that ended)."""

    class Kind(models.TextChoices):
        CLAIMED = "claimed", "claimed"
        RELEASED = "released", "released"
        TRANSFERRED = "transferred", "transferred"
        TAKEN_OVER = "taken_over", "took over"
        CLOSED = "closed", "closed"
        REOPENED = "reopened", "reopened"
        SNOOZED = "snoozed", "snoozed"
        ASSIGNED = "assigned", "assigned"
        LABELLED = "labelled", "labelled"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who it was done to (transferred to, taken over from), or a word (a label, a snooze time).
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_text = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["contact", "at"])]
        verbose_name_plural = "activities"

    def __str__(self):
        return f"{self.contact_id} {self.kind}"


# --- A team's tools: private notes and mentions, canned replies, labels -----------------------
class Note(models.Model):
    """A private note agents leave in a conversation. Never sent to the customer."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in_notes"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"Note on {self.contact_id}: {self.text[:40]}"


class Notification(models.Model):
    """Something a user should know about (a mention in a note, a conversation automatic
    assignment gave them), until they read it."""

    class Kind(models.TextChoices):
        MENTION = "mention", "Mentioned in a note"
        ASSIGNED = "assigned", "Conversation assigned to you"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user_id}"


class CannedResponse(models.Model):
    """A reply agents insert by typing `/shortcut`; global (no campaign) or one campaign's."""

    shortcut = models.SlugField(max_length=40)
    text = models.TextField(max_length=2000)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shortcut", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shortcut", "campaign"], name="canned_shortcut_unique_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["shortcut"],
                condition=models.Q(campaign=None),
                name="canned_shortcut_unique_global",
            ),
        ]

    def __str__(self):
        return f"/{self.shortcut}"


class Label(models.Model):
    """A label admins define and agents put on contacts. Colours come from a palette whose text
    and background pairs pass WCAG AA contrast (inline styles are refused by the CSP)."""

    class Color(models.TextChoices):
        GRAY = "gray", "Gray"
        RED = "red", "Red"
        ORANGE = "orange", "Orange"
        GREEN = "green", "Green"
        TEAL = "teal", "Teal"
        BLUE = "blue", "Blue"
        PURPLE = "purple", "Purple"
        PINK = "pink", "Pink"

    name = models.CharField(max_length=40, unique=True)
    color = models.CharField(max_length=16, choices=Color.choices, default=Color.GRAY)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="labels")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
