"""REST API of the desktop: contacts, their messages, replies and actions."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from agent_desktop import channels, selectors, services, tools_api, workflow
from agent_desktop.models import Activity, Contact, Message
from campaigns.api import MAX_ID, id_param


class ContactSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    profile_pic = serializers.SerializerMethodField()
    campaign = serializers.IntegerField(source="entry_point.campaign_id", read_only=True)
    labels = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    # Messenger's, kept in the channel's details (Contact.channel_details): the names stay, as
    # clients read them (DESIGN.md's contact JSON); other channels' contacts give "" and false.
    gender = serializers.CharField(source="channel_details.gender", default="", read_only=True)
    answered_elsewhere = serializers.BooleanField(
        source="channel_details.answered_elsewhere", default=False, read_only=True
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "channel",
            "external_id",
            "name",
            "first_name",
            "last_name",
            "profile_pic",
            "locale",
            "timezone",
            "gender",
            "entry_point",
            "campaign",
            "status",
            "assigned_to",
            "snoozed_until",
            "unread_count",
            "last_message_at",
            "last_message_preview",
            "answered_elsewhere",
            "channel_details",
            "created_at",
            "labels",
        ]
        read_only_fields = fields

    def get_profile_pic(self, contact) -> str | None:
        """An absolute URL of the kept copy of the picture (served to signed-in users only)."""
        if not contact.profile_pic:
            return None
        path = reverse("agent_desktop:picture", args=[contact.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "contact",
            "direction",
            "kind",
            "text",
            "attachments",
            "details",
            "mid",
            "status",
            "error",
            "sent_by",
            "sent_at",
            "created_at",
        ]
        read_only_fields = fields


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, trim_whitespace=True)


class TransferSerializer(serializers.Serializer):
    to = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The agent's user id")


class ClaimSerializer(serializers.Serializer):
    take_over = serializers.BooleanField(
        default=False, help_text="A supervisor or admin takes a contact another agent holds"
    )


class SnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField(help_text="ISO time; the contact is open again then")


class ActivitySerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", allow_null=True, read_only=True)
    target = serializers.SerializerMethodField()
    actor_name = serializers.SerializerMethodField()
    target_name = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = ["kind", "actor", "target", "at", "actor_name", "target_name"]
        read_only_fields = fields

    def get_target(self, activity) -> int | str | None:
        """The user it was done to (an id), or a word (a label's name, a snooze time)."""
        return activity.target_user_id or activity.target_text or None

    def get_actor_name(self, activity) -> str:
        return workflow.user_name(activity.actor) if activity.actor_id else ""

    def get_target_name(self, activity) -> str:
        if activity.target_user_id:
            return workflow.user_name(activity.target_user)
        return activity.target_text


class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    assigned_to = serializers.IntegerField(allow_null=True, help_text="Who holds the contact now")


class ReplyCreatedSerializer(MessageSerializer):
    continued_in = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "continued_in"]


_WORKFLOW_RESPONSES = {200: ContactSerializer, 403: RefusalSerializer, 409: RefusalSerializer}


