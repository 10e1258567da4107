"""XSS: a customer's name or message (and every other text that reaches a page: page names from
Graph, campaign and agent names, errors, delivery bodies, query strings) renders escaped on
every page, and URLs from webhooks never become `javascript:` links or sources from arbitrary
hosts. A Content-Security-Policy header goes with every response, and no template needs inline
code or eval to work (tests/browser checks that Chromium reports no violation)."""

import re
from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from agent_desktop.models import Contact, Message
from campaigns.models import EntryPoint
from config.middleware import content_security_policy
from messenger import services
from messenger import setup as page_setup
from messenger.models import FacebookPage, WebhookDelivery
from messenger.sandbox import simulator
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PSID = "6512345678901234"
# One payload per place it can come from, so a failure says which text was not escaped.
CUSTOMER_FIRST = "<img src=x onerror=alert('first')>"
CUSTOMER_LAST = '"><script>alert("last")</script>'
MESSAGE_TEXT = "Hi <img src=x onerror=alert('text')> there"
ATTACHMENT_TITLE = "<svg onload=alert('title')>"
POSTBACK_TITLE = "<b onmouseover=alert('postback')>Tap</b>"
GRAPH_ERROR = "<img src=x onerror=alert('error')>"
PAGE_NAME = "<img src=x onerror=alert('page')>"
CAMPAIGN_NAME = "Sale <script>alert('campaign')</script>"
ENTRY_POINT_NAME = "Page \"'><img src=x onerror=alert('entry')>"
AGENT_NAME = "<script>alert('agent')</script>"
SIMULATED_CUSTOMER = "<img src=x onerror=alert('sim')>"
QUERY = "<script>alert('query')</script>"
PAYLOADS = [
    CUSTOMER_FIRST,
    CUSTOMER_LAST,
    MESSAGE_TEXT,
    ATTACHMENT_TITLE,
    POSTBACK_TITLE,
    GRAPH_ERROR,
    PAGE_NAME,
    CAMPAIGN_NAME,
    ENTRY_POINT_NAME,
    AGENT_NAME,
    SIMULATED_CUSTOMER,
    QUERY,
]
BAD_URLS = [
    "javascript:alert('url')",
    "JaVaScRiPt:alert('url')",
    " javascript:alert('url')",
    "data:text/html,<script>alert('url')</script>",
    "https://tracker.example.com/pixel.png",  # inline media only from Facebook's hosts
]


# A script URL in a link or a source, or a picture loaded from a host that is not Facebook's.
UNSAFE_URL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:javascript|data):|src\s*=\s*["']?https://tracker""", re.I
)


def webhook(client, page, payload):
    body = encode_like_facebook(payload)
    return client.post(
        page_setup.webhook_path(page),
        data=body,
        content_type="application/json",
        headers={
            "X-Hub-Signature-256": signature_headers(body, PAGE["app_secret"])[
                "X-Hub-Signature-256"
            ]
        },
    )


def item(**event):
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE["page_id"]},
        "timestamp": int(timezone.now().timestamp() * 1000),
        **event,
    }


