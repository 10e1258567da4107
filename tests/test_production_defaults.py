"""Safe production defaults: HSTS stays within this site unless asked, the sandbox and the
embedded services are caught by the system checks, a refused webhook post logs one line, logins
are counted per client address even behind a proxy, and the API schema needs a login.

(A real gunicorn behind a "proxy" is in tests/test_gunicorn.py.)"""

import logging

import pytest
from axes.models import AccessAttempt
from django.http import HttpResponse
from django.test import Client
from django.urls import resolve
from django.utils.log import log_response
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.logging import RedactSecrets
from messenger import setup as page_setup
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.conftest import PAGE, PASSWORD
from tests.security.test_access import PRODUCTION_ENV, PRODUCTION_SERVICES, ROOT, manage

DEPLOY_CHECK = ("check", "--deploy", "--fail-level", "WARNING")
EMBEDDED_SERVICES = {
    "DATABASE_URL": f"sqlite:///{ROOT / 'var' / 'test-settings' / 'db.sqlite3'}",
    "CELERY_BROKER_URL": "filesystem://",
}


def production(**env):
    """DEBUG=0 with the required settings on PostgreSQL + Redis, and `env` on top."""
    return {**PRODUCTION_ENV, **PRODUCTION_SERVICES, **env}


def hsts_header(env):
    """The Strict-Transport-Security header of an https response under these settings (an
    API answer: no template, no database)."""
    script = (
        "from django.test import Client\n"
        "r = Client().get('/api/contacts/', secure=True, HTTP_HOST='support.example.com')\n"
        "print(r.status_code, r['Strict-Transport-Security'])"
    )
    result = manage("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]  # after the shell's "… objects imported" line


# --- HSTS ------------------------------------------------------------------------------------
def test_hsts_covers_only_this_host_and_is_not_preloaded_unless_asked():
    assert hsts_header(production()) == "401 max-age=31536000"
    result = manage(*DEPLOY_CHECK, env=production())
    assert result.returncode == 0, result.stdout + result.stderr
    # Silenced on purpose while off: W005 (includeSubDomains) and W021 (preload).
    assert "System check identified no issues (2 silenced)." in result.stdout


def test_subdomains_and_preload_are_sent_when_set_and_nothing_is_silenced():
    env = production(SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1")
    assert hsts_header(env) == "401 max-age=31536000; includeSubDomains; preload"
    result = manage(*DEPLOY_CHECK, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_preload_without_subdomains_is_not_silenced():
    """Preload lists take a site only with includeSubDomains: Django's warning says so."""
    result = manage(*DEPLOY_CHECK, env=production(SECURE_HSTS_PRELOAD="1"))
    assert result.returncode != 0
    assert "security.W005" in result.stderr
    assert "security.W021" not in result.stderr


# --- The sandbox in production ---------------------------------------------------------------
def test_the_sandbox_with_debug_off_is_a_check_error_that_says_what_to_do():
    for command in (("check",), DEPLOY_CHECK, ("migrate", "--plan")):
        result = manage(*command, env=production(SANDBOX="1"))
        assert result.returncode != 0, command
        assert "(config.E001) SANDBOX is on while DEBUG is off" in result.stderr, command
        assert "Set SANDBOX=0" in result.stderr and "SANDBOX_IN_PRODUCTION=1" in result.stderr


def test_the_sandbox_in_production_runs_when_meant():
    env = production(SANDBOX="1", SANDBOX_IN_PRODUCTION="1")
    result = manage(*DEPLOY_CHECK, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config.E001" not in result.stdout + result.stderr
    script = "from django.urls import reverse; print(reverse('sandbox:simulator'))"
    served = manage("shell", "-c", script, env=env)
    assert served.stdout.splitlines()[-1] == "/sandbox/simulator/", served.stderr


# --- The embedded services in production -----------------------------------------------------
@pytest.mark.parametrize(
    "services, warned, fix",
    [
        ({"DATABASE_URL": EMBEDDED_SERVICES["DATABASE_URL"]}, "config.W001", "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "config.W002", "CELERY_BROKER_URL"),
    ],
    ids=["sqlite", "filesystem broker"],
)
def test_an_embedded_service_with_debug_off_is_a_deploy_warning_naming_the_fix(
    services, warned, fix
):
    result = manage(*DEPLOY_CHECK, env=production(**services))
    assert result.returncode != 0
    warnings = [line for line in result.stderr.splitlines() if "(config.W" in line]
    assert len(warnings) == 1 and warned in warnings[0], result.stderr
    assert f"HINT: Set {fix} to " in result.stderr


def test_the_embedded_services_are_fine_in_development():
    result = manage(*DEPLOY_CHECK, env={**EMBEDDED_SERVICES, "DEBUG": "1"})
    assert "config.W00" not in result.stdout + result.stderr


# --- A refused webhook post logs one line ----------------------------------------------------
BODY = encode_like_facebook({"object": "page", "entry": []})


def signed(body):
    return signature_headers(body, PAGE["app_secret"])


REFUSED_POSTS = [
    # (what, key or None for the page's, body, headers, status)
    ("unsigned", None, BODY, {}, 403),
    ("wrong signature", None, BODY, {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403),
    ("signed, not JSON", None, b"not json", signed(b"not json"), 400),
    ("unknown key", "no-such-key", BODY, signed(BODY), 404),
]


# Not posted to the real gunicorn (tests/test_gunicorn.py): it answers 413 before reading the
# body, and a client still sending may see the connection reset instead of the answer.
OVER_ONE_MIB = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
REFUSED_IN_PROCESS = [*REFUSED_POSTS, ("over 1 MiB", None, OVER_ONE_MIB, {}, 413)]


@pytest.mark.parametrize(
    "what, key, body, headers, status", REFUSED_IN_PROCESS, ids=[c[0] for c in REFUSED_IN_PROCESS]
)
def test_a_refused_webhook_post_logs_exactly_one_record(
    client, connected_page, caplog, what, key, body, headers, status
):
    path = page_setup.webhook_path(connected_page) if key is None else f"/messenger/webhook/{key}/"
    caplog.clear()
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == status
    assert WebhookDelivery.objects.count() == 0
    # Every record any logger let through (django.request's "Forbidden: …" included).
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert len(records) == 1, records
    name, level, message = records[0]
    assert (name, level) == ("messenger.webhooks", "INFO")
    assert "refused" in message
    assert connected_page.webhook_key not in message


def test_django_still_logs_a_server_error_at_the_webhook(rf, caplog):
    """What the filter keeps: a 500 (an unhandled error, with its traceback), through Django's
    own log_response; the same call for a refusal the view chose is dropped."""
    path = "/messenger/webhook/some-key/"
    request = rf.post(path)
    request.resolver_match = resolve(path)
    for status in (403, 500):
        log_response("%s: %s", status, path, response=HttpResponse(status=status), request=request)
    assert [(r.name, r.levelname, r.status_code) for r in caplog.records] == [
        ("django.request", "ERROR", 500)
    ]


def test_django_logs_show_webhook_urls_without_their_key():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/messenger/webhook/Zx9_secretKey-42/",),
        None,
    )
    RedactSecrets().filter(record)
    assert record.getMessage() == "Not Found: /messenger/webhook/[redacted]/"


# --- Login rate limiting keys on the client's address ----------------------------------------
def fail_logins(username, *, remote_addr, forwarded_for):
    """Five wrong passwords, each from a new Client, with X-Forwarded-For from `forwarded_for`
    (a function of the attempt's number); the statuses."""
    return [
        Client()
        .post(
            "/login/",
            {"username": username, "password": f"wrong-{n}"},
            REMOTE_ADDR=remote_addr,
            HTTP_X_FORWARDED_FOR=forwarded_for(n),
        )
        .status_code
        for n in range(5)
    ]


def login_from(username, *, remote_addr, forwarded_for=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    client = Client()
    response = client.post(
        "/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR=remote_addr, **extra
    )
    return response.status_code


def test_without_a_proxy_a_forged_forwarded_for_does_not_dodge_the_lock(agent, settings, counts):
    settings.BEHIND_TLS_PROXY = False
    statuses = fail_logins(
        "alex", remote_addr="203.0.113.7", forwarded_for=lambda n: f"198.51.100.{n}"
    )
    assert statuses == [200, 200, 200, 200, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    assert login_from("alex", remote_addr="203.0.113.7", forwarded_for="192.0.2.1") == 429
    counts(
        "forged X-Forwarded-For without a proxy",
        tried=len(statuses),
        locked_at_attempt=statuses.index(429) + 1,
        addresses_counted=AccessAttempt.objects.values("ip_address").distinct().count(),
    )


def test_behind_the_proxy_the_address_it_appended_is_counted(agent, admin_user, settings, counts):
    settings.BEHIND_TLS_PROXY = True
    proxy = "10.0.0.2"  # every connection comes from the proxy
    # The client makes up a new first address each time; the proxy appends the real one.
    statuses = fail_logins(
        "alex", remote_addr=proxy, forwarded_for=lambda n: f"198.51.100.{n}, 203.0.113.7"
    )
    assert statuses == [200, 200, 200, 200, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    # Another customer behind the same proxy logs in as that username: not locked.
    other_client = login_from("alex", remote_addr=proxy, forwarded_for="192.0.2.44")
    assert other_client == 302
    # A request that did not come through the proxy is counted by its connection.
    Client().post("/login/", {"username": "ada", "password": "wrong"}, REMOTE_ADDR="192.0.2.99")
    assert AccessAttempt.objects.get(username="ada").ip_address == "192.0.2.99"
    counts(
        "X-Forwarded-For behind the proxy",
        tried=len(statuses),
        locked_at_attempt=statuses.index(429) + 1,
        other_client_locked_out=int(other_client == 429),
    )


# --- The API schema --------------------------------------------------------------------------
def test_the_api_schema_needs_a_login(agent):
    anonymous = APIClient().get("/api/schema/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert b"/api/contacts/" not in anonymous.content

    session = Client()
    session.force_login(agent)
    assert session.get("/api/schema/").status_code == 200

    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    by_token = token.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert by_token.status_code == 200
    assert "/api/contacts/" in by_token.json()["paths"]
