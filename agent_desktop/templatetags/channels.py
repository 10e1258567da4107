"""The contact's channel in the desktop's templates, through the kinds registry: its badge and
its own Customer Info lines. The templates name no channel, so a new kind needs no edit here."""

from django import template

from agent_desktop import channels
from campaigns.kinds import UnknownKind

register = template.Library()


@register.inclusion_tag("agent_desktop/partials/_channel_badge.html")
def channel_badge(contact, with_label=False):
    """The channel's icon with its name for screen readers (and as a visible label when
    `with_label`); nothing for a channel no app registers any more."""
    try:
        kind = channels.kind_of(contact)
    except UnknownKind:
        kind = None
    return {"kind": kind, "with_label": with_label}


@register.simple_tag
def channel_facts(contact):
    """[(label, value)]: what the channel knows of the customer (a visitor's page, language…)."""
    try:
        return channels.customer_info(contact)
    except UnknownKind:
        return []


@register.simple_tag
def channel_refreshes_profiles(contact):
    """Whether the channel fetches the customer's profile (Messenger does, website chat not)."""
    try:
        return channels.kind_of(contact).has("refresh_profile")
    except UnknownKind:
        return False
