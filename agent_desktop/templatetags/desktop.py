from django import template
from django.utils import timezone

from agent_desktop import media, search, workflow
from agent_desktop.models import Notification
from agent_desktop.profile import notification_preferences_of
from campaigns.people import HEARTBEAT_SECONDS, person_read

register = template.Library()


@register.filter
def attachment_url(attachment):
    """The attachment's URL when the page may use it (agent_desktop.media), else "": a
    `javascript:` or `data:` URL never becomes a link, a picture never loads from a host that is
    not Facebook's (also for messages stored before URLs were checked on the way in)."""
    url = attachment.get("url") if isinstance(attachment, dict) else None
    if not isinstance(url, str) or not url:
        return ""
    return url if media.attachment_url_allowed(attachment.get("type"), url) else ""


@register.filter
def upload_url(message_id):
    """Where the page loads an agent's file: here, or by a signed link on MEDIA_ORIGIN."""
    return media.kept_file_url("upload", message_id)


@register.filter
def picture_url(contact_id):
    """Where the page loads a contact's kept profile picture (as `upload_url`)."""
    return media.kept_file_url("picture", contact_id)


@register.filter
def initials(contact):
    letters = [p[0] for p in (contact.first_name, contact.last_name) if p]
    return "".join(letters).upper() or "?"


@register.filter
def utc_offset(hours):
    """Messenger gives the timezone as hours from UTC: 1 → "UTC+1", -3.5 → "UTC-3:30"."""
    if hours is None:
        return ""
    sign = "+" if hours >= 0 else "-"
    whole, minutes = divmod(round(abs(hours) * 60), 60)
    return f"UTC{sign}{whole}" + (f":{minutes:02d}" if minutes else "")


@register.filter
def file_size(size):
    if not isinstance(size, int):
        return ""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter
def short_age(when):
    """How long ago, in the fewest characters: "now", "5 min", "3 h", "2 d"."""
    if when is None:
        return ""
    seconds = max(0, (timezone.now() - when).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def _left(until):
    seconds = max(0, int((until - timezone.now()).total_seconds()))
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h {minutes} min"


@register.filter
def reply_window_note(window):
    """The composer's line about the channel's reply window, with the time left."""
    if not window.can_reply or window.closes_at is None:
        return window.reason
    if window.tag:
        left = _left(window.closes_at)
        return f"Over 24 h since the customer wrote: sent as a human agent reply, {left} left."
    return f"Reply window: {_left(window.closes_at)} left."


@register.filter
def highlight_hits(text, words):
    """Message text escaped, with line breaks kept and the searched words in <mark>."""
    return search.highlight_lines(text or "", words or [])


@register.filter
def activity_text(activity):
    """A timeline line: "Alex claimed", "Dana transferred to Sam", "reopened by customer"."""
    return workflow.activity_text(activity)


@register.simple_tag
def latest_mention_id(user):
    """The id of the user's newest notification: the desktop's script tells only later ones."""
    return (
        Notification.objects.filter(user=user).order_by("-pk").values_list("pk", flat=True).first()
        or 0
    )


@register.inclusion_tag("agent_desktop/partials/_presence_toggle.html", takes_context=True)
def presence_toggle(context):
    """The away toggle of the desktop's header, and where js/presence.js sends its beats. The
    page is shown to a tab that beats from now on: online unless the person said away."""
    request = context["request"]
    # One read (shared with the notification choices); the row is made by the first heartbeat.
    person = person_read(request.user)
    away = bool(person and person.away)
    return {
        "away": away,
        "shown": "away" if away else "online",
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        "beat_every": HEARTBEAT_SECONDS,
    }


@register.simple_tag
def notification_preferences(user):
    """{name: bool}: what the person chose on their profile page for js/notifications.js."""
    return notification_preferences_of(user)
