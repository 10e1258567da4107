"""The builder's side of website chat: the kind in the registry, creating the entry point, its
panel (settings form, snippet), its status line, its API fields and the demo."""

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from agent_desktop.models import Contact
from campaigns import services as builder
from campaigns.kinds import kind_named, kind_of_channel
from campaigns.models import AuditEntry, EntryPoint
from tests.webchat.conftest import SHOP, Widget
from webchat import colors, desk, origins, services
from webchat.api import WebChatEntryPointSerializer
from webchat.models import WebChatSettings


def panel_url(entry_point):
    return f"/campaigns/entry-points/{entry_point.pk}/"


# --- The kind -----------------------------------------------------------------------------------
def test_the_kind_is_registered_with_every_hook_importable():
    kind = kind_named("web_chat")
    assert (kind.label, kind.channel, kind.badge_label) == ("Website chat", "webchat", "Website")
    assert kind_of_channel("webchat") is kind
    for name in kind.hooks:
        assert kind.hook(name) is not None, name
    assert kind.hook("max_text_length") == 4000
    assert not kind.has("refresh_profile")  # a visitor has no profile to fetch again
    icon = render_to_string(kind.badge_icon)
    assert "<svg" in icon and 'aria-hidden="true"' in icon


def test_creating_the_entry_point_makes_its_settings_and_an_audit_entry(campaign, admin_user):
    create = kind_named("web_chat").hook("create_entry_point")
    entry_point = create(campaign=campaign, name="Shop chat", actor=admin_user)
    assert entry_point.kind == "web_chat"
    chat = entry_point.web_chat
    assert len(chat.widget_key) >= 32
    assert chat.allowed_origins == []
    entry = AuditEntry.objects.get(action="entry_point_created")
    assert (entry.actor, entry.target_id, entry.details) == (
        admin_user,
        entry_point.pk,
        {"kind": "web_chat"},
    )
    other = create(campaign=campaign, name="Second", actor=admin_user)
    assert other.web_chat.widget_key != chat.widget_key


def test_an_inactive_campaign_gets_no_website_chat(campaign):
    campaign.is_active = False
    campaign.save()
    with pytest.raises(builder.CampaignInactive):
        services.web_chat_entry_point_create(campaign=campaign, name="Shop chat")
    assert not EntryPoint.objects.exists()
    assert not WebChatSettings.objects.exists()


# --- The panel ----------------------------------------------------------------------------------
def test_the_panel_shows_the_snippet_and_saves_normalised_origins(admin_client, chat_entry_point):
    chat = chat_entry_point.web_chat
    page = admin_client.get(panel_url(chat_entry_point))
    assert page.status_code == 200
    html = page.content.decode()
    snippet = (
        f"&lt;script src=&quot;http://testserver/static/webchat/widget.js&quot; "
        f"data-widget-key=&quot;{chat.widget_key}&quot; async&gt;&lt;/script&gt;"
    )
    assert snippet in html
    assert 'data-copy="#embed-snippet"' in html

    response = admin_client.post(
        panel_url(chat_entry_point),
        {
            "allowed_origins": "https://Shop.Example.com/\n\nhttp://localhost:8001\nhttps://shop.example.com:443",
            "color": "#0a7d3b",
            "greeting": "Welcome to Acme!",
        },
    )
    assert response.status_code == 302
    chat.refresh_from_db()
    assert chat.allowed_origins == ["https://shop.example.com", "http://localhost:8001"]
    assert (chat.color, chat.greeting) == ("#0A7D3B", "Welcome to Acme!")
    assert "Website chat saved." in admin_client.get(response["Location"]).content.decode()

    # The audit log says who changed what, and which websites may now use the chat.
    entry = AuditEntry.objects.get(action="entry_point_changed")
    assert entry.target_id == chat_entry_point.pk and entry.actor is not None
    assert entry.details["changed"] == ["allowed_origins", "color", "greeting"]
    assert entry.details["allowed_origins"] == chat.allowed_origins
    # Saving the same again changes nothing and records nothing.
    admin_client.post(
        panel_url(chat_entry_point),
        {
            "allowed_origins": "https://shop.example.com\nhttp://localhost:8001",
            "color": "#0a7d3b",
            "greeting": "Welcome to Acme!",
        },
    )
    assert AuditEntry.objects.filter(action="entry_point_changed").count() == 1


