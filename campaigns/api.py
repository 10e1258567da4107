"""REST API for campaigns and entry points (contract in shared/DESIGN.md)."""

from dataclasses import asdict

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns import audit, business_hours, selectors, services
from campaigns.forms import AuditFilterForm, MessengerCredentialsForm
from campaigns.models import AuditEntry, Campaign, EntryPoint
from campaigns.roles import is_campaign_admin
from messenger.health import check_page

MAX_ID = 2**63 - 1  # the largest primary key a database column holds


def id_param(value):
    """A query parameter naming a row by its id: an int, or None when it can't be one (a value
    past any column's range would crash the query on SQLite instead of matching nothing)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return None


class IsCampaignAdmin(permissions.BasePermission):
    message = "Only campaign admins can do this."

    def has_permission(self, request, view):
        return is_campaign_admin(request.user)


class IsCampaignAdminOrReadOnly(IsCampaignAdmin):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or super().has_permission(request, view)


class CampaignSerializer(serializers.ModelSerializer):
    # Declared, so the model field's flat validator gives way to validate_business_hours's
    # field-by-field errors.
    business_hours = serializers.JSONField(
        allow_null=True,
        required=False,
        help_text='Null: always open. {"timezone": "Europe/Berlin", "days": {"mon": '
        '[["09:00", "17:00"]], ...}, "holidays": ["2026-12-25"]}: days "mon".."sun" with '
        '[open, close] ranges ("24:00" closes at midnight; none or missing: closed), holidays '
        "closed all day. Answered normalised (every day listed, sorted).",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "agents",
            "auto_assign",
            "business_hours",
            "away_message",
            "first_response_target_seconds",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_business_hours(self, value):
        """A schedule (see campaigns.business_hours), normalised; 400 naming each part at fault:
        {"business_hours": {"timezone": [...], "days.mon": [...], "holidays": [...]}}."""
        if value is None:
            return None
        try:
            return business_hours.validate_schedule(value)
        except business_hours.ScheduleInvalid as exc:
            raise serializers.ValidationError(exc.errors) from exc


class CampaignViewSet(viewsets.ModelViewSet):
    """Campaigns. Admins manage them; agents read the campaigns they belong to."""

    serializer_class = CampaignSerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdminOrReadOnly]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Campaign.objects.none()
        return selectors.campaigns_for_user(self.request.user).prefetch_related("agents")

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(
            actor=self.request.user, fields=serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.campaign_update(
            campaign=serializer.instance, actor=self.request.user, fields=serializer.validated_data
        )

    def perform_destroy(self, instance):
        # Deleting would drop contacts and history; the builder deactivates instead.
        services.campaign_set_active(campaign=instance, is_active=False, actor=self.request.user)


class EntryPointSerializer(serializers.ModelSerializer):
    """An entry point with its Facebook Page settings flattened in. Secrets are write-only."""

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
    is_archived = serializers.BooleanField(
        read_only=True, help_text="Archived by DELETE: no webhook; conversations kept."
    )
    move = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="true: connect the page even if another entry point holds it (that one is "
        "archived). Without it, such a save answers 409 naming the other entry point.",
    )

    class Meta:
        model = EntryPoint
        fields = [
            "id",
            "campaign",
            "kind",
            "name",
            "app_id",
            "app_secret",
            "page_access_token",
            "app_secret_set",
            "page_access_token_set",
            "page_id",
            "page_name",
            "webhook_url",
            "verify_token",
            "webhook_verified_at",
            "last_event_at",
            "token_status",
            "last_error",
            "is_archived",
            "archived_at",
            "created_at",
            "move",
        ]
        read_only_fields = ["kind", "created_at", "archived_at"]

    def get_webhook_url(self, entry_point) -> str:
        return services.webhook_url(entry_point.facebook_page, self.context.get("request"))

    def validate_campaign(self, campaign):
        if self.instance is None or self.instance.campaign_id != campaign.pk:
            try:
                services.campaign_check_accepts_entry_points(campaign)
            except services.CampaignInactive as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return campaign

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

    def create(self, validated_data):
        entry_point = services.facebook_page_entry_point_create(
            campaign=validated_data["campaign"],
            name=validated_data["name"],
            actor=self.context["request"].user,
        )
        self._save_credentials(entry_point, validated_data)
        return entry_point

    def update(self, instance, validated_data):
        if "name" in validated_data:
            instance.name = validated_data["name"]
            instance.save(update_fields=["name"])
        self._save_credentials(instance, validated_data)
        return instance

    def _save_credentials(self, entry_point, validated_data):
        """Save and check outside any transaction (the check waits on Facebook). A page
        connected elsewhere is a conflict (409), unless `move`."""
        credentials = validated_data.get("credentials")
        if credentials:
            check = services.facebook_page_save_credentials(
                page=entry_point.facebook_page,
                actor=self.context["request"].user,
                move=validated_data.get("move", False),
                **credentials,
            )
            entry_point.facebook_page.refresh_from_db()
            if check is not None and check.connected_elsewhere is not None:
                raise PageConnectedElsewhere(check, entry_point)


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


class ConversationsSizeSerializer(serializers.Serializer):
    contacts = serializers.IntegerField()
    messages = serializers.IntegerField()
    deliveries = serializers.IntegerField(help_text="Webhook posts kept raw (they hold messages)")


class ErasePreviewSerializer(ConversationsSizeSerializer):
    detail = serializers.CharField(help_text="What erasing deletes, in words")


class EraseRequestSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: erase, for good, what GET on this URL lists. Without it nothing is "
        "erased and the answer (400) says what would be.",
    )


ARCHIVED = OpenApiResponse(description="The entry point is archived: read-only.")
PAGE_CONNECTED_ELSEWHERE = OpenApiResponse(
    description="The page the token opens is connected to another entry point: `detail` and "
    "`entry_point` {id, name, campaign} name it. Send move=true to move it here."
)


@method_decorator(
    # Error reports must not show the secrets (the request's data, every frame's variables).
    [sensitive_post_parameters("app_secret", "page_access_token"), sensitive_variables()],
    name="dispatch",
)
@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("campaign", int, description="Only this campaign's entry points"),
            OpenApiParameter("is_archived", bool, description="Only archived ones, or none"),
        ]
    ),
    create=extend_schema(
        responses={
            201: EntryPointSerializer,
            400: OpenApiResponse(description="Bad input, or the campaign is inactive."),
            409: PAGE_CONNECTED_ELSEWHERE,
        }
    ),
    partial_update=extend_schema(
        responses={
            200: EntryPointSerializer,
            409: OpenApiResponse(
                description="Archived (read-only), or the page is connected elsewhere."
            ),
        }
    ),
    destroy=extend_schema(
        description="Archive the entry point (it is never deleted): `is_archived` becomes "
        "true, its webhook answers 404, it leaves the builder, and its conversations are kept "
        "for admins to read. Erasing them is `POST /api/entry-points/{id}/erase/`.",
        responses={204: None},
    ),
)
class EntryPointViewSet(viewsets.ModelViewSet):
    """Facebook Page entry points (admins only). Secrets are accepted, never returned. DELETE
    archives; erasing an archived entry point's conversations is a separate action (erase)."""

    serializer_class = EntryPointSerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        queryset = EntryPoint.objects.select_related("campaign", "facebook_page")
        campaign = id_param(self.request.query_params.get("campaign"))
        if campaign is not None:
            queryset = queryset.filter(campaign_id=campaign)
        archived = self.request.query_params.get("is_archived", "").lower()
        if archived in {"true", "false"}:
            queryset = queryset.filter(is_archived=archived == "true")
        return queryset

    def update(self, request, *args, **kwargs):
        if self.get_object().is_archived:
            return _archived_conflict()
        return super().update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.entry_point_archive(entry_point=instance, actor=self.request.user)

    @extend_schema(methods=["GET"], responses=ErasePreviewSerializer)
    @extend_schema(
        methods=["POST"],
        request=EraseRequestSerializer,
        responses={
            200: ConversationsSizeSerializer,
            400: OpenApiResponse(
                ErasePreviewSerializer, description="Not confirmed: nothing was erased."
            ),
            409: OpenApiResponse(description="Not archived: DELETE the entry point first."),
        },
    )
    @action(detail=True, methods=["get", "post"])
    def erase(self, request, pk=None):
        """Erase an archived entry point's conversations for good: its contacts, their messages
        and kept files, and its stored webhook posts. GET says what that would delete; POST
        with confirm=true does it and answers what was erased."""
        entry_point = self.get_object()
        if request.method == "GET":
            return Response(_erase_preview(entry_point))
        if not entry_point.is_archived:
            return Response(
                {"detail": "Archive the entry point first (DELETE), then erase."},
                status=status.HTTP_409_CONFLICT,
            )
        asked = EraseRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        if not asked.validated_data["confirm"]:
            return Response(_erase_preview(entry_point), status=status.HTTP_400_BAD_REQUEST)
        erased = services.entry_point_erase_conversations(
            entry_point=entry_point, actor=request.user
        )
        return Response(ConversationsSizeSerializer(asdict(erased)).data)

    @extend_schema(
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
    @action(detail=True, methods=["post"])
    def webhook(self, request, pk=None):
        """Get Webhook: make the Webhook URL and Verify Token (rotate=true to replace them)."""
        page = self.get_object().facebook_page
        asked = GetWebhookRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            services.facebook_page_generate_webhook(
                page=page, rotate=asked.validated_data["rotate"], actor=request.user
            )
        except (services.WebhookAlreadyExists, services.EntryPointArchived) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "webhook_url": services.webhook_url(page, request),
                "verify_token": page.verify_token,
            }
        )

    @extend_schema(responses=HealthSerializer)
    @action(detail=True, methods=["get"])
    def health(self, request, pk=None):
        """Setup health: token, app secret, permissions, webhook verified, page subscribed, last
        event and last error; each ok / warn / error / unknown, with what to do."""
        return Response(HealthSerializer(check_page(self.get_object().facebook_page)).data)


