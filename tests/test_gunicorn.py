"""The app under gunicorn as "Running at scale" runs it (`gunicorn config.wsgi:application …`
from the repository's folder, so ./gunicorn.conf.py applies), with production settings (DEBUG=0)
on the test database. The test plays the TLS proxy: it sets X-Forwarded-Proto and
X-Forwarded-For as the proxy would.

gunicorn itself trusts X-Forwarded-Proto from the addresses of `--forwarded-allow-ips`
(127.0.0.1 by default): a proxy on the same machine. The TLS tests stand for a proxy on another
machine (gunicorn trusts some other address), so what they show is the app's own setting."""

import os
import secrets
import subprocess
import sys
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from messenger import setup as page_setup
from messenger.sandbox.facebook_webhooks import encode_like_facebook
from tests.processes import Process, free_port, wait_until
from tests.security.test_access import PRODUCTION_ENV, ROOT
from tests.test_production_defaults import REFUSED_POSTS, signed

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "support.example.com"
OTHER_MACHINE = "192.0.2.10"  # the proxy's address, as gunicorn is told (TEST-NET-1)


class Gunicorn:
    def __init__(self, process, port, access_log):
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = access_log

    def app_log_lines(self):
        """What the app and gunicorn wrote to stderr (the access log goes to its own file)."""
        return self.process.log().splitlines()

    def access_log_lines(self, count):
        """The access log once it has `count` lines: gunicorn writes a request's line just
        after its answer."""

        def lines():
            return self.access_log.read_text().splitlines()

        wait_until(lambda: len(lines()) >= count, timeout=10, message=f"{count} access log lines")
        return lines()

    def request(self, method, path, *, https=True, **kwargs):
        """A request as our TLS proxy forwards it: the client's address appended to
        X-Forwarded-For and, for a client that used https, X-Forwarded-Proto."""
        headers = {"Host": HOST, "X-Forwarded-For": "203.0.113.7", **kwargs.pop("headers", {})}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        return requests.request(
            method, self.url + path, headers=headers, allow_redirects=False, timeout=10, **kwargs
        )


@pytest.fixture(scope="module")
def collected_var_dir(tmp_path_factory):
    """A VAR_DIR after `manage.py collectstatic`, as a deploy runs it before gunicorn starts:
    with DEBUG=0 every page (the 404 page too) names its static files from the manifest."""
    var_dir = tmp_path_factory.mktemp("gunicorn-var")
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "SANDBOX")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env={**inherited, **PRODUCTION_ENV, "VAR_DIR": str(var_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return var_dir


@pytest.fixture
def start_gunicorn(process_env, settings, tmp_path, request, collected_var_dir):
    started = []

    def start(*, proxy_elsewhere=False, **env):
        port = free_port()
        access_log = tmp_path / f"access-{len(started)}.log"
        production = {
            **{k: v for k, v in process_env.items() if k not in ("SANDBOX", "BEHIND_TLS_PROXY")},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            # The test's keys, so the App Secret the test stored decrypts.
            "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEY),
            "VAR_DIR": str(collected_var_dir),
            **env,
        }
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(access_log),
        ]
        if proxy_elsewhere:  # not the test's 127.0.0.1
            args += ["--forwarded-allow-ips", OTHER_MACHINE]
        process = Process(f"{request.node.name}-gunicorn-{len(started)}", args, production)
        started.append(process)
        process.wait_for_output("Booting worker")
        return Gunicorn(process, port, access_log)

    yield start
    for process in started:
        process.stop()


def handshake_path(page, challenge="1158201444"):
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": page.verify_token,
        "hub.challenge": challenge,
    }
    return f"{page_setup.webhook_path(page)}?{urlencode(query)}"


