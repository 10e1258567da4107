"""Report tables as CSV downloads, safe to open in a spreadsheet."""

import csv
import io

from django.http import HttpResponse

# A cell a spreadsheet would read as a formula (CSV injection) starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(filename, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def summary_rows(summary):
    return [
        ("Conversations opened", summary["conversations_opened"]),
        ("Conversations closed", summary["conversations_closed"]),
        ("Conversations reopened", summary["conversations_reopened"]),
        ("Messages in", summary["messages_in"]),
        ("Messages out", summary["messages_out"]),
        ("First response median (s)", summary["first_response_seconds"]["median"]),
        ("First response p90 (s)", summary["first_response_seconds"]["p90"]),
        ("Resolution median (s)", summary["resolution_seconds"]["median"]),
        ("Resolution p90 (s)", summary["resolution_seconds"]["p90"]),
        ("First responses within target", summary["first_response_within_target"]),
        ("CSAT responses", summary["csat"]["responses"]),
        ("CSAT average", summary["csat"]["average"]),
        ("CSAT surveys sent", summary["csat_sent"]),
        ("CSAT skipped: window closed", summary["csat_skipped"]["window_closed"]),
        ("CSAT skipped: channel can't ask", summary["csat_skipped"]["channel"]),
    ]


def agent_rows(agents):
    return [
        (
            row["name"],
            row["conversations"],
            row["replies"],
            row["first_response_seconds_median"],
            row["csat_average"],
        )
        for row in agents
    ]
