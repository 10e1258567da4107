"""`GET /api/reports/summary/` and `GET /api/reports/agents/` (contract: DESIGN.md "Reports").
Supervisors see their campaigns, admins all; agents 403; bad parameters 400 with `detail`."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from reports import figures
from reports.period import PRESETS, BadParameter, scope_from

PARAMETERS = [
    OpenApiParameter("since", str, description="A date (whole day, in `tz`) or an ISO time."),
    OpenApiParameter("until", str, description="A date (included) or an ISO time; default now."),
    OpenApiParameter("period", str, enum=[p for p in PRESETS if p != "custom"]),
    OpenApiParameter("tz", str, description="IANA time zone of days and the heat map."),
    OpenApiParameter("campaign", int),
    OpenApiParameter("entry_point", int),
    OpenApiParameter("channel", str),
    OpenApiParameter("agent", int, description="A user id."),
    OpenApiParameter("label", str, description="A label name."),
]


class SpreadSerializer(serializers.Serializer):
    median = serializers.IntegerField(allow_null=True)
    p90 = serializers.IntegerField(allow_null=True)


class CsatSerializer(serializers.Serializer):
    responses = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)


class CsatSkippedSerializer(serializers.Serializer):
    window_closed = serializers.IntegerField(
        help_text="Messenger's 24 h window had closed: no survey may be sent."
    )
    channel = serializers.IntegerField(help_text="The conversation's channel can't ask.")


class SummarySerializer(serializers.Serializer):
    conversations_opened = serializers.IntegerField()
    conversations_closed = serializers.IntegerField()
    conversations_reopened = serializers.IntegerField()
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    first_response_seconds = SpreadSerializer()
    resolution_seconds = SpreadSerializer()
    first_response_within_target = serializers.FloatField(
        allow_null=True, help_text="Share (0 to 1) of first responses within the target."
    )
    first_responses = serializers.IntegerField()
    first_responses_within_target = serializers.IntegerField()
    csat = CsatSerializer()
    csat_sent = serializers.IntegerField(help_text="CSAT surveys sent (answered or not).")
    csat_skipped = CsatSkippedSerializer()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    tz = serializers.CharField()


class AgentRowSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    name = serializers.CharField()
    conversations = serializers.IntegerField()
    replies = serializers.IntegerField()
    first_response_seconds_median = serializers.IntegerField(allow_null=True)
    csat_average = serializers.FloatField(allow_null=True)


def _scope(request):
    try:
        return scope_from(request.query_params, request.user)
    except BadParameter as exc:
        raise ParseError(str(exc)) from exc


class SummaryView(APIView):
    @extend_schema(
        parameters=PARAMETERS, responses=SummarySerializer, operation_id="reports_summary"
    )
    def get(self, request):
        return Response(figures.summary(_scope(request)))


class AgentsView(APIView):
    @extend_schema(
        parameters=PARAMETERS,
        responses=AgentRowSerializer(many=True),
        operation_id="reports_agents",
    )
    def get(self, request):
        return Response(figures.agents(_scope(request)))