@extend_schema(
    parameters=[
        OpenApiParameter("campaign", int, description="Only this campaign's contacts"),
        OpenApiParameter("entry_point", int),
        OpenApiParameter("status", str, enum=Contact.Status.values),
        OpenApiParameter("assigned", str, description="'me', 'none', or a user id"),
        OpenApiParameter("q", str, description="Words in the name or any message's text"),
        OpenApiParameter("label", str, description="Only contacts with this label (its name)"),
    ]
)
class ContactViewSet(viewsets.ReadOnlyModelViewSet):
    """Contacts of the campaigns the user belongs to (all of them for admins), newest activity
    first. Another campaign's contact answers 404."""

    serializer_class = ContactSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Contact.objects.none()
        params = self.request.query_params
        contacts = selectors.contact_list(
            self.request.user,
            filter_name="any",
            query=params.get("q", ""),
            label=params.get("label", ""),
        )
        for name, field in (("campaign", "entry_point__campaign"), ("entry_point", "entry_point")):
            if (value := id_param(params.get(name))) is not None:
                contacts = contacts.filter(**{f"{field}_id": value})
        if params.get("status") in Contact.Status.values:
            contacts = contacts.filter(status=params["status"])
        assigned = params.get("assigned", "")
        if assigned == "me":
            contacts = contacts.filter(assigned_to=self.request.user)
        elif assigned == "none":
            contacts = contacts.filter(assigned_to=None)
        elif (user_id := id_param(assigned)) is not None:
            contacts = contacts.filter(assigned_to_id=user_id)
        return contacts

    @extend_schema(
        methods=["GET"], responses=MessageSerializer(many=True), summary="Messages, oldest first"
    )
    @extend_schema(
        methods=["POST"],
        request=ReplySerializer,
        responses={201: ReplyCreatedSerializer},
        summary="Reply (a text longer than the channel takes is sent in parts, listed in "
        "`continued_in`)",
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        contact = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.conversation(contact))
            return self.get_paginated_response(MessageSerializer(page, many=True).data)
        reply = ReplySerializer(data=request.data)
        reply.is_valid(raise_exception=True)
        window = channels.reply_window(contact)
        try:
            sent = services.reply_send(
                contact=contact,
                agent=request.user,
                text=reply.validated_data["text"],
                can_reply=window.can_reply,
                refusal=window.reason,
            )
        except (workflow.NotAllowed, workflow.Conflict) as exc:
            return _refusal(exc)
        except services.ActionRefused as exc:
            raise ValidationError({"text": [str(exc)]}) from exc
        first = sent[0]
        first.continued_in = [m.pk for m in sent[1:]]
        return Response(ReplyCreatedSerializer(first).data, status=status.HTTP_201_CREATED)

    # --- Team workflow: each answers the contact, 403 when it is another agent's, 409 when the
    # contact is no longer in the state the action needs (e.g. a colleague claimed it first).
    @extend_schema(request=ClaimSerializer, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        claim = ClaimSerializer(data=request.data)
        claim.is_valid(raise_exception=True)
        take_over = claim.validated_data["take_over"]
        return self._act(
            lambda contact, agent: workflow.contact_claim(
                contact=contact, agent=agent, take_over=take_over
            )
        )

    @extend_schema(request=None, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._act(workflow.contact_release)

    @extend_schema(request=None, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._act(workflow.contact_close)

    @extend_schema(request=None, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(workflow.contact_reopen)

    @extend_schema(request=None, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def pending(self, request, pk=None):
        return self._act(workflow.contact_pending)

    @extend_schema(request=SnoozeSerializer, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        contact = self.get_object()
        snooze = SnoozeSerializer(data=request.data)
        snooze.is_valid(raise_exception=True)
        until = snooze.validated_data["until"]
        return self._act(
            lambda contact, agent: workflow.contact_snooze(
                contact=contact, agent=agent, until=until
            ),
            contact,
        )

    @extend_schema(request=TransferSerializer, responses=_WORKFLOW_RESPONSES)
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        contact = self.get_object()
        transfer = TransferSerializer(data=request.data)
        transfer.is_valid(raise_exception=True)
        candidates = selectors.transfer_candidates(contact)
        to = candidates.filter(pk=transfer.validated_data["to"]).first()
        if to is None:
            raise ValidationError(
                {"to": ["Choose a member of this contact's campaign other than its holder."]}
            )
        return self._act(
            lambda contact, agent: workflow.contact_transfer(contact=contact, agent=agent, to=to),
            contact,
        )

    @extend_schema(responses=ActivitySerializer(many=True), summary="Ownership and status changes")
    @action(detail=True, methods=["get"], pagination_class=None)
    def activity(self, request, pk=None):
        contact = self.get_object()
        return Response(ActivitySerializer(selectors.activities(contact), many=True).data)

    def _act(self, service, contact=None):
        contact = contact or self.get_object()
        try:
            service(contact=contact, agent=self.request.user)
        except (workflow.NotAllowed, workflow.Conflict) as exc:
            return _refusal(exc)
        except services.ActionRefused as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(self.get_serializer(contact).data)

    # --- A team's tools (agent_desktop.tools_api) ---------------------------------------------
    @extend_schema(methods=["GET"], responses=tools_api.NoteSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=tools_api.NoteSerializer,
        responses={201: tools_api.NoteSerializer},
        summary="Add a private note (never sent to the customer); @username notifies members",
    )
    @action(detail=True, methods=["get", "post"])
    def notes(self, request, pk=None):
        return tools_api.contact_notes(request, self.get_object())

    @extend_schema(
        request=tools_api.ContactLabelsSerializer, responses=tools_api.ContactLabelsSerializer
    )
    @action(detail=True, methods=["put"])
    def labels(self, request, pk=None):
        return tools_api.contact_labels(request, self.get_object())


def _refusal(exc):
    code = (
        status.HTTP_403_FORBIDDEN
        if isinstance(exc, workflow.NotAllowed)
        else status.HTTP_409_CONFLICT
    )
    return Response({"detail": str(exc), "assigned_to": exc.assigned_to}, status=code)
