"""The Facebook Page's pages in the builder: its Messenger panel (the kind's `panel_view` hook,
reached through campaigns' /campaigns/entry-points/<pk>/), Get Webhook, moving a page here, the
delivery log and the setup health card. Thin: parse input, call one service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from campaigns.access import AdminOnlyMixin
from campaigns.models import EntryPoint
from messenger import delivery_log, recovery, setup
from messenger import health as setup_health
from messenger.checklist import checklist
from messenger.forms import MessengerCredentialsForm
from messenger.models import WebhookDelivery


def panel_view(request, entry_point):
    """The kind's `panel_view` hook: the webhook card on top, then the credentials form. The
    entry point is live (campaigns shows archived ones itself), the user an admin, and error
    reports already hide the POST data (campaigns.views.EntryPointPanelView)."""
    page = entry_point.facebook_page
    if request.method != "POST":
        form = MessengerCredentialsForm(page=page)
        return render(
            request,
            "messenger/entry_point_panel.html",
            _panel_context(request, entry_point, form=form),
        )
    form = MessengerCredentialsForm(request.POST, page=page)
    if not form.is_valid():
        context = _panel_context(request, entry_point, form=form)
        return render(request, "messenger/entry_point_panel.html", context, status=400)
    check = setup.facebook_page_save_credentials(page=page, actor=request.user, **form.cleaned_data)
    return _credentials_outcome(request, entry_point, check)


def _entry_point_or_404(pk, *, archived=None):
    """The Facebook Page entry point; with `archived` given, only when it is (True) or is not
    (False). Another kind's entry point is not found here."""
    entry_points = EntryPoint.objects.filter(kind=setup.KIND).select_related(
        "campaign", "facebook_page"
    )
    if archived is not None:
        entry_points = entry_points.filter(is_archived=archived)
    return get_object_or_404(entry_points, pk=pk)


def _panel_context(request, entry_point, **extra):
    page = entry_point.facebook_page
    webhook_url = setup.webhook_url(page, request)
    return {
        "entry_point": entry_point,
        "campaign": entry_point.campaign,
        "page": page,
        "webhook_url": webhook_url,
        "webhook_url_problem": setup.webhook_url_problem(webhook_url) if webhook_url else "",
        "webhook_fields": setup_health.WEBHOOK_FIELDS,
        "required_webhook_fields": setup_health.REQUIRED_FIELDS,
        **extra,
    }


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
    return render(request, "messenger/entry_point_panel.html", context, status=status)


class PageMoveView(AdminOnlyMixin, View):
    """Move here a Facebook Page another entry point holds: check the saved credentials again,
    archiving the other entry point (the panel's button says so before it is pressed)."""

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        check = setup.facebook_page_check_credentials(
            page=entry_point.facebook_page, actor=request.user, move=True
        )
        return _credentials_outcome(request, entry_point, check)


class WebhookGenerateView(AdminOnlyMixin, View):
    """Get Webhook. On a page that has one, GET asks for confirmation and POST rotate=1 rotates."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        if not entry_point.facebook_page.has_webhook:
            return redirect(entry_point)
        return render(
            request, "messenger/webhook_rotate_confirm.html", _panel_context(request, entry_point)
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        try:
            setup.facebook_page_generate_webhook(
                page=page, rotate=request.POST.get("rotate") == "1", actor=request.user
            )
        except setup.WebhookAlreadyExists:
            return redirect("messenger_builder:webhook", pk=pk)
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
            request, "messenger/partials/_webhook_card.html", _panel_context(request, entry_point)
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
            "messenger/delivery_log.html",
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
        return redirect("messenger_builder:deliveries", pk=pk)


class DeliveryDetailView(AdminOnlyMixin, View):
    def get(self, request, pk, delivery_id):
        entry_point = _entry_point_or_404(pk)
        delivery = get_object_or_404(
            WebhookDelivery, pk=delivery_id, facebook_page=entry_point.facebook_page
        )
        return render(
            request,
            "messenger/delivery_detail.html",
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
        return redirect("messenger_builder:delivery", pk=pk, delivery_id=delivery.pk)


class HealthView(AdminOnlyMixin, View):
    """The setup health card and checklist; loaded after the panel, as it asks Facebook."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        health = setup_health.check_page(page)
        return render(
            request,
            "messenger/partials/_health.html",
            _health_context(request, entry_point, health),
        )

    def post(self, request, pk):
        """Connect automatically: set the app's webhook and subscribe the page (steps 8-9)."""
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        steps = setup.facebook_page_connect_automatically(
            page=page, callback_url=setup.webhook_url(page, request), actor=request.user
        )
        page.refresh_from_db()
        health = setup_health.check_page(page)
        context = _health_context(request, entry_point, health, steps=steps)
        return render(request, "messenger/partials/_health.html", context)


class RecoverView(AdminOnlyMixin, View):
    """Recover pressed: subscribe the page again if needed and fetch the last day's missed
    messages, in a task (2 Graph calls a second); the card shows the run."""

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        page = entry_point.facebook_page
        recovery.request_recovery(page)
        health = setup_health.check_page(page)
        context = _health_context(request, entry_point, health, recovery_queued=True)
        return render(request, "messenger/partials/_health.html", context)


def _health_context(request, entry_point, health, **extra):
    # Facebook's policy enforcement is the alert above the list, so the list leaves it out.
    return _panel_context(
        request,
        entry_point,
        policy_alert=next((c for c in health.checks if c.key == "policy"), None),
        checks=[c for c in health.checks if c.key != "policy"],
        checked_at=health.checked_at,
        checklist=checklist(entry_point.facebook_page, health),
        **extra,
    )
