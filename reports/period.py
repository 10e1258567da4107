"""What a report covers, read from query parameters (the page's form and the API alike):
the period in a time zone, and the filters. Bad input raises BadParameter with a message for
the person who typed it (HTTP 400)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from campaigns.business_hours import zone_names
from campaigns.models import Campaign, EntryPoint
from campaigns.roles import user_role

MAX_SPAN = timedelta(days=366)
PRESETS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom",
}
DEFAULT_PRESET = "30d"


class BadParameter(ValueError):
    """A parameter the report can't use; the message says which and why."""


@dataclass(frozen=True)
class Scope:
    since: datetime  # aware, inclusive
    until: datetime  # aware, exclusive
    tz: str
    preset: str
    campaign_ids: tuple | None  # None: every campaign (admins)
    campaign: Campaign | None = None
    entry_point: EntryPoint | None = None
    channel: str = ""
    agent: object = None
    label: str = ""

    @property
    def zone(self):
        return ZoneInfo(self.tz)


def visible_campaigns(user):
    """The campaigns a user may report on: admins all, supervisors theirs; agents none."""
    role = user_role(user)
    if role == "admin":
        return Campaign.objects.all()
    if role == "supervisor":
        return Campaign.objects.filter(agents=user)
    raise PermissionDenied("Reports are for supervisors and admins.")


def scope_from(params, user, *, now=None):
    """The Scope asked for by `params` (a QueryDict or dict), within what `user` may see."""
    campaigns = visible_campaigns(user)
    is_admin = user_role(user) == "admin"
    campaign = _one(params, "campaign", campaigns, "campaign")
    entry_point = _one(
        params,
        "entry_point",
        EntryPoint.objects.filter(campaign__in=campaigns),
        "entry point",
    )
    agent = _one(params, "agent", get_user_model().objects.all(), "agent")
    tz = _zone_name(params.get("tz"), campaign)
    since, until, preset = _period(params, ZoneInfo(tz), now or timezone.now())
    if campaign is not None:
        campaign_ids = (campaign.pk,)
    else:
        campaign_ids = None if is_admin else tuple(campaigns.values_list("pk", flat=True))
    channel = (params.get("channel") or "").strip()
    label = (params.get("label") or "").strip()
    if len(channel) > 16 or len(label) > 40:
        raise BadParameter("channel or label: too long to be a name.")
    return Scope(
        since=since,
        until=until,
        tz=tz,
        preset=preset,
        campaign_ids=campaign_ids,
        campaign=campaign,
        entry_point=entry_point,
        channel=channel,
        agent=agent,
        label=label,
    )


def _one(params, name, queryset, what):
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise BadParameter(f"{name}: give the {what}'s id (a number), not “{value[:20]}”.")
    found = queryset.filter(pk=int(value)).first()
    if found is None:
        raise BadParameter(f"{name}: there is no {what} {value} among those you may see.")
    return found


def _zone_name(value, campaign):
    if value:
        if value not in zone_names():
            raise BadParameter(f"tz: “{value[:60]}” is not a time zone name like Europe/Berlin.")
        return value
    if campaign is not None and campaign.business_hours:
        return campaign.business_hours["timezone"]
    return settings.TIME_ZONE


def _period(params, zone, now):
    """(since, until, preset): explicit since/until win over a preset; dates are whole days in
    the zone (until included), times are taken as given (in the zone when they have none)."""
    since_text = (params.get("since") or "").strip()
    until_text = (params.get("until") or "").strip()
    if since_text or until_text:
        until = _moment(until_text, zone, "until", end=True) if until_text else now
        since = _moment(since_text, zone, "since") if since_text else until - timedelta(days=30)
        preset = "custom"
    else:
        preset = params.get("period") or DEFAULT_PRESET
        if preset == "custom":  # custom without dates: the default period
            preset = DEFAULT_PRESET
        if preset not in PRESETS:
            raise BadParameter(f"period: one of {', '.join(p for p in PRESETS if p != 'custom')}.")
        since, until = _preset(preset, zone, now)
    if since >= until:
        raise BadParameter("since must be before until.")
    if until - since > MAX_SPAN:
        raise BadParameter("The period is longer than a year: choose a shorter one.")
    return since, until, preset


def _preset(preset, zone, now):
    midnight = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    if preset == "yesterday":
        return _day_start(midnight.date() - timedelta(days=1), zone), midnight
    days_back = {"today": 0, "7d": 6, "30d": 29}[preset]
    return _day_start(midnight.date() - timedelta(days=days_back), zone), now


def _day_start(day, zone):
    return datetime.combine(day, time(), tzinfo=zone)


def _moment(text, zone, name, *, end=False):
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _day_start(day + timedelta(days=1) if end else day, zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(
            f"{name}: “{text[:40]}” is not a date (2026-11-30) or a time (2026-11-30T09:00)."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
