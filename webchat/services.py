"""The builder's side of website chat: making the entry point and saving its settings."""

import html
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.urls import reverse

from campaigns.audit import Action, audit_record
from campaigns.kinds import KindStatus
from campaigns.models import Campaign, EntryPoint
from campaigns.services import campaign_check_accepts_entry_points
from webchat.models import WebChatSettings

KIND = "web_chat"
WIDGET_SCRIPT = "webchat/widget.js"
DEMO_NAME = "Acme website chat"


def demo_origins():
    """The sample page's origin (`WEBCHAT_SAMPLE_PAGE_URL`, which `make run` sets from
    SHOP_PORT), under both local names a browser may use for it."""
    url = urlsplit(settings.WEBCHAT_SAMPLE_PAGE_URL or "http://127.0.0.1:8001/")
    port = f":{url.port}" if url.port else ""
    local = {"127.0.0.1", "localhost"}
    hosts = local if url.hostname in local else {url.hostname}
    return [f"{url.scheme}://{host}{port}" for host in sorted(hosts)]


@transaction.atomic
def web_chat_entry_point_create(*, campaign: Campaign, name: str, actor=None) -> EntryPoint:
    """A website-chat entry point with its settings (the kind's `create_entry_point` hook)."""
    # The campaign's row is locked, so a deactivation at the same moment waits, then holds.
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign_check_accepts_entry_points(campaign)
    entry_point = EntryPoint.objects.create(campaign=campaign, name=name, kind=KIND)
    WebChatSettings.objects.create(entry_point=entry_point)
    audit_record(actor, Action.ENTRY_POINT_CREATED, entry_point, kind=entry_point.kind)
    return entry_point


@transaction.atomic
def web_chat_settings_save(*, settings_row, allowed_origins, color, greeting, actor=None):
    """Save the chat's settings; the audit log keeps which changed (and the websites allowed:
    who let which site use the chat matters)."""
    given = {"allowed_origins": allowed_origins, "color": color, "greeting": greeting}
    changed = [name for name, value in given.items() if getattr(settings_row, name) != value]
    if not changed:
        return settings_row
    for name in changed:
        setattr(settings_row, name, given[name])
    settings_row.save(update_fields=changed)
    audit_record(
        actor,
        Action.ENTRY_POINT_CHANGED,
        settings_row.entry_point,
        changed=changed,
        allowed_origins=settings_row.allowed_origins,
    )
    return settings_row


def app_origin(request=None):
    """Where browsers reach this app: PUBLIC_BASE_URL, or the request's own origin."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL
    return f"{request.scheme}://{request.get_host()}" if request is not None else ""


def embed_snippet(settings_row, request=None):
    """The one line a website adds to its pages (the widget finds its key and our origin in it)."""
    # The file's own name, not the hashed one `static()` gives in production: a snippet pasted
    # into a website must keep working after our next deploy (WhiteNoise serves both names).
    src = settings.STATIC_URL + WIDGET_SCRIPT
    if not src.startswith(("http://", "https://")):
        src = app_origin(request) + src
    # Plain text (not marked safe): the page escapes it where it shows it.
    key = html.escape(settings_row.widget_key)
    return f'<script src="{html.escape(src)}" data-widget-key="{key}" async></script>'


def visitor_api_url(settings_row, request=None):
    return app_origin(request) + reverse("webchat:config", args=[settings_row.widget_key])


def status(entry_point) -> KindStatus:
    """One line for the campaign page: where it is live, and when a visitor last wrote."""
    settings_row = WebChatSettings.objects.filter(entry_point=entry_point).first()
    count = len(settings_row.allowed_origins) if settings_row else 0
    if not count:
        return KindStatus("No allowed websites yet", "warn")
    text = f"Live on {count} website{'s' if count != 1 else ''}"
    last = entry_point.contacts.aggregate(last=Max("last_inbound_at"))["last"]
    if last is not None:
        text += f" · last message {last:%Y-%m-%d %H:%M}"
    return KindStatus(text, "ok")


def seed_demo(campaign, *, base_url="") -> str:
    """The demo's website chat (the kind's `seed_demo` hook): made once, its sample page's
    origins allowed; `make run` serves that page on SHOP_PORT (8001). `base_url` (where the
    app runs) is not needed: the widget is told the app's origin by its snippet."""
    entry_point = EntryPoint.objects.filter(
        campaign=campaign, kind=KIND, name=DEMO_NAME, is_archived=False
    ).first()
    if entry_point is None:
        entry_point = web_chat_entry_point_create(campaign=campaign, name=DEMO_NAME)
    settings_row = entry_point.web_chat
    missing = [origin for origin in demo_origins() if origin not in settings_row.allowed_origins]
    if missing:
        settings_row.allowed_origins = [*settings_row.allowed_origins, *missing]
        settings_row.save(update_fields=["allowed_origins"])
    page = settings.WEBCHAT_SAMPLE_PAGE_URL
    return f"Demo website chat: “{DEMO_NAME}”" + (f", try it on {page}" if page else "")
