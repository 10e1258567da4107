import re
from datetime import time

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from campaigns import business_hours
from campaigns.models import AuditEntry, Campaign, EntryPoint


class CampaignForm(forms.ModelForm):
    """A campaign's name, agents and settings: automatic assignment, business hours (a weekly
    schedule edited one opening per day, see campaigns.business_hours) and the away reply."""

    hours_enabled = forms.BooleanField(
        label="Use business hours",
        required=False,
        help_text="Off: the campaign is always open and no away reply is sent.",
    )
    hours_timezone = forms.ChoiceField(
        label="Time zone",
        required=False,  # asked for only with business hours on (validate_schedule)
        choices=lambda: [(name, name) for name in business_hours.zone_names()],
        help_text="The opening hours and holidays are in this time zone.",
    )
    holidays = forms.CharField(
        label="Holidays",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-25"}),
        help_text="Closed all day. One date per line, like 2026-12-25.",
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "description",
            "agents",
            "auto_assign",
            "away_message",
            "first_response_target_seconds",
            "csat_enabled",
            "csat_question",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "agents": forms.CheckboxSelectMultiple,
            "first_response_target_seconds": forms.NumberInput(
                attrs={"aria-describedby": "id_first_response_target_seconds_helptext"}
            ),
            "away_message": forms.Textarea(
                attrs={
                    "rows": 4,
                    "data-counter": "away-count",
                    "aria-describedby": "away-count id_away_message_helptext",
                }
            ),
        }
        labels = {
            "auto_assign": "Assign new conversations automatically",
            "away_message": "Away message",
            "first_response_target_seconds": "First response target (seconds)",
            "csat_enabled": "Ask customers to rate the conversation when it is closed",
            "csat_question": "Satisfaction question",
        }
        help_texts = {
            "agents": "Agents who see and answer this campaign's contacts.",
            "auto_assign": "New and reopened conversations go to the online agent with the most "
            "room. Off: they wait in the Unassigned tab.",
            "away_message": "Sent once per conversation to a customer who writes outside "
            "business hours (only within 24 hours of their message, as Messenger allows). "
            "Leave it empty to send no away reply.",
            "first_response_target_seconds": "Reports show the share of conversations first "
            "answered within this time (300 = 5 minutes; business hours only when set).",
            "csat_enabled": "One question with five ratings. On Messenger it is sent only "
            "within 24 hours of the customer's last message (Messenger's rule); later closes "
            "get no survey and reports count them as skipped.",
            "csat_question": "Asked with the ratings 1 to 5.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        self.fields["agents"].label_from_instance = lambda u: u.get_full_name() or u.username
        for day in business_hours.DAYS:
            name = business_hours.DAY_NAMES[day]
            self.fields[f"{day}_opens"] = _time_field(f"{name} opens")
            self.fields[f"{day}_closes"] = _time_field(f"{name} closes")
        # Left out of a post (an older form, a script): the campaign keeps its target.
        self.fields["first_response_target_seconds"].required = False
        self.fields["csat_question"].required = False
        self.hidden_ranges = {}  # day: how many openings the form can't show (set by the API)
        self._set_initial_hours(self.instance.business_hours)

    def _set_initial_hours(self, schedule):
        """The saved schedule in the fields; without one, a weekday office as the suggestion."""
        if schedule is None:
            schedule = {"timezone": settings.TIME_ZONE, "days": OFFICE_DAYS, "holidays": []}
        else:
            self.initial.setdefault("hours_enabled", True)
        self.initial.setdefault("hours_timezone", schedule["timezone"])
        self.initial.setdefault("holidays", "\n".join(schedule.get("holidays", ())))
        for day, ranges in schedule["days"].items():
            if ranges:
                opens, closes = ranges[0]
                self.initial.setdefault(f"{day}_opens", opens)
                self.initial.setdefault(f"{day}_closes", "00:00" if closes == "24:00" else closes)
            if len(ranges) > 1:
                self.hidden_ranges[day] = len(ranges) - 1

    def campaign_fields(self):
        """The campaign's own fields as the services take them (the hours fields made into
        `business_hours` by clean())."""
        fields = {name: self.cleaned_data[name] for name in self._meta.fields}
        return {**fields, "business_hours": self.instance.business_hours}

    def day_rows(self):
        """Per weekday: its name, its two time fields and their errors (one table row each)."""
        for day in business_hours.DAYS:
            opens, closes = self[f"{day}_opens"], self[f"{day}_closes"]
            yield {
                "day": day,
                "name": business_hours.DAY_NAMES[day],
                "opens": opens,
                "closes": closes,
                "errors": [*opens.errors, *closes.errors],
                "hidden_ranges": self.hidden_ranges.get(day, 0),
            }

    def clean_first_response_target_seconds(self):
        value = self.cleaned_data.get("first_response_target_seconds")
        return self.instance.first_response_target_seconds if value is None else value

    def clean_csat_question(self):
        # Left empty or out of a post: the question the campaign has (the default at first).
        return self.cleaned_data.get("csat_question", "").strip() or self.instance.csat_question

    def clean(self):
        cleaned = super().clean()
        schedule = self._schedule(cleaned) if cleaned.get("hours_enabled") else None
        if not self.errors:
            self.instance.business_hours = schedule
        return cleaned

    def _schedule(self, cleaned):
        """The schedule of the hours fields, checked by campaigns.business_hours; None (with
        the errors added by their fields) when it is not valid."""
        days, complete = {}, "hours_timezone" not in self.errors
        for day in business_hours.DAYS:
            opens, closes = cleaned.get(f"{day}_opens"), cleaned.get(f"{day}_closes")
            if f"{day}_opens" in self.errors or f"{day}_closes" in self.errors:
                complete = False
            elif opens is None and closes is None:
                days[day] = []
            elif opens is None or closes is None:
                complete = False
                self.add_error(
                    f"{day}_opens" if opens is None else f"{day}_closes",
                    "Give both times, or leave both empty for a closed day.",
                )
            else:  # a closing time of 00:00 is midnight, the end of the day
                days[day] = [
                    [f"{opens:%H:%M}", "24:00" if closes == time(0) else f"{closes:%H:%M}"]
                ]
        if not complete:
            return None
        holidays = re.split(r"[\s,]+", cleaned.get("holidays", ""))
        try:
            return business_hours.validate_schedule(
                {
                    "timezone": cleaned.get("hours_timezone"),
                    "days": days,
                    "holidays": [day for day in holidays if day],
                }
            )
        except business_hours.ScheduleInvalid as exc:
            for part, messages in exc.errors.items():
                field = SCHEDULE_FIELDS.get(part, f"{part.removeprefix('days.')}_closes")
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return None


# Where the form shows an error of a part of the schedule (a day's: under its closing time).
SCHEDULE_FIELDS = {"timezone": "hours_timezone", "holidays": "holidays", "business_hours": None}
OFFICE_DAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def _time_field(label):
    return forms.TimeField(
        label=label,
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


class EntryPointForm(forms.Form):
    """Add an entry point of one kind (campaigns.kinds): its name; the kind rides along hidden.
    One per kind on the campaign page, each with ids of its own."""

    name = forms.CharField(
        label="Name",
        max_length=EntryPoint._meta.get_field("name").max_length,
        help_text="How agents will see this entry point, e.g. “Acme Support page”.",
    )
    kind = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, kind, **kwargs):
        self.kind = kind  # the EntryPointKind, or None when the posted one is not installed
        kwargs.setdefault("auto_id", f"id_{kind.name}_%s" if kind else "id_%s")
        kwargs.setdefault("initial", {"kind": kind.name if kind else ""})
        super().__init__(*args, **kwargs)
        if kind is not None:  # one form per kind on the page: each box named apart
            self.fields["name"].label = f"{kind.label} name"

    def clean_kind(self):
        if self.kind is None or self.cleaned_data["kind"] != self.kind.name:
            raise forms.ValidationError("This kind of entry point is not installed.")
        return self.kind.name


class AuditFilterForm(forms.Form):
    """The audit log's filters, for its page and `GET /api/audit/` alike."""

    action = forms.ChoiceField(
        choices=[("", "Any action"), *AuditEntry.Action.choices], required=False
    )
    actor = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Anyone", label="Who"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="Any campaign"
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = get_user_model().objects.filter(
            pk__in=AuditEntry.objects.exclude(actor=None).values("actor")
        )
        self.fields["actor"].label_from_instance = lambda u: u.get_full_name() or u.username

    def clean_csat_question(self):
        # Left empty or out of a post: the question the campaign has (the default at first).
        return self.cleaned_data.get("csat_question", "").strip() or self.instance.csat_question

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filters(self):
        """Keyword arguments for campaigns.audit.audit_entries."""
        data = self.cleaned_data
        return {
            "action": data.get("action") or "",
            "actor": data.get("actor"),
            "campaign": data.get("campaign"),
            "since": data.get("since"),
            "until": data.get("until"),
        }
