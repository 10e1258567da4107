"""The campaign builder's pages. Thin: parse input, call one service, render."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import CreateView, ListView, UpdateView

from campaigns import selectors, services
from campaigns.forms import CampaignForm, EntryPointForm, MessengerCredentialsForm
from campaigns.models import Campaign, EntryPoint
from campaigns.roles import is_campaign_admin


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
        messages.success(self.request, f"Campaign “{form.instance.name}” created.")
        return super().form_valid(form)


class CampaignUpdateView(AdminOnlyMixin, UpdateView):
    model = Campaign
    form_class = CampaignForm
    template_name = "campaigns/campaign_form.html"

    def form_valid(self, form):
        messages.success(self.request, "Campaign saved.")
        return super().form_valid(form)


def _render_campaign_detail(request, campaign, entry_point_form=None):
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "entry_points": selectors.entry_points_of(campaign),
            "agents": campaign.agents.order_by("username"),
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
        services.campaign_set_active(campaign=campaign, is_active=is_active)
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
        entry_point = services.facebook_page_entry_point_create(
            campaign=campaign, name=form.cleaned_data["name"]
        )
        messages.success(
            request, "Facebook Page added. Enter its Messenger credentials to connect it."
        )
        return redirect(entry_point)


def _panel_context(request, entry_point, **extra):
    page = entry_point.facebook_page
    return {
        "entry_point": entry_point,
        "campaign": entry_point.campaign,
        "page": page,
        "webhook_url": services.webhook_url(page, request),
        **extra,
    }


def _entry_point_or_404(pk):
    return get_object_or_404(EntryPoint.objects.select_related("campaign", "facebook_page"), pk=pk)


class EntryPointPanelView(AdminOnlyMixin, View):
    """The Facebook Page's Messenger panel: webhook card on top, then the credentials form."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        form = MessengerCredentialsForm(page=entry_point.facebook_page)
        return render(
            request,
            "campaigns/entry_point_panel.html",
            _panel_context(request, entry_point, form=form),
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        page = entry_point.facebook_page
        form = MessengerCredentialsForm(request.POST, page=page)
        if not form.is_valid():
            context = _panel_context(request, entry_point, form=form)
            return render(request, "campaigns/entry_point_panel.html", context, status=400)
        check = services.facebook_page_save_credentials(page=page, **form.cleaned_data)
        if check is None or check.ok:
            messages.success(request, check.message if check else "Saved.")
            return redirect(entry_point)
        # Saved, but the check failed: show the problem on the form, beside the field at fault
        # (a fresh form, so the boxes now say the secrets are saved).
        form = MessengerCredentialsForm(request.POST, page=page)
        form.is_valid()
        form.add_error(check.field or None, check.message)
        context = _panel_context(request, entry_point, form=form, check=check)
        return render(request, "campaigns/entry_point_panel.html", context, status=400)


class WebhookGenerateView(AdminOnlyMixin, View):
    """Get Webhook. On a page that has one, GET asks for confirmation and POST rotate=1 rotates."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        if not entry_point.facebook_page.has_webhook:
            return redirect(entry_point)
        return render(
            request, "campaigns/webhook_rotate_confirm.html", _panel_context(request, entry_point)
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        page = entry_point.facebook_page
        try:
            services.facebook_page_generate_webhook(
                page=page, rotate=request.POST.get("rotate") == "1"
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
        entry_point = _entry_point_or_404(pk)
        return render(
            request, "campaigns/partials/_webhook_card.html", _panel_context(request, entry_point)
        )
