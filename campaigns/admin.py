from django.contrib import admin

from campaigns.models import Campaign, EntryPoint


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["agents"]


@admin.register(EntryPoint)
class EntryPointAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "campaign", "is_archived", "created_at"]
    list_filter = ["kind", "is_archived", "campaign"]
    search_fields = ["name"]
    # Archived through the builder or the API (campaigns.services.entry_point_archive), which
    # also turns the kind's inbound off (its webhook) and keeps an audit entry.
    readonly_fields = ["is_archived", "archived_at"]
