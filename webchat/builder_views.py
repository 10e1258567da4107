"""The builder's page of a website-chat entry point (the kind's `panel_view` hook): allowed
websites, colour and greeting, and the embed snippet to copy."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from campaigns.roles import is_campaign_admin
from webchat import services
from webchat.forms import WebChatSettingsForm

TEMPLATE = "webchat/panel.html"


def panel_view(request, entry_point):
    """GET shows the settings; POST saves them (errors shown back with 400)."""
    if not is_campaign_admin(request.user):  # the builder checks too; a hook must not rely on it
        return render(request, "403.html", status=403)
    settings_row = entry_point.web_chat
    if request.method == "POST" and not entry_point.is_archived:
        form = WebChatSettingsForm.for_settings(settings_row, request.POST)
        if form.is_valid():
            services.web_chat_settings_save(
                settings_row=settings_row, actor=request.user, **form.cleaned_data
            )
            messages.success(request, "Website chat saved.")
            return redirect(request.path)
        return render(request, TEMPLATE, _context(request, entry_point, form), status=400)
    form = WebChatSettingsForm.for_settings(settings_row)
    return render(request, TEMPLATE, _context(request, entry_point, form))


def _context(request, entry_point, form):
    settings_row = entry_point.web_chat
    return {
        "entry_point": entry_point,
        "campaign": entry_point.campaign,
        "chat": settings_row,
        "form": form,
        "embed_snippet": services.embed_snippet(settings_row, request),
        "app_origin": services.app_origin(request),
        "status": services.status(entry_point),
        "sample_page_url": settings.WEBCHAT_SAMPLE_PAGE_URL if settings.SANDBOX else "",
    }
