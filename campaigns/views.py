"""The campaign builder's pages. Thin: parse input, call one service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import CreateView, ListView, UpdateView

from campaigns import audit, business_hours, selectors, services
from campaigns.access import AdminOnlyMixin
from campaigns.forms import AuditFilterForm, CampaignForm, EntryPointForm
from campaigns.kinds import UnknownKind, all_kinds, kind_named
from campaigns.models import AuditEntry, Campaign, EntryPoint
from campaigns.roles import is_campaign_admin
from campaigns.team_forms import AddMemberForm


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    if is_campaign_admin(request.user):
        return redirect("campaigns:list")
    return redirect("agent_desktop:home")


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


def _render_campaign_detail(request, campaign, failed_form=None):
    """The campaign page. `failed_form`: an Add form that was refused, shown with its errors
    under its kind (the other kinds' forms empty)."""
    entry_points = selectors.entry_points_of(campaign)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "entry_points": [(ep, _kind_or_none(ep), _status(ep)) for ep in entry_points],
            "archived_entry_points": selectors.archived_entry_points_of(campaign),
            "agents": campaign.agents.order_by("username"),
            "hours": business_hours.summary(campaign.business_hours),
            "add_member_form": AddMemberForm(campaign=campaign),
            "add_forms": [
                (kind, failed_form if _is_form_of(failed_form, kind) else EntryPointForm(kind=kind))
                for kind in all_kinds()
            ],
            "add_refused": failed_form is not None and not failed_form.kind,
        },
        status=400 if failed_form else 200,
    )


def _is_form_of(form, kind):
    return form is not None and form.kind == kind


def _kind_or_none(entry_point):
    try:
        return kind_named(entry_point.kind)
    except UnknownKind:  # its app was uninstalled: listed, without its kind's details
        return None


def _hook_of(entry_point, name):
    """The entry point's kind's hook, or None (the kind has none, or is not installed)."""
    kind = _kind_or_none(entry_point)
    return kind.hook(name) if kind else None


def _status(entry_point):
    status_of = _hook_of(entry_point, "status")
    return status_of(entry_point) if status_of else None


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
    """Add an entry point of one of the registered kinds: its `create_entry_point` hook."""

    def post(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        form = EntryPointForm(request.POST, kind=_posted_kind(request))
        if not form.is_valid():
            return _render_campaign_detail(request, campaign, failed_form=form)
        create = form.kind.hook("create_entry_point")
        try:
            entry_point = create(
                campaign=campaign, name=form.cleaned_data["name"], actor=request.user
            )
        except services.CampaignInactive as exc:
            form.add_error(None, str(exc))
            return _render_campaign_detail(request, campaign, failed_form=form)
        messages.success(request, f"{form.kind.label} added. Set it up below to connect it.")
        return redirect(entry_point)


def _posted_kind(request):
    try:
        return kind_named(request.POST.get("kind", ""))
    except UnknownKind:
        return None


def _entry_point_or_404(pk, *, archived=None):
    """The entry point; with `archived` given, only when it is (True) or is not (False): an
    archived one is only read and erased, a live one is never erased."""
    entry_points = EntryPoint.objects.select_related("campaign")
    if archived is not None:
        entry_points = entry_points.filter(is_archived=archived)
    return get_object_or_404(entry_points, pk=pk)


# A kind's settings may hold secrets (Messenger's App Secret and Page Access Token), and error
# reports (mailed to ADMINS, or sent to an error tracker) show the request's POST data and the
# variables of every frame: the panel's show neither, whatever the kind.
hide_settings = [sensitive_post_parameters(), sensitive_variables()]


@method_decorator(hide_settings, name="dispatch")
class EntryPointPanelView(AdminOnlyMixin, View):
    """An entry point's page: its kind's panel (`panel_view` hook, GET and POST) while it is
    live; once archived, what it kept, to read and erase, whatever its kind."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk)
        if entry_point.is_archived:
            return _render_archived(request, entry_point)
        return _panel_of(entry_point)(request, entry_point)

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        return _panel_of(entry_point)(request, entry_point)


def _panel_of(entry_point):
    panel = _hook_of(entry_point, "panel_view")
    if panel is None:
        raise Http404("This kind of entry point is not installed.")
    return panel


def _render_archived(request, entry_point):
    kind = _kind_or_none(entry_point)
    archived_links = _hook_of(entry_point, "archived_links")
    describe = _hook_of(entry_point, "describe")
    return render(
        request,
        "campaigns/entry_point_archived.html",
        {
            "entry_point": entry_point,
            "campaign": entry_point.campaign,
            "kind": kind,
            "links": archived_links(entry_point) if archived_links else [],
            "description": describe(entry_point) if describe else "",
            "size": services.entry_point_conversations_size(entry_point),
        },
    )


class EntryPointArchiveView(AdminOnlyMixin, View):
    """Archive, after a confirmation saying what stops (the kind's `archive_consequences`) and
    what is kept."""

    def get(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        consequences = _hook_of(entry_point, "archive_consequences")
        return render(
            request,
            "campaigns/entry_point_archive_confirm.html",
            {
                "entry_point": entry_point,
                "campaign": entry_point.campaign,
                "consequences": consequences(entry_point) if consequences else [],
                "size": services.entry_point_conversations_size(entry_point),
            },
        )

    def post(self, request, pk):
        entry_point = _entry_point_or_404(pk, archived=False)
        services.entry_point_archive(entry_point=entry_point, actor=request.user)
        size = services.entry_point_conversations_size(entry_point)
        messages.success(
            request,
            f"“{entry_point.name}” archived. It receives nothing more; its {size.conversations} "
            "are kept (listed under Archived).",
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
