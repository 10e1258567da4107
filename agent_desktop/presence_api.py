"""The caller's own presence and capacity (contract: shared "People and routing").

`GET /api/me/` → `{id, username, first_name, last_name, email, role, campaigns, presence,
capacity, open_conversations}`; `PATCH /api/me/` `{presence: "online"|"away", capacity: 0..200}`;
`POST /api/me/heartbeat/` `{active}` → `{presence}`: a client's beat while it is open (the
desktop page beats through its own URL, agent_desktop.presence_views)."""

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agent_desktop import assignment
from agent_desktop import presence as presence_services
from campaigns.people import MAX_CAPACITY, person_of, presence_of
from campaigns.roles import user_role

Presence = presence_services.Presence


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    role = serializers.ChoiceField(["admin", "supervisor", "agent"], read_only=True)
    campaigns = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    presence = serializers.ChoiceField(Presence.choices, required=False)
    capacity = serializers.IntegerField(min_value=0, max_value=MAX_CAPACITY, required=False)
    open_conversations = serializers.IntegerField(read_only=True)

    def validate_presence(self, value):
        if value == Presence.OFFLINE:
            raise serializers.ValidationError(
                "Offline can't be set: it is when no desktop tab is open. Say away instead."
            )
        return value


def me(user):
    """What GET /api/me/ answers."""
    person = person_of(user)
    person.user = user
    return {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user_role(user),
        "campaigns": sorted(user.campaigns.values_list("pk", flat=True)),
        "presence": presence_of(person),
        "capacity": person.capacity,
        "open_conversations": assignment.open_conversations(user.pk),
    }


@method_decorator(never_cache, name="dispatch")
class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(me(request.user)).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        incoming = MeSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if "capacity" in data:
            presence_services.capacity_set(user=request.user, capacity=data["capacity"])
        if "presence" in data:
            presence_services.presence_set(user=request.user, presence=data["presence"])
        request.user._person_cache = None  # read back what was written
        return Response(MeSerializer(me(request.user)).data)


class HeartbeatSerializer(serializers.Serializer):
    active = serializers.BooleanField(default=False)


class PresenceSerializer(serializers.Serializer):
    presence = serializers.ChoiceField(Presence.choices)


class HeartbeatView(APIView):
    """A client is open (and, with `active`, was used since the last beat)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=HeartbeatSerializer, responses=PresenceSerializer)
    def post(self, request):
        beat = HeartbeatSerializer(data=request.data)
        beat.is_valid(raise_exception=True)
        now_presence = presence_services.heartbeat(
            user=request.user, active=beat.validated_data["active"]
        )
        return Response({"presence": now_presence})
