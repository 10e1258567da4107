"""Who may do what: production settings pass `check --deploy`, every POST needs a CSRF token,
an agent of one campaign gets 404 on another campaign's contacts in every view and endpoint,
logins are rate limited, the sandbox is unreachable when off, and pictures are downloaded only
from Facebook's hosts (SSRF)."""

import importlib
import os
import re
import secrets
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import (
    NoReverseMatch,
    URLPattern,
    URLResolver,
    clear_url_caches,
    get_resolver,
    reverse,
)
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop.models import Contact, Message
from campaigns.models import Campaign, EntryPoint
from config import remote_urls
from messenger import graph, services
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]

# --- Production settings ---------------------------------------------------------------------
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "support.example.com",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "PUBLIC_BASE_URL": "https://support.example.com",
}

# Every action of the desktop's conversation header (agent_desktop.views.contact_action).
WORKFLOW_ACTIONS = [
    "claim",
    "release",
    "close",
    "transfer",
    "reopen",
    "pending",
    "snooze",
    "take-over",
]


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    # Test-only variables would fail the deploy check (async.E001) or pick the test settings.
    for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "SANDBOX"):
        clean.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env, "VAR_DIR": str(ROOT / "var" / "test-settings")},
        capture_output=True,
        text=True,
        timeout=60,
    )


