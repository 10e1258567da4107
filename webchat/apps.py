from django.apps import AppConfig


class WebChatConfig(AppConfig):
    name = "webchat"
    verbose_name = "Website chat"

    def ready(self):
        from campaigns.kinds import EntryPointKind, register

        register(
            EntryPointKind(
                name="web_chat",
                label="Website chat",
                channel="webchat",
                channel_label="Website chat",
                badge_label="Website",
                badge_icon="includes/webchat_icon.html",
                badge_title="Website chat",
                add_help="Visitors of your website write from a chat bubble on its pages.",
                hooks={
                    "create_entry_point": "webchat.services.web_chat_entry_point_create",
                    "panel_view": "webchat.builder_views.panel_view",
                    "status": "webchat.services.status",
                    "api_serializer": "webchat.api.WebChatEntryPointSerializer",
                    "seed_demo": "webchat.services.seed_demo",
                    "enqueue_send": "webchat.desk.enqueue_send",
                    "csat_survey": "webchat.csat.survey_ask",
                    "reply_window": "webchat.desk.reply_window",
                    "sender_action": "webchat.desk.sender_action",
                    "customer_info": "webchat.desk.customer_info",
                    "max_text_length": "webchat.limits.MAX_TEXT_LENGTH",
                    "max_attachment_bytes": "webchat.limits.MAX_ATTACHMENT_BYTES",
                },
            )
        )
