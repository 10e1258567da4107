"""Forms of website chat: the builder's settings, and what a visitor tells about themselves."""

import re
import zoneinfo
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError

from webchat import colors, origins
from webchat.models import WebChatSettings

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$")
# IANA names Python knows (the tz database of the system or the tzdata package).
KNOWN_TIME_ZONES = frozenset(zoneinfo.available_timezones())


class WebChatSettingsForm(forms.Form):
    allowed_origins = forms.CharField(
        label="Allowed websites",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One origin per line, e.g. https://shop.example.com (scheme, host and port "
        "if not the default). The chat answers only pages of these websites.",
    )
    color = forms.CharField(
        label="Colour",
        max_length=7,
        validators=[colors.validate_color],
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="The chat bubble's colour; its text turns white or dark for contrast.",
    )
    greeting = forms.CharField(
        label="Greeting",
        max_length=WebChatSettings._meta.get_field("greeting").max_length,
        required=False,
        help_text="The first line a visitor reads when they open the chat.",
    )

    @classmethod
    def for_settings(cls, settings_row, data=None):
        initial = {
            "allowed_origins": "\n".join(settings_row.allowed_origins),
            "color": settings_row.color.lower(),  # the colour input takes lower case only
            "greeting": settings_row.greeting,
        }
        return cls(data, initial=initial)

    def clean_allowed_origins(self):
        return origins.parse_origins(self.cleaned_data["allowed_origins"].splitlines())

    def clean_color(self):
        return colors.normalise_color(self.cleaned_data["color"])


def _web_address(value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Only an http(s) address.")


class VisitorDetailsForm(forms.Form):
    """What a widget may say of its visitor; every field is optional. A time zone that is not
    a known IANA name is dropped rather than refused (browsers know a few we do not)."""

    name = forms.CharField(max_length=120, required=False)
    email = forms.EmailField(max_length=254, required=False)
    page_url = forms.CharField(max_length=500, required=False, validators=[_web_address])
    referrer = forms.CharField(max_length=500, required=False, validators=[_web_address])
    language = forms.RegexField(LANGUAGE_TAG, max_length=35, required=False)
    timezone = forms.CharField(max_length=64, required=False)

    def clean_timezone(self):
        value = self.cleaned_data["timezone"]
        return value if value in KNOWN_TIME_ZONES else ""

    def given(self):
        """The fields the visitor actually sent (an update changes only those)."""
        return {name: self.cleaned_data[name] for name in self.fields if name in self.data}