# --- TLS proxy: SECURE_SSL_REDIRECT never loops ----------------------------------------------
def test_behind_the_tls_proxy_https_is_served_and_plain_http_redirects_once(
    connected_page, start_gunicorn
):
    server = start_gunicorn(BEHIND_TLS_PROXY="1", proxy_elsewhere=True)
    path = handshake_path(connected_page)

    served = server.request("GET", path)
    assert served.status_code == 200 and served.text == "1158201444"
    assert served.headers["Strict-Transport-Security"] == "max-age=31536000"

    redirected = server.request("GET", path, https=False)
    assert redirected.status_code == 301
    location = urlsplit(redirected.headers["Location"])
    assert (location.scheme, location.netloc) == ("https", HOST)
    # The browser follows it over https; the proxy forwards it with X-Forwarded-Proto: https.
    followed = server.request("GET", f"{location.path}?{location.query}")
    assert followed.status_code == 200 and followed.text == "1158201444"


@pytest.mark.parametrize(
    "proxy_elsewhere, status",
    [(True, 301), (False, 200)],
    ids=["proxy on another machine: a loop", "proxy on this machine: gunicorn trusts it"],
)
def test_without_behind_tls_proxy_only_gunicorn_can_tell_https(
    connected_page, start_gunicorn, proxy_elsewhere, status
):
    """The loop BEHIND_TLS_PROXY=1 prevents: when gunicorn does not trust the proxy either, the
    app takes a proxied https request for plain http and sends the browser to the very URL it
    asked for, again and again."""
    server = start_gunicorn(proxy_elsewhere=proxy_elsewhere)
    path = handshake_path(connected_page)
    response = server.request("GET", path)
    assert response.status_code == status
    if status == 301:
        assert response.headers["Location"] == f"https://{HOST}{path}"


# --- gunicorn's access log -------------------------------------------------------------------
def test_the_access_log_shows_webhook_urls_without_their_key_or_verify_token(
    connected_page, start_gunicorn
):
    server = start_gunicorn(BEHIND_TLS_PROXY="1")
    path = page_setup.webhook_path(connected_page)
    body = encode_like_facebook({"object": "page", "entry": []})
    statuses = [
        server.request("GET", handshake_path(connected_page)).status_code,
        server.request("POST", path, data=body).status_code,  # unsigned
        server.request("POST", path, data=body, headers=signed(body)).status_code,
    ]
    assert statuses == [200, 403, 200]

    lines = server.access_log_lines(len(statuses))
    assert len(lines) == len(statuses)
    assert all("/messenger/webhook/[redacted]/" in line for line in lines), lines
    assert "hub.verify_token=[redacted]&hub.challenge=1158201444" in lines[0]
    for secret in (connected_page.webhook_key, connected_page.verify_token):
        assert secret not in server.access_log.read_text()
        assert secret not in server.process.log()


# --- A refused post: one line in the app's log -----------------------------------------------
def test_each_refused_post_adds_one_line_to_the_app_log(connected_page, start_gunicorn, counts):
    server = start_gunicorn(BEHIND_TLS_PROXY="1")
    # A first answer means the worker has loaded the app (and logged its start-up lines).
    assert server.request("GET", handshake_path(connected_page)).status_code == 200
    added = {}
    for what, key, body, headers, status in REFUSED_POSTS:
        path = (
            page_setup.webhook_path(connected_page) if key is None else f"/messenger/webhook/{key}/"
        )
        before = len(server.app_log_lines())
        response = server.request("POST", path, data=body, headers=headers)
        assert response.status_code == status, what
        # The app writes its lines before the answer leaves, so they are all there by now.
        added[what] = server.app_log_lines()[before:]
    assert {what: len(lines) for what, lines in added.items()} == {what: 1 for what in added}, added
    assert all(" INFO messenger.webhooks webhook " in lines[0] for lines in added.values())
    assert connected_page.webhook_key not in server.process.log()
    counts(
        "refused posts under gunicorn",
        tried=len(added),
        app_log_lines=sum(len(lines) for lines in added.values()),
        access_log_lines=len(server.access_log_lines(1 + len(added))) - 1,  # less the GET
    )
