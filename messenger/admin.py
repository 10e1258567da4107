from django.contrib import admin, messages

from messenger.delivery_queue import retry_delivery
from messenger.models import FacebookPage, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "facebook_page", "received_at", "status", "attempts", "kinds", "size"]
    list_filter = ["status", "facebook_page"]
    readonly_fields = [
        "facebook_page",
        "received_at",
        "status",
        "attempts",
        "event_kinds",
        "last_error",
        "processed_at",
        "swept_at",
        "body",
    ]
    actions = ["process_again"]

    @admin.display(description="events")
    def kinds(self, delivery):
        return ", ".join(delivery.event_kinds)

    @admin.action(description="Process again (idempotent: nothing is doubled)")
    def process_again(self, request, queryset):
        for delivery in queryset:
            retry_delivery(delivery)
        self.message_user(request, f"{queryset.count()} deliveries queued again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(FacebookPage)
class FacebookPageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "page_id", "entry_point", "token_status", "webhook_verified_at"]
    list_filter = ["token_status"]
    search_fields = ["page_name", "page_id"]
    # Secrets are set in the builder's Messenger panel, never shown here.
    fields = [
        "app_id",
        "page_id",
        "page_name",
        "token_status",
        "credentials_checked_at",
        "last_error",
        "webhook_verified_at",
        "last_event_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # made with its entry point
