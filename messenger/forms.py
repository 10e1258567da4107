"""The builder's Messenger panel form: a Facebook Page's credentials."""

import re

from django import forms
from django.views.decorators.debug import sensitive_variables

from messenger.models import FacebookPage


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
