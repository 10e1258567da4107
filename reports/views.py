"""The Reports page (`/reports/`): the figures of reports.figures for a period and filters,
with every table as a CSV download (`?format=csv&table=summary|agents|heatmap`)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from agent_desktop.models import Label
from campaigns.business_hours import zone_names
from campaigns.kinds import channel_choices
from campaigns.models import EntryPoint
from reports import charts, exports, figures
from reports.period import PRESETS, BadParameter, scope_from, visible_campaigns

TABLES = ("summary", "agents", "heatmap")


@login_required
def reports_page(request):
    campaigns = visible_campaigns(request.user)  # agents: PermissionDenied (403)
    error = ""
    try:
        scope = scope_from(request.GET, request.user)
    except BadParameter as exc:
        error = str(exc)
        scope = scope_from({}, request.user)
    if request.GET.get("format") == "csv":
        if error:
            return HttpResponseBadRequest(error, content_type="text/plain; charset=utf-8")
        return _download(scope, request.GET.get("table", "summary"))
    counts_by_sender = figures.message_counts(scope)  # one scan of the period's messages
    summary = figures.summary(scope, counts_by_sender)
    context = {
        "scope": scope,
        "error": error,
        "summary": summary,
        "durations": {
            "first_median": charts.duration(summary["first_response_seconds"]["median"]),
            "first_p90": charts.duration(summary["first_response_seconds"]["p90"]),
            "resolution_median": charts.duration(summary["resolution_seconds"]["median"]),
            "resolution_p90": charts.duration(summary["resolution_seconds"]["p90"]),
        },
        "within_percent": _percent(summary["first_response_within_target"]),
        "agents": [
            {**row, "first_median": charts.duration(row["first_response_seconds_median"])}
            for row in figures.agents(scope, counts_by_sender)
        ],
        "heat": charts.heat_map(figures.heat_map(scope)),
        "csv": {table: _csv_query(request.GET, table) for table in TABLES},
        "choices": {
            "presets": PRESETS.items(),
            "zones": zone_names(),
            "campaigns": campaigns.order_by("name"),
            "entry_points": EntryPoint.objects.filter(campaign__in=campaigns)
            .select_related("campaign")
            .order_by("campaign__name", "name"),
            "channels": channel_choices(),
            "agents": get_user_model()
            .objects.filter(campaigns__in=campaigns, is_active=True)
            .distinct()
            .order_by("first_name", "username"),
            "labels": Label.objects.all(),
        },
        "values": {
            name: request.GET.get(name, "")
            for name in ("since", "until", "campaign", "entry_point", "channel", "agent", "label")
        },
    }
    return render(request, "reports/reports.html", context, status=400 if error else 200)


def _download(scope, table):
    if table not in TABLES:
        return HttpResponseBadRequest(
            f"table: one of {', '.join(TABLES)}.", content_type="text/plain; charset=utf-8"
        )
    stamp = (
        f"{scope.since.astimezone(scope.zone):%Y%m%d}-{scope.until.astimezone(scope.zone):%Y%m%d}"
    )
    if table == "agents":
        return exports.csv_response(
            f"reports-agents-{stamp}.csv",
            ["Agent", "Conversations", "Replies", "First response median (s)", "CSAT average"],
            exports.agent_rows(figures.agents(scope)),
        )
    if table == "heatmap":
        grid = figures.heat_map(scope)
        return exports.csv_response(
            f"reports-heatmap-{stamp}.csv",
            ["Weekday", *[f"{hour:02d}" for hour in range(24)]],
            [(day, *row) for day, row in zip(charts.WEEKDAYS, grid, strict=True)],
        )
    return exports.csv_response(
        f"reports-summary-{stamp}.csv",
        ["Figure", "Value"],
        exports.summary_rows(figures.summary(scope)),
    )


def _csv_query(params, table):
    query = params.copy()
    query["format"], query["table"] = "csv", table
    return query.urlencode()


def _percent(share):
    return "\u2014" if share is None else f"{share * 100:.0f} %"
