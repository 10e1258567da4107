"""The website-chat fields of `/api/entry-points/` (the kind's `api_serializer`).

Its instance is the EntryPoint (the fields are read from its `web_chat` settings);
`update(entry_point, validated_data)` saves the writable ones. `widget_key` and `embed_snippet`
are read-only: the snippet is what the builder shows to copy.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from webchat import colors, origins, services
from webchat.models import WebChatSettings

GREETING_MAX = WebChatSettings._meta.get_field("greeting").max_length


class WebChatEntryPointSerializer(serializers.Serializer):
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300),
        source="web_chat.allowed_origins",
        required=False,
        max_length=origins.MAX_ORIGINS,
        help_text="Website origins that may embed the chat, e.g. https://shop.example.com.",
    )
    widget_key = serializers.CharField(source="web_chat.widget_key", read_only=True)
    embed_snippet = serializers.SerializerMethodField()
    color = serializers.CharField(source="web_chat.color", required=False, max_length=7)
    greeting = serializers.CharField(
        source="web_chat.greeting", required=False, allow_blank=True, max_length=GREETING_MAX
    )

    def get_embed_snippet(self, entry_point) -> str:
        return services.embed_snippet(entry_point.web_chat, self.context.get("request"))

    def validate_allowed_origins(self, value):
        try:
            return origins.parse_origins(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_color(self, value):
        try:
            colors.validate_color(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return colors.normalise_color(value)

    def update(self, entry_point, validated_data):
        settings_row = entry_point.web_chat
        given = validated_data.get("web_chat", {})
        request = self.context.get("request")
        services.web_chat_settings_save(
            settings_row=settings_row,
            actor=request.user if request is not None else None,
            allowed_origins=given.get("allowed_origins", settings_row.allowed_origins),
            color=given.get("color", settings_row.color),
            greeting=given.get("greeting", settings_row.greeting),
        )
        return entry_point
