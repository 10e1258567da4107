"""The live supervision page (`/reports/live/`): reports.live for one campaign the user
supervises, polled every few seconds by htmx; an unchanged answer is a bodiless 204."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from reports.live import live_of
from reports.period import visible_campaigns

POLL_SECONDS = 5


@login_required
def live_page(request):
    campaigns = list(visible_campaigns(request.user).order_by("name"))  # agents: 403
    chosen = request.GET.get("campaign", "")
    campaign = next((c for c in campaigns if str(c.pk) == chosen), None)
    if campaign is None and campaigns:
        campaign = campaigns[0]
    live = live_of(campaign) if campaign else None
    fingerprint = live.fingerprint() if live else ""
    is_poll = request.headers.get("HX-Request") == "true"
    if is_poll and request.GET.get("fp") == fingerprint:
        return HttpResponse(status=204)
    context = {
        "campaigns": campaigns,
        "live": live,
        "fingerprint": fingerprint,
        "poll_seconds": POLL_SECONDS,
    }
    template = "reports/partials/_live.html" if is_poll else "reports/live.html"
    return render(request, template, context)