@pytest.fixture
def hostile_world(client, connected_page, fake_graph, agent, settings):
    """Every text an attacker (a customer, Facebook's answers, a careless admin) can put on a
    page, put there through the real paths where there is one."""
    campaign = connected_page.entry_point.campaign
    campaign.name = CAMPAIGN_NAME
    campaign.save()
    EntryPoint.objects.filter(pk=connected_page.entry_point_id).update(name=ENTRY_POINT_NAME)
    FacebookPage.objects.filter(pk=connected_page.pk).update(page_name=PAGE_NAME)
    User.objects.filter(pk=agent.pk).update(first_name=AGENT_NAME)
    fake_graph.add_profile(PSID, first_name=CUSTOMER_FIRST, last_name=CUSTOMER_LAST)

    events = [
        item(message={"mid": "m_xss_text", "text": MESSAGE_TEXT}),
        item(postback={"mid": "m_xss_postback", "title": POSTBACK_TITLE, "payload": "X"}),
        item(
            message={
                "mid": "m_xss_attachments",
                "attachments": [
                    {"type": kind, "payload": {"url": url}, "title": ATTACHMENT_TITLE}
                    for kind in ("image", "video", "fallback")
                    for url in BAD_URLS
                ],
            }
        ),
    ]
    for event in events:
        body = {"object": "page", "entry": [{"id": PAGE["page_id"], "messaging": [event]}]}
        assert webhook(client, connected_page, body).status_code == 200
    for delivery in WebhookDelivery.objects.all():
        services.process_delivery(delivery.pk)
    contact = Contact.objects.get(external_id=PSID)
    assert services.fetch_profiles([contact.pk]) == []
    contact.refresh_from_db()
    assert contact.first_name == CUSTOMER_FIRST
    # Stored before URLs were checked on the way in: the pages must still not use them.
    Message.objects.create(
        contact=contact,
        direction="in",
        kind="attachment",
        mid="m_xss_old",
        sent_at=timezone.now(),
        attachments=[
            {"type": t, "url": u, "title": ATTACHMENT_TITLE}
            for t in ("image", "file")
            for u in BAD_URLS[:4]
        ],
    )
    Message.objects.create(
        contact=contact,
        direction="out",
        status="failed",
        text="Sorry",
        error=GRAPH_ERROR,
        sent_by=agent,
        sent_at=timezone.now(),
    )
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.first().pk).update(
        last_error=GRAPH_ERROR
    )
    FacebookPage.objects.filter(pk=connected_page.pk).update(last_error=GRAPH_ERROR)
    settings.GRAPH_API_URL = fake_graph.url
    simulator.reset()
    customer = simulator.make_customer(first_name=SIMULATED_CUSTOMER)
    yield {"contact": contact, "page": connected_page, "customer": customer}
    simulator.reset()


def pages_for(world, admin_user):
    contact, page = world["contact"], world["page"]
    ep, campaign = page.entry_point_id, page.entry_point.campaign_id
    delivery = WebhookDelivery.objects.order_by("pk").first()
    message = Message.objects.filter(contact=contact).first()
    desktop = [
        "/desktop/",
        f"/desktop/?q={QUERY}&filter={QUERY}&page={QUERY}",
        "/desktop/list/",
        f"/desktop/contacts/{contact.pk}/",
        f"/desktop/contacts/{contact.pk}/?filter=all&q={QUERY}",
        f"/desktop/contacts/{contact.pk}/live/",
    ]
    builder_pages = [
        "/campaigns/",
        f"/campaigns/{campaign}/",
        f"/campaigns/{campaign}/edit/",
        f"/campaigns/entry-points/{ep}/",
        f"/campaigns/entry-points/{ep}/webhook/",
        f"/campaigns/entry-points/{ep}/webhook/status/",
        f"/campaigns/entry-points/{ep}/deliveries/",
        f"/campaigns/entry-points/{ep}/deliveries/{delivery.pk}/",
        f"/campaigns/entry-points/{ep}/health/",
        "/sandbox/simulator/",
        f"/sandbox/simulator/{ep}/{world['customer'].psid}/",
        f"/sandbox/simulator/{ep}/{world['customer'].psid}/thread/",
    ]
    django_admin = [
        f"/admin/agent_desktop/contact/{contact.pk}/change/",
        f"/admin/agent_desktop/message/{message.pk}/change/",
        "/admin/agent_desktop/message/",
        f"/admin/campaigns/campaign/{campaign}/change/",
        f"/admin/campaigns/entrypoint/{ep}/change/",
        f"/admin/messenger/facebookpage/{page.pk}/change/",
        f"/admin/messenger/webhookdelivery/{delivery.pk}/change/",
        f"/admin/auth/user/{admin_user.pk}/change/",
        "/admin/auth/user/",
    ]
    return {"agent": desktop, "admin": desktop + builder_pages, "superuser": django_admin}


