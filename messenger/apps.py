from django.apps import AppConfig


class MessengerConfig(AppConfig):
    name = "messenger"
    verbose_name = "Messenger"

    def ready(self):
        from campaigns.kinds import EntryPointKind, register

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
                    "create_entry_point": "campaigns.services.facebook_page_entry_point_create",
                    "enqueue_send": "messenger.outbound.enqueue_send",
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
