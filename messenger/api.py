"""Messenger's part of the REST API: a Facebook Page entry point's own fields in
`/api/entry-points/` (the kind's `api_serializer`, flattened in by campaigns.api), and its
Facebook-only actions, Get Webhook and setup health, at the paths they always had."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.access import IsCampaignAdmin
from campaigns.models import EntryPoint
from campaigns.services import EntryPointArchived
from messenger import setup
from messenger.forms import MessengerCredentialsForm
from messenger.health import check_page


class FacebookPageSettingsSerializer(serializers.Serializer):
    """A Facebook Page entry point's Messenger settings; its instance is the entry point.
    Secrets are write-only."""

    app_id = serializers.CharField(source="facebook_page.app_id", required=False, allow_blank=True)
    app_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    page_access_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    app_secret_set = serializers.BooleanField(
        source="facebook_page.app_secret_is_set", read_only=True
    )
    page_access_token_set = serializers.BooleanField(
        source="facebook_page.page_access_token_is_set", read_only=True
    )
    page_id = serializers.CharField(source="facebook_page.page_id", read_only=True)
    page_name = serializers.CharField(source="facebook_page.page_name", read_only=True)
    webhook_url = serializers.SerializerMethodField()
    verify_token = serializers.CharField(source="facebook_page.verify_token", read_only=True)
    webhook_verified_at = serializers.DateTimeField(
        source="facebook_page.webhook_verified_at", read_only=True
    )
    last_event_at = serializers.DateTimeField(source="facebook_page.last_event_at", read_only=True)
    token_status = serializers.CharField(source="facebook_page.token_status", read_only=True)
    last_error = serializers.CharField(source="facebook_page.last_error", read_only=True)
    move = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="true: connect the page even if another entry point holds it (that one is "
        "archived). Without it, such a save answers 409 naming the other entry point.",
    )

    def get_webhook_url(self, entry_point) -> str:
        return setup.webhook_url(entry_point.facebook_page, self.context.get("request"))

    def validate(self, attrs):
        """The same checks as the builder's form, so both give the same errors."""
        credentials = {
            "app_id": attrs.get("facebook_page", {}).get("app_id"),
            "app_secret": attrs.get("app_secret"),
            "page_access_token": attrs.get("page_access_token"),
        }
        if all(value is None for value in credentials.values()):
            return attrs
        page = self.instance.facebook_page if self.instance else None
        form = MessengerCredentialsForm(
            data={
                k: v if v is not None else (page.app_id if page and k == "app_id" else "")
                for k, v in credentials.items()
            },
            page=page or _EmptyPage(),
        )
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        attrs["credentials"] = form.cleaned_data
        return attrs

    def update(self, entry_point, validated_data):
        """Save and check outside any transaction (the check waits on Facebook). A page
        connected elsewhere is a conflict (409), unless `move`."""
        credentials = validated_data.get("credentials")
        if credentials:
            check = setup.facebook_page_save_credentials(
                page=entry_point.facebook_page,
                actor=self.context["request"].user,
                move=validated_data.get("move", False),
                **credentials,
            )
            entry_point.facebook_page.refresh_from_db()
            if check is not None and check.connected_elsewhere is not None:
                raise PageConnectedElsewhere(check, entry_point)
        return entry_point


class PageConnectedElsewhere(exceptions.APIException):
    """409: the page the token opens is held by another live entry point."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "page_connected_elsewhere"

    def __init__(self, check, entry_point):
        holder = check.connected_elsewhere
        super().__init__(check.message)
        self.detail = {
            "detail": check.message,
            "entry_point": {
                "id": holder.pk,
                "name": holder.name,
                "campaign": holder.campaign_id,
                "campaign_name": holder.campaign.name,
            },
            # The entry point saved (a new one is kept, not connected): PATCH it with
            # move=true to take the page.
            "saved_entry_point": entry_point.pk,
        }


class _EmptyPage:
    """Stands for the Facebook Page of an entry point not created yet: nothing is saved."""

    app_id = ""
    app_secret_is_set = False
    page_access_token_is_set = False

    def unreadable_secrets(self):
        return []


class GetWebhookRequestSerializer(serializers.Serializer):
    rotate = serializers.BooleanField(required=False, default=False)


class HealthCheckSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["ok", "warn", "error", "unknown"])
    detail = serializers.CharField()
    fix = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField()
    checks = HealthCheckSerializer(many=True)


def _facebook_page_or_404(pk):
    """The Facebook Page of entry point `pk`; another kind's entry point is not found here."""
    entry_point = get_object_or_404(
        EntryPoint.objects.select_related("facebook_page"), pk=pk, kind=setup.KIND
    )
    return entry_point.facebook_page


class GetWebhookView(APIView):
    """Get Webhook: make the Webhook URL and Verify Token (rotate=true to replace them)."""

    permission_classes = [permissions.IsAuthenticated, IsCampaignAdmin]

    @extend_schema(
        operation_id="entry_points_webhook_create",
        request=GetWebhookRequestSerializer,
        responses={
            200: inline_serializer(
                "GetWebhookResponse",
                {"webhook_url": serializers.CharField(), "verify_token": serializers.CharField()},
            ),
            409: OpenApiResponse(
                description="The page has a webhook (send rotate=true), or is archived."
            ),
        },
    )
    def post(self, request, pk):
        page = _facebook_page_or_404(pk)
        asked = GetWebhookRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            setup.facebook_page_generate_webhook(
                page=page, rotate=asked.validated_data["rotate"], actor=request.user
            )
        except (setup.WebhookAlreadyExists, EntryPointArchived) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {"webhook_url": setup.webhook_url(page, request), "verify_token": page.verify_token}
        )


class HealthView(APIView):
    """Setup health: token, app secret, permissions, webhook verified, page subscribed, last
    event and last error; each ok / warn / error / unknown, with what to do."""

    permission_classes = [permissions.IsAuthenticated, IsCampaignAdmin]

    @extend_schema(
        operation_id="entry_points_health_retrieve",
        responses=HealthSerializer,
    )
    def get(self, request, pk):
        return Response(HealthSerializer(check_page(_facebook_page_or_404(pk))).data)
