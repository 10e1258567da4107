"""The campaign builder's pages. Thin: parse input, call one service, render."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import CreateView, ListView, UpdateView

from campaigns import audit, business_hours, selectors, services
from campaigns.checklist import checklist
from campaigns.forms import (
    AuditFilterForm,
    CampaignForm,
    EntryPointForm,
    MessengerCredentialsForm,
)
from campaigns.models import AuditEntry, Campaign, EntryPoint
from campaigns.roles import is_campaign_admin
from campaigns.team_forms import AddMemberForm
from messenger import delivery_log
from messenger import health as setup_health
from messenger.models import WebhookDelivery


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    if is_campaign_admin(request.user):
        return redirect("campaigns:list")
    return redirect("agent_desktop:home")


class AdminOnlyMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Builder pages: admins only. Agents get a 403 page that says so."""

    raise_exception = False

    def test_func(self):
        return is_campaign_admin(self.request.user)

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            return render(self.request, "403.html", status=403)
        return super().handle_no_permission()


def admin_only(view):
    """The function-view form of AdminOnlyMixin."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_campaign_admin(request.user):
            return render(request, "403.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


class CampaignListView(AdminOnlyMixin, ListView):
    template_name = "campaigns/campaign_list.html"
    context_object_name = "campaigns"

    def get_queryset(self):
        return selectors.campaign_list()


class CampaignCreateView(AdminOnlyMixin, CreateView):
    model = Campaign
    form_class = CampaignForm
    template_name = "campaigns/campaign_form.html"

    def form_valid(self, form):
        campaign = services.campaign_create(actor=self.request.user, fields=form.campaign_fields())
        messages.success(self.request, f"Campaign “{campaign.name}” created.")
        return redirect(campaign)


class CampaignUpdateView(AdminOnlyMixin, UpdateView):
    model = Campaign
    form_class = CampaignForm
    template_name = "campaigns/campaign_form.html"

    def form_valid(self, form):
        # The form's instance already holds the new values: compare with the stored row.
        campaign = Campaign.objects.get(pk=self.object.pk)
        services.campaign_update(
            campaign=campaign, actor=self.request.user, fields=form.campaign_fields()
        )
        messages.success(self.request, "Campaign saved.")
        return redirect(campaign)


def _render_campaign_detail(request, campaign, entry_point_form=None):
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "entry_points": selectors.entry_points_of(campaign),
            "archived_entry_points": selectors.archived_entry_points_of(campaign),
            "agents": campaign.agents.order_by("username"),
            "hours": business_hours.summary(campaign.business_hours),
            "add_member_form": AddMemberForm(campaign=campaign),
            "entry_point_form": entry_point_form or EntryPointForm(),
        },
        status=400 if entry_point_form else 200,
    )


class CampaignDetailView(AdminOnlyMixin, View):
    def get(self, request, pk):
        return _render_campaign_detail(request, get_object_or_404(Campaign, pk=pk))


class CampaignActiveView(AdminOnlyMixin, View):
    """POST is_active=0 deactivates (contacts stay; no new entry points), 1 reactivates."""

    def post(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        is_active = request.POST.get("is_active") == "1"
        services.campaign_set_active(campaign=campaign, is_active=is_active, actor=request.user)
        messages.success(
            request, f"Campaign “{campaign.name}” {'activated' if is_active else 'deactivated'}."
        )
        return redirect(campaign)


class EntryPointCreateView(AdminOnlyMixin, View):
    def post(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        form = EntryPointForm(request.POST)
        if not form.is_valid():
            return _render_campaign_detail(request, campaign, entry_point_form=form)
        try:
            entry_point = services.facebook_page_entry_point_create(
                campaign=campaign, name=form.cleaned_data["name"], actor=request.user
            )
        except services.CampaignInactive as exc:
            form.add_error(None, str(exc))
            return _render_campaign_detail(request, campaign, entry_point_form=form)
        messages.success(
            request, "Facebook Page added. Enter its Messenger credentials to connect it."
        )
        return redirect(entry_point)


def _panel_context(request, entry_point, **extra):
    page = entry_point.facebook_page
    webhook_url = services.webhook_url(page, request)
    return {
        "entry_point": entry_point,
        "campaign": entry_point.campaign,
        "page": page,
        "webhook_url": webhook_url,
        "webhook_url_problem": services.webhook_url_problem(webhook_url) if webhook_url else "",
        "webhook_fields": setup_health.WEBHOOK_FIELDS,
        "required_webhook_fields": setup_health.REQUIRED_FIELDS,
        **extra,
    }


def _entry_point_or_404(pk, *, archived=None):
    """The entry point; with `archived` given, only when it is (True) or is not (False): an
    archived one is only read and erased, a live one is never erased."""
    entry_points = EntryPoint.objects.select_related("campaign", "facebook_page")
    if archived is not None:
        entry_points = entry_points.filter(is_archived=archived)
    return get_object_or_404(entry_points, pk=pk)


# Error reports (mailed to ADMINS, or sent to an error tracker) show the request's POST data and
# the variables of every frame: the secrets of a credentials save must show in neither.
hide_credentials = [
    sensitive_post_parameters("app_secret", "page_access_token"),
    sensitive_variables(),
]


@method_decorator(hide_credentials, name="post")
class EntryPointPanelView(AdminOnlyMixin, View):
    """The Facebook Page's Messenger panel: webhook card on top, then the credentials form."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        if entry_point.is_archived:
            return render(
                request,
                "campaigns/entry_point_archived.html",
                {
                    "entry_point": entry_point,
                    "campaign": entry_point.campaign,
                    "size": services.entry_point_conversations_size(entry_point),
                },
            )
        form = MessengerCredentialsForm(page=entry_point.facebook_page)
        return render(
            request,
            "campaigns/entry_point_panel.html",
            _panel_context(request, entry_point, form=form),
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        form = MessengerCredentialsForm(request.POST, page=page)
        if not form.is_valid():
            context = _panel_context(request, entry_point, form=form)
            return render(request, "campaigns/entry_point_panel.html", context, status=400)
        check = services.facebook_page_save_credentials(
            page=page, actor=request.user, **form.cleaned_data
        )
        return _credentials_outcome(request, entry_point, check)


def _credentials_outcome(request, entry_point, check):
    """Back to the panel when the check passed; else the panel again, the problem shown on the
    form beside the field at fault (a fresh form, so the boxes now say the secrets are saved)
    and, for a page connected elsewhere, the button that moves it here."""
    if check is None or check.ok:
        messages.success(request, check.message if check else "Saved.")
        return redirect(entry_point)
    page = entry_point.facebook_page
    form = MessengerCredentialsForm(request.POST or None, page=page)
    form.is_valid()
    form.add_error(check.field or None, check.message)
    context = _panel_context(request, entry_point, form=form, check=check)
    status = 409 if check.connected_elsewhere else 400
    return render(request, "campaigns/entry_point_panel.html", context, status=status)


class PageMoveView(AdminOnlyMixin, View):
    """Move here a Facebook Page another entry point holds: check the saved credentials again,
    archiving the other entry point (the panel's button says so before it is pressed)."""

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        check = services.facebook_page_check_credentials(
            page=entry_point.facebook_page, actor=request.user, move=True
        )
        return _credentials_outcome(request, entry_point, check)


class EntryPointArchiveView(AdminOnlyMixin, View):
    """Archive, after a confirmation saying what stops and what is kept."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        return render(
            request,
            "campaigns/entry_point_archive_confirm.html",
            {
                "entry_point": entry_point,
                "campaign": entry_point.campaign,
                "size": services.entry_point_conversations_size(entry_point),
            },
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        services.entry_point_archive(entry_point=entry_point, actor=request.user)
        size = services.entry_point_conversations_size(entry_point)
        messages.success(
            request,
            f"“{entry_point.name}” archived. Its webhook is off; its {size.conversations} are "
            "kept (listed under Archived).",
        )
        return redirect(entry_point.campaign)


class EntryPointEraseView(AdminOnlyMixin, View):
    """Erase an archived entry point's conversations, once a box saying what is lost is ticked."""

    def get(self, request, pk):
        return self._confirm(request, _entry_point_or_404(pk, archived=True))

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=True)
        if request.POST.get("confirm") != "on":
            return self._confirm(request, entry_point, unticked=True)
        erased = services.entry_point_erase_conversations(
            entry_point=entry_point, actor=request.user
        )
        messages.success(request, f"Erased {erased}.")
        return redirect(entry_point)

    def _confirm(self, request, entry_point, unticked=False):
        return render(
            request,
            "campaigns/entry_point_erase_confirm.html",
            {
                "entry_point": entry_point,
                "campaign": entry_point.campaign,
                "size": services.entry_point_conversations_size(entry_point),
                "unticked": unticked,
            },
            status=400 if unticked else 200,
        )


