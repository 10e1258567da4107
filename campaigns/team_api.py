"""`/api/users/`: the team, for admins (contract in shared/DESIGN.md, "People and routing")."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import mixins, permissions, serializers, viewsets

from campaigns import team
from campaigns.access import IsCampaignAdmin
from campaigns.models import Campaign, Person
from campaigns.people import MAX_CAPACITY

User = get_user_model()


class UserSerializer(serializers.Serializer):
    """A person. Without `password`, creating one mails an invitation to `email`."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z", max_length=150, required=False, help_text="Fixed once created."
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=list(team.ROLES), required=False)
    campaigns = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Campaign.objects.all(), required=False
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Only when creating; leave out to send an invitation instead.",
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false ends the person's sessions and API token at once."
    )
    capacity = serializers.IntegerField(min_value=0, max_value=MAX_CAPACITY, required=False)
    presence = serializers.ChoiceField(choices=Person.Presence.choices, read_only=True)
    invitation_pending = serializers.BooleanField(read_only=True)
    state = serializers.ChoiceField(choices=["active", "invited", "deactivated"], read_only=True)
    last_login = serializers.DateTimeField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)

    def to_representation(self, user):
        facts = team.person_facts(user)
        for name in ("role", "presence", "capacity", "state"):
            setattr(user, name, facts[name])
        user.invitation_pending = facts["state"] == "invited"
        return super().to_representation(user)

    def validate_username(self, username):
        if self.instance is not None and username != self.instance.username:
            raise serializers.ValidationError("A username is fixed once the person exists.")
        if self.instance is None and team.username_taken(username):
            raise serializers.ValidationError("This username is taken.")
        return username

    def validate_email(self, email):
        if team.email_taken(email, exclude=getattr(self.instance, "pk", None)):
            raise serializers.ValidationError("Someone on the team already has this address.")
        return email

    def validate(self, data):
        if self.instance is not None:
            if "password" in data:
                raise serializers.ValidationError(
                    {"password": "Only when creating: people change theirs on /profile/."}
                )
            return data
        errors = {}
        if not data.get("username"):
            errors["username"] = "This field is required."
        if "password" in data:
            probe = User(**{k: data.get(k, "") for k in ("username", "email", "first_name")})
            try:
                validate_password(data["password"], probe)
            except DjangoValidationError as error:
                errors["password"] = list(error.messages)
        elif not data.get("email"):
            errors["email"] = "Needed for the invitation (or give a password)."
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def create(self, data):
        actor, request = self.context["request"].user, self.context["request"]
        fields = {
            "actor": actor,
            "username": data["username"],
            "email": data.get("email", ""),
            "first_name": data.get("first_name", ""),
            "last_name": data.get("last_name", ""),
            "role": data.get("role", "agent"),
            "campaigns": data.get("campaigns", []),
        }
        if "password" in data:
            return team.person_add(**fields, password=data["password"])
        user, _sent = team.person_invite(**fields, request=request)
        return user

    def update(self, user, data):
        try:
            team.person_update(actor=self.context["request"].user, user=user, **data)
        except team.TeamError as error:
            raise serializers.ValidationError({error.field or "detail": [str(error)]}) from error
        return user


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The team (admins only). PATCH changes role, campaigns, capacity, names or `is_active`."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, IsCampaignAdmin]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return team.team_members()
