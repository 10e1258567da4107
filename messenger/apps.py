from django.apps import AppConfig

# At module level: campaigns.kinds imports no model, so it is safe while apps load.
from campaigns.kinds import EntryPointKind, register


class MessengerConfig(AppConfig):
    name = "messenger"
    verbose_name = "Messenger"

    def ready(self):
        register(
            EntryPointKind(
                name="facebook_page",
                label="Facebook Page",
                channel="messenger",
                channel_label="Messenger",
                badge_label="Facebook",
                badge_icon="includes/messenger_icon.html",
                badge_title="Facebook Messenger",
                add_help="Customers write to the page on Messenger.",
                hooks={
                    # The builder (campaigns)
                    "create_entry_point": "messenger.setup.facebook_page_entry_point_create",
                    "panel_view": "messenger.builder_views.panel_view",
                    "status": "messenger.setup.facebook_page_status",
                    "api_serializer": "messenger.api.FacebookPageSettingsSerializer",
                    "seed_demo": "messenger.demo.seed_demo",
                    "archive": "messenger.setup.facebook_page_archive",
                    "archive_consequences": "messenger.setup.facebook_page_archive_consequences",
                    "describe": "messenger.setup.facebook_page_describe",
                    "archived_links": "messenger.setup.facebook_page_archived_links",
                    "deliveries_count": "messenger.setup.facebook_page_deliveries_count",
                    "deliveries_erase": "messenger.setup.facebook_page_deliveries_erase",
                    # The desktop (agent_desktop)
                    "enqueue_send": "messenger.outbound.enqueue_send",
                    "csat_survey": "messenger.csat.survey_ask",
                    "reply_window": "messenger.outbound.reply_window",
                    "refresh_profile": "messenger.profiles.enqueue_profile_refresh",
                    "sender_action": "messenger.outbound.enqueue_sender_action",
                    "customer_info": "messenger.desk.customer_info",
                    "contact_select_related": "messenger.desk.CONTACT_SELECT_RELATED",
                    "contact_notice": "messenger.desk.contact_notice",
                    "replies_blocked": "messenger.desk.replies_blocked",
                    "max_text_length": "messenger.limits.MAX_TEXT_LENGTH",
                    "max_attachment_bytes": "messenger.limits.MAX_ATTACHMENT_BYTES",
                },
            )
        )
