"""The Team pages (admins): the list with invite and add forms, a person's page, a campaign's
members; and the invitation link's "Set your password" page (the invited person, logged out)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from campaigns import team
from campaigns.access import admin_only
from campaigns.invitations import invitation_tokens
from campaigns.models import Campaign
from campaigns.team_forms import AddMemberForm, AddWithPasswordForm, InviteForm, PersonForm

User = get_user_model()
NEW_PERSON_FORMS = {"invite": InviteForm, "add": AddWithPasswordForm}


def _team_page(request, *, invite_form=None, add_form=None):
    context = {
        "rows": team.team_rows(),
        "invite_form": invite_form or InviteForm(prefix="invite"),
        "add_form": add_form or AddWithPasswordForm(prefix="add"),
    }
    failed = (invite_form and invite_form.errors) or (add_form and add_form.errors)
    return render(request, "team/team.html", context, status=400 if failed else 200)


@admin_only
def team_list(request):
    return _team_page(request)


@admin_only
@require_POST
@sensitive_post_parameters("add-password")
def person_create(request, how):
    """`how`: "invite" (a link by e-mail) or "add" (with a password)."""
    if how not in NEW_PERSON_FORMS:
        raise Http404("No such way to add a person")
    form = NEW_PERSON_FORMS[how](request.POST, prefix=how)
    if not form.is_valid():
        return _team_page(request, **{f"{how}_form": form})
    fields = {**form.cleaned_data, "actor": request.user}
    if how == "add":
        user = team.person_add(**fields)
        messages.success(request, f"{user.get_username()} added: they can log in now.")
    else:
        user, sent = team.person_invite(**fields, request=request)
        _tell_invitation(request, user, sent)
    return redirect("team:person", pk=user.pk)


def _tell_invitation(request, user, sent):
    if sent:
        messages.success(request, f"Invitation sent to {user.email}. The link works for 72 hours.")
    else:
        messages.error(
            request,
            f"The invitation to {user.email} could not be sent: the mail server refused it. "
            "Check the e-mail settings (EMAIL_URL), then press “Resend invitation”.",
        )


def _person_page(request, user, form=None):
    facts = team.person_facts(user)
    form = form or PersonForm(
        initial={
            "role": facts["role"],
            "campaigns": facts["campaigns"],
            "capacity": facts["capacity"],
        }
    )
    context = {"person": user, "facts": facts, "form": form, "is_me": user == request.user}
    return render(request, "team/person.html", context, status=400 if form.errors else 200)


@admin_only
def person_detail(request, pk):
    user = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return _person_page(request, user)
    form = PersonForm(request.POST)
    if not form.is_valid():
        return _person_page(request, user, form)
    try:
        team.person_update(actor=request.user, user=user, **form.cleaned_data)
    except team.TeamError as error:
        form.add_error(error.field, str(error))
        return _person_page(request, user, form)
    messages.success(request, f"{user.get_username()} saved.")
    return redirect("team:person", pk=user.pk)


@admin_only
def person_active(request, pk):
    """GET: the confirmation; POST is_active=0 deactivates, 1 reactivates."""
    user = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return render(request, "team/deactivate_confirm.html", {"person": user})
    try:
        if request.POST.get("is_active") == "1":
            team.person_reactivate(actor=request.user, user=user)
            messages.success(request, f"{user.get_username()} can log in again.")
        else:
            team.person_deactivate(actor=request.user, user=user)
            messages.success(
                request, f"{user.get_username()} is deactivated and logged out everywhere."
            )
    except team.TeamError as error:
        messages.error(request, str(error))
    return redirect("team:person", pk=user.pk)


@admin_only
@require_POST
def invitation_resend(request, pk):
    user = get_object_or_404(User, pk=pk)
    try:
        sent = team.invitation_resend(actor=request.user, user=user, request=request)
    except team.TeamError as error:
        messages.error(request, str(error))
    else:
        _tell_invitation(request, user, sent)
    return redirect("team:person", pk=user.pk)


@admin_only
@require_POST
def campaign_members(request, pk):
    """The campaign page's members card: add one person, or remove one (`remove` = user id)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if "remove" in request.POST:
        user = get_object_or_404(User, pk=request.POST["remove"])
        team.campaign_remove_member(actor=request.user, campaign=campaign, user=user)
        messages.success(request, f"{user.get_username()} left {campaign.name}.")
        return redirect(campaign)
    form = AddMemberForm(request.POST, campaign=campaign)
    if not form.is_valid():
        messages.error(request, "Choose a person to add (active, not a member yet).")
        return redirect(campaign)
    user = form.cleaned_data["user"]
    team.campaign_add_member(actor=request.user, campaign=campaign, user=user)
    messages.success(request, f"{user.get_username()} joined {campaign.name}.")
    return redirect(campaign)


@method_decorator(sensitive_post_parameters("new_password1", "new_password2"), name="dispatch")
class InvitationView(auth_views.PasswordResetConfirmView):
    """The invitation link: set a password, then land logged in on one's start page. A used or
    expired link says so, and what to do."""

    template_name = "team/invitation.html"
    token_generator = invitation_tokens
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context["validlink"]:
            # A set password means the link did its job; otherwise its 72 hours are over.
            used = self.user is not None and not team.invitation_pending(self.user)
            context["link_problem"] = "used" if used else "expired"
        return context

    def form_valid(self, form):
        messages.success(self.request, "Your password is set. Welcome to Campaign Builder!")
        return super().form_valid(form)