def test_the_panel_shows_form_errors_back_and_saves_nothing(admin_client, chat_entry_point):
    response = admin_client.post(
        panel_url(chat_entry_point),
        {
            "allowed_origins": "https://shop.example.com/checkout\nftp://files.example.com",
            "color": "red",
            "greeting": "x" * 201,
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "an origin has no path" in html
    assert "is not a website origin" in html
    assert "Enter a colour as #RRGGBB" in html
    assert "ftp://files.example.com" in html  # what they typed is kept to correct
    chat_entry_point.web_chat.refresh_from_db()
    assert chat_entry_point.web_chat.allowed_origins == [SHOP, "http://127.0.0.1:8001"]


def test_the_sample_page_link_only_with_the_sandbox(admin_client, chat_entry_point, settings):
    settings.SANDBOX = True
    settings.WEBCHAT_SAMPLE_PAGE_URL = "http://127.0.0.1:8001/"
    assert (
        'href="http://127.0.0.1:8001/"'
        in admin_client.get(panel_url(chat_entry_point)).content.decode()
    )
    settings.SANDBOX = False
    assert "sample page" not in admin_client.get(panel_url(chat_entry_point)).content.decode()


def test_only_admins_see_the_panel(client, agent, chat_entry_point):
    assert client.get(panel_url(chat_entry_point)).status_code == 302  # to the login
    client.force_login(agent)
    assert client.post(panel_url(chat_entry_point), {"color": "#000000"}).status_code == 403
    assert chat_entry_point.web_chat.color == WebChatSettings._meta.get_field("color").default


# --- The campaign page's status line ------------------------------------------------------------
def test_status_says_where_it_is_live(campaign, chat_entry_point):
    bare = services.web_chat_entry_point_create(campaign=campaign, name="Not yet")
    assert (services.status(bare).text, services.status(bare).tone) == (
        "No allowed websites yet",
        "warn",
    )
    assert services.status(chat_entry_point).text == "Live on 2 websites"
    widget = Widget(chat_entry_point.web_chat.widget_key)
    widget.start()
    widget.say("hi")
    assert "last message" in services.status(chat_entry_point).text


# --- The entry point API's fields ---------------------------------------------------------------
def test_the_api_serializer_reads_and_writes_the_kind_fields(chat_entry_point, rf):
    request = rf.get("/api/entry-points/")
    data = WebChatEntryPointSerializer(chat_entry_point, context={"request": request}).data
    chat = chat_entry_point.web_chat
    assert data["allowed_origins"] == [SHOP, "http://127.0.0.1:8001"]
    assert data["widget_key"] == chat.widget_key
    assert chat.widget_key in data["embed_snippet"]
    assert (data["color"], data["greeting"]) == (chat.color, chat.greeting)

    refused = WebChatEntryPointSerializer(
        chat_entry_point, data={"allowed_origins": ["not a site"], "color": "blue"}, partial=True
    )
    assert not refused.is_valid()
    assert set(refused.errors) == {"allowed_origins", "color"}

    given = WebChatEntryPointSerializer(
        chat_entry_point,
        data={"allowed_origins": ["https://New.example.com"], "widget_key": "mine"},
        partial=True,
    )
    assert given.is_valid(), given.errors
    given.save()
    chat.refresh_from_db()
    assert chat.allowed_origins == ["https://new.example.com"]
    assert chat.widget_key != "mine"  # read-only


# --- The demo -----------------------------------------------------------------------------------
def test_seed_demo_makes_the_demo_chat_once(campaign, settings):
    settings.WEBCHAT_SAMPLE_PAGE_URL = "http://127.0.0.1:8001/"
    line = kind_named("web_chat").hook("seed_demo")(campaign)
    assert "Acme website chat" in line and "http://127.0.0.1:8001/" in line
    services.seed_demo(campaign)
    chats = WebChatSettings.objects.filter(entry_point__campaign=campaign)
    assert chats.count() == 1
    assert chats.get().allowed_origins == ["http://127.0.0.1:8001", "http://localhost:8001"]


def test_the_demo_chat_allows_the_sample_page_where_make_run_serves_it(campaign, settings):
    settings.WEBCHAT_SAMPLE_PAGE_URL = "http://localhost:18601/"
    services.seed_demo(campaign)
    chat = WebChatSettings.objects.get(entry_point__campaign=campaign)
    assert chat.allowed_origins == ["http://127.0.0.1:18601", "http://localhost:18601"]


def test_the_snippet_names_the_widget_file_not_a_hashed_copy(chat_entry_point, settings):
    settings.STATIC_URL = "https://cdn.example.com/static/"
    snippet = services.embed_snippet(chat_entry_point.web_chat)
    assert 'src="https://cdn.example.com/static/webchat/widget.js"' in snippet


# --- Customer Info, reply window ----------------------------------------------------------------
def test_customer_info_lists_what_the_visitor_told_as_text(chat):
    widget = Widget(chat.widget_key)
    widget.start(
        page_url="https://shop.example.com/boots?q=<b>",
        referrer="https://www.example.org/",
        language="nb-NO",
        timezone="Europe/Oslo",
        email="ola@example.com",
    )
    contact = Contact.objects.get()
    assert desk.customer_info(contact) == [
        ("Page", "https://shop.example.com/boots?q=<b>"),
        ("Referrer", "https://www.example.org/"),
        ("Language", "nb-NO"),
        ("Time zone", "Europe/Oslo"),
        ("E-mail", "ola@example.com"),
    ]
    window = desk.reply_window(contact)
    assert window.can_reply and window.closes_at is None and window.tag is None


# --- Origins and colours ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, origin",
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com/", "https://shop.example.com"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://localhost:80", "http://localhost"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(text, origin):
    assert origins.normalise_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    [
        "shop.example.com",
        "javascript:alert(1)",
        "https://a.example/path",
        "https://u:p@a.example",
        "https://a.example:99999",
        "https://a.example/?q=1",
    ],
)
def test_what_is_no_origin_is_refused(text):
    with pytest.raises(ValidationError):
        origins.normalise_origin(text)


@pytest.mark.parametrize(
    "color", ["#000000", "#FFFFFF", "#777777", "#1F5FBF", "#FFD700", "#FF0000"]
)
def test_every_colour_gets_a_text_colour_passing_wcag_aa(color):
    assert colors.contrast_ratio(color, colors.text_color_for(color)) >= colors.AA_NORMAL_TEXT
