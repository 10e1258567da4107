"""The contact's channel in the desktop's templates, through the kinds registry: its badge, its
own Customer Info lines and notice. The templates name no channel, so a new kind needs no edit
here."""

from django import template

from agent_desktop import channels
from campaigns.kinds import all_kinds

register = template.Library()


@register.inclusion_tag("agent_desktop/partials/_channel_badge.html")
def channel_badge(contact, with_label=False):
    """The channel's icon with its name for screen readers (and as a visible label when
    `with_label`); nothing for a channel no app registers any more."""
    return {"kind": channels.kind_or_none(contact), "with_label": with_label}


@register.simple_tag
def channel_facts(contact):
    """[(label, value)]: what the channel knows of the customer (a visitor's page, a PSID…)."""
    return channels.customer_info(contact)


@register.simple_tag
def channel_refreshes_profiles(contact):
    """Whether the channel fetches the customer's profile (Messenger does, website chat not)."""
    return channels.fetches_profiles(contact)


@register.simple_tag
def channel_notice(contact):
    """The channel's notice about the contact (agent_desktop.channels.ContactNotice) or None."""
    return channels.contact_notice(contact)


@register.simple_tag
def channel_names():
    """The installed channels, for a sentence: "Messenger", "Messenger or Website chat"."""
    names = [kind.channel_label for kind in all_kinds()]
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else "any channel"
