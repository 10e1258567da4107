import re

from django import forms
from django.contrib.auth import get_user_model
from django.views.decorators.debug import sensitive_variables

from campaigns.models import AuditEntry, Campaign, EntryPoint, FacebookPage


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["name", "description", "agents"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "agents": forms.CheckboxSelectMultiple,
        }
        help_texts = {"agents": "Agents who see and answer this campaign's contacts."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        self.fields["agents"].label_from_instance = lambda u: u.get_full_name() or u.username


class EntryPointForm(forms.ModelForm):
    class Meta:
        model = EntryPoint
        fields = ["name"]
        labels = {"name": "Name"}
        help_texts = {"name": "How agents will see this entry point, e.g. “Acme Support page”."}


class SecretInput(forms.PasswordInput):
    """A password box that never renders a value and turns off autofill."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"autocomplete": "off", "spellcheck": "false", **(attrs or {})},
            render_value=False,
        )


class MessengerCredentialsForm(forms.Form):
    """The Messenger panel: App ID, App Secret, Page Access Token.

    Secrets are write-only: a saved secret is never sent back to the browser; leaving its box
    empty keeps it.
    """

    app_id = forms.CharField(
        label="Facebook App ID",
        max_length=32,
        help_text="App dashboard → Settings → Basic → App ID (digits only).",
    )
    app_secret = forms.CharField(
        label="App Secret",
        required=False,
        strip=True,
        widget=SecretInput,
        help_text="App dashboard → Settings → Basic → App Secret (32 characters).",
    )
    page_access_token = forms.CharField(
        label="Page Access Token",
        required=False,
        strip=True,
        widget=SecretInput,
        help_text="App dashboard → Messenger → Settings → Access Tokens → Generate for your page.",
    )

    def __init__(self, *args, page: FacebookPage, **kwargs):
        self.page = page
        kwargs.setdefault("initial", {"app_id": page.app_id})
        super().__init__(*args, **kwargs)
        self.unreadable = page.unreadable_secrets()
        for name in ("app_secret", "page_access_token"):
            if self._is_usable(name):
                self.fields[name].widget.attrs["placeholder"] = (
                    "Saved. Paste a new one to replace it"
                )

    def _is_usable(self, name):
        return (
            getattr(self.page, f"{name}_is_set") and self.fields[name].label not in self.unreadable
        )

    def clean_app_id(self):
        app_id = self.cleaned_data["app_id"].strip()
        if not app_id.isdigit():
            raise forms.ValidationError(
                "An App ID is a number, like 1234567890123456. Copy it from Settings → Basic."
            )
        return app_id

    @sensitive_variables("secret")
    def clean_app_secret(self):
        secret = self.cleaned_data["app_secret"]
        if not secret:
            return self._required_unless_saved("app_secret", "App Secret")
        if not re.fullmatch(r"[0-9a-fA-F]{32}", secret):
            raise forms.ValidationError(
                "An App Secret is 32 letters and digits (0-9, a-f). Press “Show” next to it in "
                "Settings → Basic and copy the whole value."
            )
        return secret

    @sensitive_variables("token")
    def clean_page_access_token(self):
        token = self.cleaned_data["page_access_token"]
        if not token:
            return self._required_unless_saved("page_access_token", "Page Access Token")
        if len(token) < 20 or re.search(r"\s", token):
            raise forms.ValidationError(
                "This does not look like a Page Access Token: it is one long word of letters "
                "and digits. Copy it again with the copy button in the Messenger settings."
            )
        return token

    def _required_unless_saved(self, name, label):
        if label in self.unreadable:
            raise forms.ValidationError(
                f"The saved {label} can't be decrypted with the current encryption key. "
                "Enter it again."
            )
        if not self._is_usable(name):
            raise forms.ValidationError(f"Enter the {label}.")
        return ""


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