def _erase_preview(entry_point):
    size = services.entry_point_conversations_size(entry_point)
    then = "POST confirm=true to erase" if entry_point.is_archived else "Archive it first (DELETE)"
    detail = f"Erasing deletes {size} of “{entry_point.name}”, for good. {then}."
    return ErasePreviewSerializer({**asdict(size), "detail": detail}).data


def _archived_conflict():
    return Response({"detail": services.ARCHIVED_READ_ONLY}, status=status.HTTP_409_CONFLICT)


class AuditTargetSerializer(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.IntegerField(source="target_id", allow_null=True)
    name = serializers.CharField(source="target_name")


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField(help_text="Username; null when the app did it")
    target = AuditTargetSerializer(source="*")

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "actor_id", "action", "target", "campaign", "details"]

    def get_actor(self, entry) -> str | None:
        return entry.actor_name or None


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("action", str, enum=AuditEntry.Action.values),
            OpenApiParameter("actor", int, description="The acting user's id"),
            OpenApiParameter("campaign", int),
            OpenApiParameter("since", str, description="A date (YYYY-MM-DD), included"),
            OpenApiParameter("until", str, description="A date (YYYY-MM-DD), included"),
        ],
        responses={200: AuditEntrySerializer(many=True), 400: None, 403: None},
    )
)
class AuditViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log (admins only): who changed what, when, newest first. Never a secret."""

    serializer_class = AuditEntrySerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdmin]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        filters = AuditFilterForm(self.request.query_params)
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return audit.audit_entries(**filters.filters())
