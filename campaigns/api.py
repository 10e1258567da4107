"""REST API for campaigns and entry points (contract in shared/DESIGN.md)."""

from dataclasses import asdict

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns import audit, business_hours, selectors, services
from campaigns.access import IsCampaignAdmin, IsCampaignAdminOrReadOnly
from campaigns.forms import AuditFilterForm
from campaigns.kinds import UnknownKind, all_kinds, kind_named
from campaigns.models import AuditEntry, Campaign, EntryPoint

MAX_ID = 2**63 - 1  # the largest primary key a database column holds


def id_param(value):
    """A query parameter naming a row by its id: an int, or None when it can't be one (a value
    past any column's range would crash the query on SQLite instead of matching nothing)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return None


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
            "csat_enabled",
            "csat_question",
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


class EntryPointSerializer(serializers.Serializer):
    """An entry point: the fields every kind shares, then its kind's own, flattened in (the
    kind's `api_serializer`, e.g. a Facebook Page's app_id and write-only secrets).

    The kind's serializer validates the same request data (its instance: the entry point, or
    None on create) and saves its fields by `update(entry_point, validated_data)`, once the
    entry point exists, outside any transaction (it may wait on the channel's service)."""

    id = serializers.IntegerField(read_only=True)
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    kind = serializers.CharField(
        help_text="The kind of entry point, e.g. facebook_page. Set on create, never changed."
    )
    name = serializers.CharField(max_length=EntryPoint._meta.get_field("name").max_length)
    is_archived = serializers.BooleanField(
        read_only=True, help_text="Archived by DELETE: no webhook; conversations kept."
    )
    archived_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def validate_kind(self, name):
        if self.instance is not None and name != self.instance.kind:
            raise serializers.ValidationError("The kind of an entry point can't change.")
        try:
            return kind_named(name).name
        except UnknownKind as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_campaign(self, campaign):
        if self.instance is None or self.instance.campaign_id != campaign.pk:
            try:
                services.campaign_check_accepts_entry_points(campaign)
            except services.CampaignInactive as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return campaign

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        kind = self.instance.kind if self.instance is not None else attrs.get("kind")
        settings = self._settings(kind, self.instance, data=data, partial=self.partial)
        if settings is not None:
            if not settings.is_valid():
                raise serializers.ValidationError(settings.errors)
            attrs["settings"] = settings.validated_data
        return attrs

    def to_representation(self, entry_point):
        data = super().to_representation(entry_point)
        settings = self._settings(entry_point.kind, entry_point)
        if settings is not None:
            data.update(settings.to_representation(entry_point))
        return data

    def create(self, validated_data):
        create_entry_point = kind_named(validated_data["kind"]).hook("create_entry_point")
        try:
            entry_point = create_entry_point(
                campaign=validated_data["campaign"],
                name=validated_data["name"],
                actor=self.context["request"].user,
            )
        except services.CampaignInactive as exc:  # deactivated since it was validated
            raise serializers.ValidationError({"campaign": [str(exc)]}) from exc
        self._save_settings(entry_point, validated_data)
        return entry_point

    def update(self, instance, validated_data):
        if "name" in validated_data:
            instance.name = validated_data["name"]
            instance.save(update_fields=["name"])
        self._save_settings(instance, validated_data)
        return instance

    def _settings(self, kind_name, entry_point, **kwargs):
        """The kind's serializer for `entry_point` (None: the one being created), or None when
        the kind has none (or is not installed)."""
        try:
            settings_class = kind_named(kind_name).hook("api_serializer") if kind_name else None
        except UnknownKind:
            return None
        if settings_class is None:
            return None
        return settings_class(instance=entry_point, context=self.context, **kwargs)

    def _save_settings(self, entry_point, validated_data):
        settings = self._settings(entry_point.kind, entry_point)
        if settings is not None:
            settings.update(entry_point, validated_data.get("settings", {}))


def entry_point_schema_serializer():
    """For the OpenAPI schema: the shared fields and every installed kind's, as one object
    (which of a kind's fields an entry point has depends on its `kind`)."""
    kinds = [kind.hook("api_serializer") for kind in all_kinds() if kind.has("api_serializer")]
    return type("EntryPointSerializer", (EntryPointSerializer, *kinds), {})


# Built when this module is imported, by the URLconf, once every app's ready() has registered
# its kind (no module imported while apps load may import this one).
EntryPointSchema = entry_point_schema_serializer()


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


KIND_CONFLICT = (
    "The kind refused the settings (Messenger: the page is connected to another entry point; "
    "`detail` and `entry_point` name it, move=true moves it here)."
)


@method_decorator(
    # A kind's settings may hold secrets: error reports show neither the request's data nor
    # any frame's variables.
    [sensitive_post_parameters(), sensitive_variables()],
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
            201: EntryPointSchema,
            400: OpenApiResponse(description="Bad input, or the campaign is inactive."),
            409: OpenApiResponse(description=KIND_CONFLICT),
        }
    ),
    partial_update=extend_schema(
        responses={
            200: EntryPointSchema,
            409: OpenApiResponse(description="Archived (read-only). " + KIND_CONFLICT),
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
    """Entry points of every kind (admins only); `kind` says which, and which of the kinds'
    fields it has. Secrets are accepted, never returned. DELETE archives; erasing an archived
    entry point's conversations is a separate action (erase)."""

    serializer_class = EntryPointSerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: every kind's fields
            return EntryPointSchema
        return EntryPointSerializer

    def get_queryset(self):
        queryset = EntryPoint.objects.select_related("campaign")
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