def test_hostile_text_renders_escaped_on_every_page(
    client, hostile_world, agent, admin_user, counts
):
    superuser = User.objects.create_superuser("root", password="x", first_name=AGENT_NAME)
    users = {"agent": agent, "admin": admin_user, "superuser": superuser}
    rendered, escaped_seen, raw_seen, unsafe_urls = 0, Counter(), [], []
    for who, urls in pages_for(hostile_world, admin_user).items():
        client.force_login(users[who])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (who, url, response.status_code)
            html = response.content.decode()
            rendered += 1
            raw_seen += [(url, p) for p in PAYLOADS if p in html]
            escaped_seen.update({p: html.count(escape(p)) for p in PAYLOADS})
            unsafe_urls += [(url, m.group()) for m in UNSAFE_URL.finditer(html)]
    assert raw_seen == []
    assert unsafe_urls == []
    # Every payload reached some page (escaped), so each place it came from was tried.
    assert [p for p in PAYLOADS if not escaped_seen[p]] == []
    counts(
        "hostile text",
        pages_rendered=rendered,
        payloads_shown_escaped=sum(1 for p in PAYLOADS if escaped_seen[p]),
        times_shown_escaped=escaped_seen.total(),
        raw=len(raw_seen),
        unsafe_urls=len(unsafe_urls),
    )


def test_attachment_urls_from_webhooks_are_kept_only_from_facebook_hosts(hostile_world, counts):
    stored = [a for m in Message.objects.filter(mid="m_xss_attachments") for a in m.attachments]
    kept = [a["url"] for a in stored if a["url"]]
    # Links (a shared page) may go anywhere over https; pictures and videos, which the agent's
    # browser loads by itself, only from Facebook's hosts.
    assert kept == ["https://tracker.example.com/pixel.png"]
    assert [a["type"] for a in stored if a["url"]] == ["fallback"]
    counts(
        "attachment URLs from webhooks",
        received=len(stored),
        kept=len(kept),
        dropped=len(stored) - len(kept),
    )


def test_the_api_answers_json_that_no_browser_renders_as_html(hostile_world, agent):
    api = APIClient()
    api.force_authenticate(agent)
    for url in ("/api/contacts/", f"/api/contacts/{hostile_world['contact'].pk}/messages/"):
        response = api.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["X-Content-Type-Options"] == "nosniff"
        browsable = api.get(url, HTTP_ACCEPT="text/html")  # the browsable API
        html = browsable.content.decode()
        assert browsable.status_code == 200 and "&lt;img src=x onerror=" in html  # shown, escaped
        assert not any(p in html for p in PAYLOADS)


# --- Content-Security-Policy -----------------------------------------------------------------
def test_every_response_carries_the_content_security_policy(client, connected_page, agent, counts):
    client.force_login(agent)
    api = APIClient()
    api.force_authenticate(agent)
    responses = {
        "page": client.get("/desktop/"),
        "htmx partial": client.get("/desktop/list/"),
        "204 poll": client.get(
            "/desktop/list/", {"fp": client.get("/desktop/").context["list_fingerprint"]}
        ),
        "403 page": client.get("/campaigns/"),
        "404 page": client.get("/no-such-page/"),
        "API": api.get("/api/contacts/"),
        "schema": api.get("/api/schema/"),
        "webhook": client.get(page_setup.webhook_path(connected_page)),
        "login": client.get("/login/"),
        "admin login": client.get("/admin/login/"),
    }
    policy = content_security_policy()
    missing = [name for name, r in responses.items() if r.get("Content-Security-Policy") != policy]
    assert missing == []
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    counts(
        "Content-Security-Policy",
        responses=len(responses),
        with_the_header=len(responses) - len(missing),
    )


def test_with_debug_on_djangos_own_error_pages_go_without_it(client, agent, settings):
    """Django's debug 404 and 500 pages are built with inline scripts and styles."""
    settings.DEBUG = True
    client.force_login(agent)
    assert "Content-Security-Policy" not in client.get("/no-such-page/")
    assert "Content-Security-Policy" in client.get("/desktop/")


INLINE_CODE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "hx-on": re.compile(r"\shx-on"),
    "evaluated trigger filter": re.compile(r"hx-trigger=\"[^\"]*\["),
    "javascript: URL or js: value": re.compile(r"(?:javascript|js):", re.I),
}


def test_no_template_needs_inline_code_or_eval(counts):
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) >= 20  # the scan found the templates
    found = [
        (str(path.relative_to(TEMPLATES)), what)
        for path in templates
        for what, pattern in INLINE_CODE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []
    counts("templates", scanned=len(templates), with_inline_code_or_eval=len(found))
