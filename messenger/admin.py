from django.contrib import admin, messages

from messenger.delivery_queue import retry_delivery
from messenger.models import WebhookDelivery


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