class WebhookGenerateView(AdminOnlyMixin, View):
    """Get Webhook. On a page that has one, GET asks for confirmation and POST rotate=1 rotates."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        if not entry_point.facebook_page.has_webhook:
            return redirect(entry_point)
        return render(
            request, "campaigns/webhook_rotate_confirm.html", _panel_context(request, entry_point)
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        try:
            services.facebook_page_generate_webhook(
                page=page, rotate=request.POST.get("rotate") == "1", actor=request.user
            )
        except services.WebhookAlreadyExists:
            return redirect("campaigns:webhook", pk=pk)
        messages.success(
            request,
            "Webhook ready. Copy the Webhook URL and Verify Token into your Facebook app.",
        )
        return redirect(reverse("campaigns:entry_point", args=[pk]) + "#webhook")


class WebhookStatusView(AdminOnlyMixin, View):
    """The webhook card alone, polled by htmx until Facebook's handshake arrives."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        return render(
            request, "campaigns/partials/_webhook_card.html", _panel_context(request, entry_point)
        )


class DeliveryLogView(AdminOnlyMixin, View):
    """An entry point's recent webhook deliveries, newest first."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        status = request.GET.get("status", "")
        deliveries = delivery_log.deliveries_of(entry_point.facebook_page, status=status)
        page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
        # The rows are read before the count, so a delivery the worker ignores between the two
        # reads is counted whenever it is listed (the notice never lags the table).
        page.object_list = list(page.object_list)
        return render(
            request,
            "campaigns/delivery_log.html",
            {
                "entry_point": entry_point,
                "campaign": entry_point.campaign,
                "page_obj": page,
                "status": status,
                "statuses": WebhookDelivery.Status.choices,
                "ignored_while_inactive": delivery_log.ignored_while_inactive(
                    entry_point.facebook_page
                ).count(),
            },
        )


class ReplayIgnoredView(AdminOnlyMixin, View):
    """Replay the deliveries kept while the campaign was inactive (once it is active again)."""

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        try:
            replayed = delivery_log.replay_ignored_while_inactive(
                entry_point.facebook_page, actor=request.user
            )
        except delivery_log.CampaignStillInactive as exc:
            messages.error(request, str(exc))
        else:
            noun = "delivery" if replayed == 1 else "deliveries"
            messages.success(request, f"{replayed} {noun} queued to be processed again.")
        return redirect("campaigns:deliveries", pk=pk)


class DeliveryDetailView(AdminOnlyMixin, View):
    def get(self, request, pk, delivery_id):
        entry_point = _entry_point_or_404(pk)
        delivery = get_object_or_404(
            WebhookDelivery, pk=delivery_id, facebook_page=entry_point.facebook_page
        )
        return render(
            request,
            "campaigns/delivery_detail.html",
            {
                "entry_point": entry_point,
                "campaign": entry_point.campaign,
                "delivery": delivery,
                **delivery_log.describe(delivery),
            },
        )

    def post(self, request, pk, delivery_id):
        """Replay: process the stored body again (idempotent: nothing is doubled)."""
        entry_point = _entry_point_or_404(pk)
        delivery = get_object_or_404(
            WebhookDelivery, pk=delivery_id, facebook_page=entry_point.facebook_page
        )
        delivery_log.replay(delivery, actor=request.user)
        messages.success(request, f"Delivery {delivery.pk} queued to be processed again.")
        return redirect("campaigns:delivery", pk=pk, delivery_id=delivery.pk)


class HealthView(AdminOnlyMixin, View):
    """The setup health card and checklist; loaded after the panel, as it asks Facebook."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        health = setup_health.check_page(page)
        return render(
            request,
            "campaigns/partials/_health.html",
            _health_context(request, entry_point, health),
        )

    def post(self, request, pk):
        """Connect automatically: set the app's webhook and subscribe the page (steps 8-9)."""
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        steps = services.facebook_page_connect_automatically(
            page=page, callback_url=services.webhook_url(page, request), actor=request.user
        )
        page.refresh_from_db()
        health = setup_health.check_page(page)
        context = _health_context(request, entry_point, health, steps=steps)
        return render(request, "campaigns/partials/_health.html", context)


def _health_context(request, entry_point, health, **extra):
    return _panel_context(
        request,
        entry_point,
        checks=health.checks,
        checked_at=health.checked_at,
        checklist=checklist(entry_point.facebook_page, health),
        **extra,
    )


class AuditLogView(AdminOnlyMixin, View):
    """Who changed what, when: newest first, filtered by action, person, campaign and dates."""

    def get(self, request):
        form = AuditFilterForm(request.GET)
        valid = form.is_valid()  # every filter is optional: only bad values fail
        entries = audit.audit_entries(**form.filters()) if valid else AuditEntry.objects.none()
        page = Paginator(entries, 50).get_page(request.GET.get("page"))
        for entry in page.object_list:
            entry.details_text = audit.details_text(entry.details)
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "campaigns/audit_log.html",
            {
                "form": form,
                "page_obj": page,
                "filtered": bool(query),
                "query": query.urlencode(),
            },
            status=200 if valid else 400,
        )