# Production runs on PostgreSQL and Redis (the embedded defaults get a warning); the check
# itself connects to neither.
PRODUCTION_SERVICES = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/campaigns",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def test_production_settings_pass_check_deploy_without_a_warning():
    env = {**PRODUCTION_ENV, **PRODUCTION_SERVICES}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_a_real_value(missing):
    env = {**PRODUCTION_ENV, missing: ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_production_has_no_sandbox_and_sends_the_security_headers():
    # Production pages name their static files from collectstatic's manifest.
    collected = manage("collectstatic", "--noinput", env=PRODUCTION_ENV)
    assert collected.returncode == 0, collected.stderr
    script = (
        "from django.conf import settings; from django.test import Client; "
        "from django.urls import Resolver404, resolve\n"
        "for path in ('/sandbox/simulator/', '/sandbox/graph/v25.0/me'):\n"
        "    try: resolve(path); print('reachable', path)\n"
        "    except Resolver404: print('unreachable', path)\n"
        "r = Client().get('/login/', secure=True, HTTP_HOST='support.example.com')\n"
        "print('sandbox', settings.SANDBOX, r.status_code)\n"
        "for h in ('Content-Security-Policy', 'Strict-Transport-Security', "
        "'X-Content-Type-Options', 'X-Frame-Options'): print(h, bool(r.get(h)))"
    )
    result = manage("shell", "-c", script, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "unreachable /sandbox/simulator/" in lines
    assert "unreachable /sandbox/graph/v25.0/me" in lines
    assert "sandbox False 200" in lines
    assert [line for line in lines if line.endswith(" True")] == [
        "Content-Security-Policy True",
        "Strict-Transport-Security True",
        "X-Content-Type-Options True",
        "X-Frame-Options True",
    ]


def test_the_sandbox_is_unreachable_when_off(client, admin_client, settings, counts):
    import config.urls

    paths = [
        "/sandbox/graph/v25.0/me",
        "/sandbox/simulator/",
        "/sandbox/simulator/1/6500000000000001/",
        "/sandbox/simulator/1/6500000000000001/thread/",
    ]
    settings.SANDBOX = False
    try:
        clear_url_caches()
        importlib.reload(config.urls)
        with pytest.raises(NoReverseMatch):
            reverse("sandbox:simulator")
        statuses = [c.get(p).status_code for c in (client, admin_client) for p in paths]
        statuses += [admin_client.post(p).status_code for p in paths]
        assert "Customer simulator" not in admin_client.get("/campaigns/").content.decode()
    finally:
        settings.SANDBOX = True
        importlib.reload(config.urls)
        clear_url_caches()
    assert statuses == [404] * len(statuses)
    counts("sandbox off", requests=len(statuses), answered_404=statuses.count(404))


# --- CSRF ------------------------------------------------------------------------------------
def walk(patterns, prefix="", namespace=""):
    """(route, name, view) of every URL pattern, with its namespace."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


# Views that take POSTs from Facebook (signed) or from the fake Graph API's callers, not from a
# browser session. The REST API is exempt from Django's check because DRF makes its own: a
# session-authenticated write needs the token (token-authenticated ones carry no cookie). The
# website chat's visitor API is authenticated by a Bearer token only, never by a cookie.
CSRF_EXEMPT = {
    "messenger:webhook",
    "sandbox:graph",
    *{f"webchat:{name}" for name in ("config", "session", "messages", "read", "typing", "survey")},
}


def test_no_browser_view_is_exempt_from_csrf():
    exempt = {
        name
        for route, name, view in walk(get_resolver().url_patterns)
        if getattr(view, "csrf_exempt", False) and not route.startswith("api/")
    }
    assert exempt == CSRF_EXEMPT


def post_urls(connected_page, contact, message):
    ep, campaign = connected_page.entry_point_id, connected_page.entry_point.campaign_id
    services.store_delivery(page_id=connected_page.pk, body="{}")
    delivery_id = WebhookDelivery.objects.latest("pk").pk
    return [
        "/logout/",
        "/campaigns/new/",
        f"/campaigns/{campaign}/edit/",
        f"/campaigns/{campaign}/active/",
        f"/campaigns/{campaign}/entry-points/new/",
        f"/campaigns/entry-points/{ep}/",
        f"/campaigns/entry-points/{ep}/webhook/",
        f"/campaigns/entry-points/{ep}/health/",
        f"/campaigns/entry-points/{ep}/deliveries/{delivery_id}/",
        f"/desktop/contacts/{contact.pk}/reply/",
        f"/desktop/contacts/{contact.pk}/refresh-profile/",
        *[f"/desktop/contacts/{contact.pk}/{a}/" for a in WORKFLOW_ACTIONS],
        "/sandbox/simulator/",
        f"/sandbox/simulator/{ep}/6500000000000001/",
        "/admin/campaigns/campaign/add/",
        f"/admin/campaigns/campaign/{campaign}/change/",
        f"/admin/agent_desktop/message/{message.pk}/delete/",
        "/admin/messenger/webhookdelivery/",
        "/admin/logout/",
    ]


def test_every_form_needs_its_csrf_token(connected_page, admin_user, agent, counts):
    contact = Contact.objects.create(
        channel="messenger", entry_point=connected_page.entry_point, external_id="65001"
    )
    message = Message.objects.create(
        contact=contact, direction="in", text="hi", mid="m_csrf", sent_at=timezone.now()
    )
    admin_user.is_superuser = admin_user.is_staff = True
    admin_user.save()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    urls = post_urls(connected_page, contact, message)
    before = state_of(contact)
    refused = {url: browser.post(url, {"text": "x", "name": "x"}).status_code for url in urls}
    # Logging in (before any session exists) needs it too.
    anonymous = Client(enforce_csrf_checks=True)
    refused["/login/"] = anonymous.post(
        "/login/", {"username": "ada", "password": PASSWORD}
    ).status_code
    # The API with a session cookie: DRF checks the token too.
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(agent)
    contact.entry_point.campaign.agents.add(agent)
    refused["API claim"] = api.post(f"/api/contacts/{contact.pk}/claim/").status_code
    assert {url: s for url, s in refused.items() if s != 403} == {}
    after = state_of(contact)
    assert after == before
    counts(
        "CSRF",
        posts_without_a_token=len(refused),
        refused_403=sum(s == 403 for s in refused.values()),
        changed_anything=sum(b != a for b, a in zip(before, after, strict=True)),
    )


def state_of(contact):
    """What a forged POST could change: the contact, the messages, campaigns, entry points."""
    contact = Contact.objects.get(pk=contact.pk)
    return (
        contact.status,
        contact.assigned_to_id,
        Message.objects.count(),
        Campaign.objects.count(),
        EntryPoint.objects.count(),
    )


FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def test_every_post_form_on_the_pages_carries_the_token(admin_client, connected_page, counts):
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id="65002",
        last_inbound_at=timezone.now(),
        last_message_at=timezone.now(),
    )
    ep, campaign = connected_page.entry_point_id, connected_page.entry_point.campaign_id
    pages = [
        "/campaigns/",
        "/campaigns/new/",
        f"/campaigns/{campaign}/",
        f"/campaigns/{campaign}/edit/",
        f"/campaigns/entry-points/{ep}/",
        f"/campaigns/entry-points/{ep}/webhook/",
        f"/campaigns/entry-points/{ep}/health/",
        "/desktop/",
        f"/desktop/contacts/{contact.pk}/",
        "/sandbox/simulator/",
    ]
    forms, without = 0, []
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert 'hx-headers=\'{"X-CSRFToken": "' in html or url.endswith("/health/")
        for form in FORM.findall(html):
            if re.search(r"method=[\"']?post", form, re.I):
                forms += 1
                if 'name="csrfmiddlewaretoken"' not in form:
                    without.append((url, form[:80]))
    assert without == []
    assert forms >= 10
    counts("POST forms on the pages", forms=forms, with_the_csrf_token=forms - len(without))


# --- Isolation between campaigns -------------------------------------------------------------
def test_an_agent_gets_404_on_another_campaigns_contacts_everywhere(
    connected_page, agent, other_campaign, counts
):
    theirs_ep = page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Theirs")
    theirs = Contact.objects.create(
        channel="messenger",
        entry_point=theirs_ep,
        external_id="6599990000000001",
        first_name="Theodora",
    )
    their_message = Message.objects.create(
        contact=theirs, direction="in", text="their secret words", mid="m_t", sent_at=timezone.now()
    )
    client = Client()
    client.force_login(agent)
    answers = []
    # Every desktop URL that takes an id, found in the URL configuration (new views included).
    for route, name, _ in walk(get_resolver().url_patterns):
        if not (name or "").startswith("agent_desktop:") or "<int:pk>" not in route:
            continue
        pk = their_message.pk if "messages/" in route else theirs.pk
        kwargs = {"pk": pk}
        actions = [*WORKFLOW_ACTIONS, "anything"] if "<slug:action>" in route else [None]
        for action in actions:
            url = reverse(name, kwargs={**kwargs, **({"action": action} if action else {})})
            for method in ("get", "post"):
                response = getattr(client, method)(url, {"text": "hi", "to": agent.pk})
                answers.append((method.upper(), url, response.status_code, response.content))
    # The list and the search never show them either.
    for params in (
        {},
        {"q": "Theo"},
        {"q": "0001"},
        {"filter": "closed"},
        {"filter": "unassigned"},
    ):
        for url in ("/desktop/", "/desktop/list/"):
            response = client.get(url, params)
            assert "Theodora" not in response.content.decode()

    # Every API path of the schema that takes a contact id, with every method it has.
    api = APIClient()
    api.force_authenticate(agent)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/contacts/{id}"):
            continue
        url = path.replace("{id}", str(theirs.pk))
        for method in operations:
            response = getattr(api, method)(url, {"text": "hi", "to": agent.pk}, format="json")
            answers.append((method.upper(), url, response.status_code, response.content))
    for params in (
        {},
        {"campaign": other_campaign.pk},
        {"entry_point": theirs_ep.pk},
        {"q": "Theo"},
    ):
        assert api.get("/api/contacts/", params).json()["results"] == []
    assert api.get(f"/api/campaigns/{other_campaign.pk}/").status_code == 404
    assert api.get(f"/api/entry-points/{theirs_ep.pk}/").status_code == 403

    # Both walks found their URLs (an empty walk would prove nothing).
    assert {url.split("/")[1] for _, url, _, _ in answers} == {"desktop", "api"}
    # GET on a POST-only view answers 405 before any look-up; everything else is 404.
    wrong = [
        (method, url, status)
        for method, url, status, _ in answers
        if status != 404 and not (method == "GET" and status == 405)
    ]
    assert wrong == []
    showed = [
        url for _, url, _, body in answers if b"their secret words" in body or b"Theodora" in body
    ]
    assert showed == []
    theirs.refresh_from_db()
    changed = [
        name
        for name, value, untouched in (
            ("status", theirs.status, "new"),
            ("assigned_to", theirs.assigned_to, None),
            ("unread_count", theirs.unread_count, 0),
            ("replies", Message.objects.filter(contact=theirs, direction="out").count(), 0),
        )
        if value != untouched
    ]
    assert changed == []
    counts(
        "another campaign's contact",
        requests=len(answers),
        answered_404=sum(s == 404 for _, _, s, _ in answers),
        answered_405=sum(s == 405 for _, _, s, _ in answers),
        showed_their_data=len(showed),
        changed_their_contact=len(changed),
    )


# --- Login rate limiting ---------------------------------------------------------------------
def login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def test_five_failed_logins_lock_the_username_from_that_address_for_15_minutes(
    client, agent, admin_user, counts
):
    statuses = [login(client, "alex", f"wrong-{n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    locked = login(client, "alex", PASSWORD)  # the right password, too late
    html = locked.content.decode()
    assert locked.status_code == 429
    assert "Too many failed logins for this username" in html and "paused for 15 minutes" in html
    assert "_auth_user_id" not in client.session
    # The admin site's login shares the count.
    admin_login = client.post("/admin/login/", {"username": "alex", "password": PASSWORD})
    assert admin_login.status_code == 429
    right_password_refused = [locked.status_code, admin_login.status_code].count(429)
    # Another username from the same address, and the same username from another address, are
    # not locked.
    others = [
        login(Client(), "ada", PASSWORD).status_code,
        login(Client(), "alex", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code,
    ]
    assert others == [302, 302]
    # Fifteen minutes later the lock is gone.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert login(client, "alex", PASSWORD).status_code == 302
    counts(
        "login rate limiting",
        wrong_passwords=len(statuses),
        locked_at_attempt=statuses.index(429) + 1,
        right_password_refused_while_locked=right_password_refused,
        other_user_or_address_refused=sum(status != 302 for status in others),
    )


# --- SSRF ------------------------------------------------------------------------------------
class Recorder(ThreadingHTTPServer):
    """A server on loopback that records every request; optionally redirects elsewhere."""

    def __init__(self, redirect_to=None):
        self.hits, self.redirect_to = [], redirect_to
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.hits.append(self.path)
                if recorder.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", recorder.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"\x89PNG internal secret"
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


@pytest.fixture
def internal_service():
    server = Recorder()
    yield server
    server.shutdown()
    server.server_close()


REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "https://evil.example.com/a.png",
    "https://fbcdn.net.evil.com/x.png",
    "https://scontent.xx.fbcdn.net.evil.com/x.png",
    "https://evil.com/#.fbcdn.net",
    "https://evil.com/?.fbcdn.net",
    "https://scontent.xx.fbcdn.net@evil.com/x.png",
    "file:///etc/passwd",
    "ftp://scontent.xx.fbcdn.net/x.png",
    "gopher://scontent.xx.fbcdn.net/x.png",
    "http://[::1]/x.png",
    "http://0x7f000001/x.png",
    "http://2130706433/x.png",
    "http://[invalid",
    "javascript:alert(1)",
    "",
]


def test_pictures_come_only_from_facebook_hosts(settings, internal_service, counts):
    settings.FACEBOOK_MEDIA_HOSTS = [".fbcdn.net", ".fbsbx.com", ".facebook.com"]
    urls = [*REFUSED_URLS, f"http://localhost:{internal_service.port}/x.png"]
    tried, refused = 0, 0
    for url in urls:
        tried += 1
        with pytest.raises(graph.MediaRefused):
            graph.fetch_media(url, max_bytes=10)
        refused += 1
    assert internal_service.hits == []
    for url in ("https://scontent.xx.fbcdn.net/v/a.jpg", "HTTPS://CDN.FBSBX.COM/f.png"):
        assert remote_urls.is_media_url(url)
    counts(
        "picture URLs off Facebook's hosts",
        tried=tried,
        refused=refused,
        fetched=len(internal_service.hits),
    )


def test_an_allowed_host_cannot_redirect_a_download_elsewhere(settings, internal_service):
    bouncer = Recorder(redirect_to=f"http://localhost:{internal_service.port}/secret.png")
    settings.GRAPH_API_URL = f"http://127.0.0.1:{bouncer.port}/v25.0"  # the one allowed host
    try:
        with pytest.raises(graph.GraphError):
            graph.fetch_media(f"http://127.0.0.1:{bouncer.port}/pic.png", max_bytes=100)
    finally:
        bouncer.shutdown()
        bouncer.server_close()
    assert bouncer.hits == ["/pic.png"] and internal_service.hits == []


def test_a_profile_whose_picture_points_inside_is_kept_without_it(
    connected_page, fake_graph, internal_service, monkeypatch, counts
):
    """Graph's answer names the picture's URL: one that is not Facebook's is never fetched."""
    targets = [
        f"http://localhost:{internal_service.port}/admin.png",
        f"http://127.0.0.1.nip.io:{internal_service.port}/x.png",
        "http://169.254.169.254/latest/meta-data/",
    ]
    picture_of = {f"650000000000{n:04d}": target for n, target in enumerate(targets)}
    monkeypatch.setattr(fake_graph, "profile_pic_url", picture_of.get)
    contacts = [
        Contact.objects.create(
            channel="messenger", entry_point=connected_page.entry_point, external_id=psid
        )
        for psid in picture_of
    ]
    assert services.fetch_profiles([contact.pk for contact in contacts]) == []
    profiles_given = [c for c in fake_graph.calls if c.path.lstrip("/") in picture_of]
    stored = Contact.objects.filter(pk__in=[contact.pk for contact in contacts])
    assert len(profiles_given) == len(contacts)
    assert all(contact.first_name for contact in stored)  # the profile itself is kept
    kept = [contact.profile_pic.name for contact in stored if contact.profile_pic]
    assert kept == []
    assert internal_service.hits == []
    counts(
        "profile pictures pointing inside",
        tried=len(profiles_given),
        fetched=len(internal_service.hits),
        kept=len(kept),
    )
