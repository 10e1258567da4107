"""REST API of the team's tools: notes, notifications, canned replies, labels.

Contract: shared "Team workflow" (notes, canned-responses, labels). Notifications are this app's
own: `GET /api/notifications/?unread=1`, `POST /api/notifications/read/` `{"ids": [...]}` (or
no ids: all)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agent_desktop import labels as label_services
from agent_desktop import notes as note_services
from agent_desktop import selectors
from agent_desktop.models import CannedResponse, Label, Note, Notification
from campaigns.api import MAX_ID, IsCampaignAdminOrReadOnly, id_param
from campaigns.selectors import campaigns_for_user


class NoteSerializer(serializers.ModelSerializer):
    text = serializers.CharField(max_length=note_services.MAX_NOTE_LENGTH)
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "contact", "author", "author_name", "text", "mentions", "created_at"]
        read_only_fields = ["id", "contact", "author", "author_name", "mentions", "created_at"]

    def get_author_name(self, note) -> str:
        return (note.author.get_full_name() or note.author.username) if note.author else ""


def contact_notes(request, contact):
    """GET the contact's notes, oldest first; POST `{"text"}` adds one (never sent out)."""
    if request.method == "GET":
        return Response(NoteSerializer(selectors.notes(contact), many=True).data)
    incoming = NoteSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    note = note_services.note_create(
        contact=contact, author=request.user, text=incoming.validated_data["text"]
    )
    return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class ContactLabelsSerializer(serializers.Serializer):
    labels = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=50, allow_empty=True
    )


def contact_labels(request, contact):
    """PUT `{"labels": [names]}`: the contact's labels become exactly these."""
    incoming = ContactLabelsSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    try:
        labels = label_services.contact_set_labels(
            contact=contact, names=incoming.validated_data["labels"], actor=request.user
        )
    except label_services.UnknownLabels as exc:
        raise serializers.ValidationError({"labels": [str(exc)]}) from exc
    return Response({"labels": sorted(label.name for label in labels)})


class NotificationSerializer(serializers.ModelSerializer):
    note_text = serializers.CharField(source="note.text", read_only=True, default="")
    author = serializers.IntegerField(source="note.author_id", read_only=True, default=None)
    author_name = serializers.SerializerMethodField()
    contact_name = serializers.CharField(source="contact.name", read_only=True)

    def get_author_name(self, notification) -> str:
        author = notification.note.author if notification.note else None
        return (author.get_full_name() or author.username) if author else ""

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "contact",
            "contact_name",
            "note",
            "note_text",
            "author",
            "author_name",
            "created_at",
            "read_at",
        ]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )


@extend_schema(parameters=[OpenApiParameter("unread", bool, description="Only unread ones")])
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's notifications, newest first (kind `mention`: a note that names them;
    `assigned`: automatic assignment gave them a conversation)."""

    serializer_class = NotificationSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        unread = self.request.query_params.get("unread") in ("1", "true")
        return note_services.notifications_for(self.request.user, unread_only=unread)

    @extend_schema(request=MarkReadSerializer, responses={200: MarkReadSerializer})
    @action(detail=False, methods=["post"])
    def read(self, request):
        """Mark notifications read: those in `ids`, or all of them without `ids`."""
        incoming = MarkReadSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        count = note_services.notifications_mark_read(
            user=request.user, ids=incoming.validated_data.get("ids")
        )
        return Response({"marked": count})


class CannedResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedResponse
        fields = ["id", "shortcut", "text", "campaign", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []  # the uniqueness of a shortcut is checked in validate(), with a clear error

    def validate_campaign(self, campaign):
        request = self.context["request"]
        if campaign is not None and not campaigns_for_user(request.user).filter(pk=campaign.pk):
            raise serializers.ValidationError("No such campaign.")
        return campaign

    def validate(self, attrs):
        shortcut = attrs.get("shortcut", getattr(self.instance, "shortcut", None))
        campaign = attrs.get("campaign", getattr(self.instance, "campaign", None))
        taken = CannedResponse.objects.filter(shortcut=shortcut, campaign=campaign)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError({"shortcut": ["This shortcut is already used."]})
        return attrs


@extend_schema(parameters=[OpenApiParameter("campaign", int, description="Global + this one")])
class CannedResponseViewSet(viewsets.ModelViewSet):
    """Canned replies. Everyone reads the global ones and their campaigns'; only admins create,
    change or delete them (global or per campaign)."""

    serializer_class = CannedResponseSerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdminOrReadOnly]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CannedResponse.objects.none()
        campaign = id_param(self.request.query_params.get("campaign"))
        return selectors.canned_responses_for(self.request.user, campaign=campaign)


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]


class LabelViewSet(viewsets.ModelViewSet):
    """Labels for contacts. Everyone reads them; admins create, rename, recolour, delete.
    `color` is one of the palette's names (gray, red, orange, green, teal, blue, purple, pink)."""

    serializer_class = LabelSerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdminOrReadOnly]

    def get_queryset(self):
        return selectors.labels()
