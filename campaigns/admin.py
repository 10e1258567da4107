from django.contrib import admin

from campaigns.models import Campaign, EntryPoint, FacebookPage


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["agents"]


class FacebookPageInline(admin.StackedInline):
    model = FacebookPage
    can_delete = False
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


@admin.register(EntryPoint)
class EntryPointAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "campaign", "is_archived", "created_at"]
    list_filter = ["kind", "is_archived", "campaign"]
    search_fields = ["name", "facebook_page__page_name", "facebook_page__page_id"]
    inlines = [FacebookPageInline]
    # Archived through the builder or the API (campaigns.services.entry_point_archive), which
    # also drops the webhook, frees the page for another entry point and keeps an audit entry.
    readonly_fields = ["is_archived", "archived_at"]


@admin.register(FacebookPage)
class FacebookPageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "page_id", "entry_point", "token_status", "webhook_verified_at"]
    list_filter = ["token_status"]
    search_fields = ["page_name", "page_id"]
    fields = FacebookPageInline.fields
    readonly_fields = FacebookPageInline.fields

    def has_add_permission(self, request):
        return False  # made with its entry point
