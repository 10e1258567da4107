"""The Team pages' forms: invite, add with a password, and a person's role and campaigns."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from campaigns.models import Campaign
from campaigns.people import MAX_CAPACITY
from campaigns.team import ROLES, ROLES_HELP, email_taken, username_taken

User = get_user_model()
ROLE_CHOICES = list(ROLES.items())


class CampaignsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Agents and supervisors work in these campaigns only.")
        super().__init__(queryset=Campaign.objects.order_by("name"), **kwargs)


class NewPersonForm(forms.Form):
    """What inviting and adding share: who, which role, which campaigns."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="agent", help_text=ROLES_HELP)
    campaigns = CampaignsField()

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username and username_taken(username):
            raise ValidationError("This username is taken: choose another.")
        return username

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email_taken(email):
            raise ValidationError("Someone on the team already has this e-mail address.")
        return email


class InviteForm(NewPersonForm):
    email = forms.EmailField(
        label="E-mail", help_text="The invitation goes here: a link to set a password, 72 hours."
    )
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        required=False,
        help_text="Leave empty to log in with the e-mail address.",
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
    )
    field_order = ["email", "first_name", "last_name", "username", "role", "campaigns"]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("username") and cleaned.get("email"):
            if username_taken(cleaned["email"]):
                self.add_error("username", "This e-mail address is someone's username: pick one.")
            cleaned["username"] = cleaned["email"]
        return cleaned


class AddWithPasswordForm(NewPersonForm):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
    )
    email = forms.EmailField(label="E-mail", required=False)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Tell it to the person; they can change it on their profile page.",
    )
    field_order = ["username", "first_name", "last_name", "email", "password", "role", "campaigns"]

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(
                username=cleaned.get("username") or "",
                email=cleaned.get("email") or "",
                first_name=cleaned.get("first_name") or "",
                last_name=cleaned.get("last_name") or "",
            )
            try:
                validate_password(password, probe)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class PersonForm(forms.Form):
    """A person's page: role, campaigns and how many conversations they hold at once."""

    role = forms.ChoiceField(choices=ROLE_CHOICES, help_text=ROLES_HELP)
    campaigns = CampaignsField()
    capacity = forms.IntegerField(
        min_value=0,
        max_value=MAX_CAPACITY,
        help_text="Open conversations automatic assignment gives them at most.",
    )


class AddMemberForm(forms.Form):
    """The campaign page's "add a member": any active person not in it yet."""

    user = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Add a person", empty_label=None
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True).exclude(campaigns=campaign).order_by("username")
        )
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_full_name()} ({u.username})" if u.get_full_name() else u.username
        )
