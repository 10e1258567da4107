"""Website chat: the settings of a website-chat entry point, and the visitors who write."""

import secrets

from django.db import models


def new_widget_key():
    return secrets.token_urlsafe(24)


def new_token_id():
    return secrets.token_urlsafe(16)


class WebChatSettings(models.Model):
    """What the builder sets for a website-chat entry point (webchat.forms validates it)."""

    entry_point = models.OneToOneField(
        "campaigns.EntryPoint", on_delete=models.CASCADE, related_name="web_chat"
    )
    # In the embed snippet and every visitor API URL: unguessable, so a widget can't be aimed
    # at an entry point someone only knows the number of.
    widget_key = models.CharField(max_length=64, unique=True, default=new_widget_key)
    # Normalised origins ("https://shop.example.com", "http://127.0.0.1:8001") that may embed it.
    allowed_origins = models.JSONField(default=list, blank=True)
    # The bubble's colour, #RRGGBB; its text colour is computed for contrast (webchat.colors).
    color = models.CharField(max_length=7, default="#1F5FBF")
    greeting = models.CharField(max_length=200, blank=True, default="Hi! How can we help?")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "website chat settings"
        verbose_name_plural = "website chat settings"

    def __str__(self):
        return f"Website chat of {self.entry_point_id}"


class Visitor(models.Model):
    """Someone chatting on a website: the customer side of a webchat Contact."""

    contact = models.OneToOneField(
        "agent_desktop.Contact", on_delete=models.CASCADE, related_name="web_visitor"
    )
    # The visitor token (webchat.tokens) names the visitor by token_id and proves itself with
    # token_secret; replacing the secret ends every token given out before.
    token_id = models.CharField(max_length=32, unique=True, default=new_token_id)
    token_secret = models.CharField(max_length=32, default=new_token_id)

    name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    page_url = models.CharField(max_length=500, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=35, blank=True)
    timezone = models.CharField(max_length=64, blank=True)  # an IANA name, e.g. Europe/Berlin
    user_agent = models.CharField(max_length=120, blank=True)  # a summary, e.g. "Firefox on Linux"

    # Until when the visitor sees "typing…" (an agent typed) and the agent sees the visitor type.
    agent_typing_until = models.DateTimeField(null=True, blank=True)
    visitor_typing_until = models.DateTimeField(null=True, blank=True)
    # The newest visitor message an agent has seen (opened the conversation, or answered).
    agent_read_up_to = models.BigIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name or f"Visitor {self.contact_id}"
