"""/profile/: every logged-in person's own page. Each card posts to its own view; a form with
errors comes back on the whole page, beside the field at fault."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from agent_desktop import media, profile
from campaigns import team
from campaigns.people import person_of

User = get_user_model()


class DetailsForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="E-mail", required=False)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if team.email_taken(email, exclude=self.user.pk):
            raise forms.ValidationError("Someone on the team already has this e-mail address.")
        return email


class AvatarForm(forms.Form):
    avatar = forms.FileField(
        label="New picture", help_text="PNG, JPEG, GIF or WebP, up to 2 MB; shown round."
    )


class NotificationsForm(forms.Form):
    wanted = forms.MultipleChoiceField(
        label="Tell me about",
        choices=list(profile.NOTIFICATIONS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Shown by the agent desktop while its tab is in the background, once "
        "notifications are on in that browser.",
    )


def _password_form(user, data=None):
    form = PasswordChangeForm(user, data)
    # Django focuses it, made for a page of its own; here it would scroll past the other cards.
    form.fields["old_password"].widget.attrs.pop("autofocus", None)
    return form


def _profile_page(request, status=200, **bound):
    user = request.user
    prefs = profile.notification_preferences_of(user)
    context = {
        "person": person_of(user),
        "details_form": bound.get("details_form")
        or DetailsForm(
            user=user,
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
            },
        ),
        "avatar_form": bound.get("avatar_form") or AvatarForm(),
        "password_form": bound.get("password_form") or _password_form(user),
        "notifications_form": bound.get("notifications_form")
        or NotificationsForm(initial={"wanted": [name for name, on in prefs.items() if on]}),
        "token_created_at": profile.api_token_created_at(user),
        "new_token": bound.get("new_token"),
    }
    return render(request, "agent_desktop/profile.html", context, status=status)


@never_cache
@login_required
def profile_page(request):
    return _profile_page(request)


@login_required
@require_POST
def details_save(request):
    form = DetailsForm(request.POST, user=request.user)
    if not form.is_valid():
        return _profile_page(request, 400, details_form=form)
    team.person_set_names(user=request.user, **form.cleaned_data)
    messages.success(request, "Your details are saved.")
    return redirect("profile:home")


@login_required
@require_POST
def avatar_save(request):
    if "remove" in request.POST:
        profile.avatar_remove(user=request.user)
        messages.success(request, "Your picture is removed.")
        return redirect("profile:home")
    form = AvatarForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            profile.avatar_set(user=request.user, upload=form.cleaned_data["avatar"])
        except profile.AvatarRefused as refused:
            form.add_error("avatar", str(refused))
    if form.errors:
        return _profile_page(request, 400, avatar_form=form)
    messages.success(request, "Your picture is saved.")
    return redirect("profile:home")


@login_required
def avatar_file(request, pk):
    """A person's picture, for anyone logged in (the team sees each other's faces)."""
    person = person_of(get_object_or_404(User, pk=pk))
    if not person.avatar:
        raise Http404("No picture")
    return media.kept_file_response(person.avatar)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@require_POST
def password_save(request):
    form = _password_form(request.user, request.POST)
    if not form.is_valid():
        return _profile_page(request, 400, password_form=form)
    form.save()
    # This browser stays logged in; every other session of the person ends (Django ties a
    # session to the password it was opened with).
    update_session_auth_hash(request, form.user)
    messages.success(request, "Your password is changed. Other browsers are logged out.")
    return redirect("profile:home")


@never_cache
@login_required
@require_POST
def token_save(request):
    """POST action=create: a new token, shown in this answer only; action=revoke."""
    if request.POST.get("action") == "revoke":
        if profile.api_token_revoke(user=request.user):
            messages.success(request, "Your API token is revoked: it stops working now.")
        return redirect("profile:home")
    key = profile.api_token_create(user=request.user)
    # Rendered, not redirected: the key must not wait in the session for the next page.
    return _profile_page(request, new_token=key)


@login_required
@require_POST
def notifications_save(request):
    form = NotificationsForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, 400, notifications_form=form)
    profile.notification_preferences_set(user=request.user, wanted=form.cleaned_data["wanted"])
    messages.success(request, "Your notification choices are saved.")
    return redirect("profile:home")
