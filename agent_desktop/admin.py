from django.contrib import admin

from agent_desktop.models import Activity, Contact, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["sent_at", "direction", "kind", "text", "status", "mid"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "channel", "entry_point", "status", "assigned_to", "last_message_at"]
    list_filter = ["channel", "status", "entry_point__campaign"]
    search_fields = ["first_name", "last_name", "external_id"]
    raw_id_fields = ["assigned_to"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "contact", "direction", "kind", "status", "sent_at"]
    list_filter = ["direction", "kind", "status"]
    search_fields = ["mid", "text"]
    raw_id_fields = ["contact", "sent_by"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """The timeline's record of who claimed, transferred, closed…: read-only history."""

    list_display = ["at", "contact", "kind", "actor", "target_user", "target_text"]
    list_filter = ["kind"]
    raw_id_fields = ["contact", "actor", "target_user"]

    def has_change_permission(self, request, obj=None):
        return False
