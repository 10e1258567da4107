"""SSRF and media from elsewhere (issue 11, item 3): one URL check (config.remote_urls) for every
URL the app downloads or shows, parsed the way the HTTP client and browsers parse it.

A listener on 127.0.0.1 counts every connection made to it: a bypass would show as one."""

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent_desktop.models import Contact, Message
from config import remote_urls
from config.middleware import content_security_policy
from messenger import graph
from messenger.sandbox.facebook_webhooks import now_ms, page_body, post_signed
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.processes import wait_until

PRODUCTION_MEDIA_HOSTS = [".fbcdn.net", ".fbsbx.com", ".facebook.com"]
PROBE_PICTURE = "http://127.0.0.1:{port}\\@scontent.xx.fbcdn.net/x.png"
PROBE_ATTACHMENT = "https://evil.example\\@video.xx.fbcdn.net/v.mp4"


class Listener:
    """A TCP server on 127.0.0.1 that accepts and counts connections (and answers nothing)."""

    def __init__(self):
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed
                return
            self.connections += 1
            connection.close()

    def close(self):
        self._socket.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def production_hosts(settings):
    settings.FACEBOOK_MEDIA_HOSTS = PRODUCTION_MEDIA_HOSTS
    return settings


# Refused everywhere: as media and as links. `{port}` is the listener's.
MALFORMED = {
    "the probe's picture: backslash before @": PROBE_PICTURE,
    "the probe's attachment: backslash before @": PROBE_ATTACHMENT,
    "backslash as a path separator": "https://127.0.0.1:{port}\\scontent.xx.fbcdn.net/x.png",
    "user info": "https://user:secret@scontent.xx.fbcdn.net/x.png",
    "Facebook's host as user info": "https://scontent.xx.fbcdn.net@127.0.0.1:{port}/x.png",
    "Facebook's host as user info, no port": "https://scontent.xx.fbcdn.net@127.0.0.1/x.png",
    "two @": "https://a@scontent.xx.fbcdn.net@127.0.0.1:{port}/x.png",
    "an encoded @": "https://127.0.0.1:{port}%40scontent.xx.fbcdn.net/x.png",
    "a port that is not the scheme's": "https://scontent.xx.fbcdn.net:8443/x.png",
    "the listener's port": "https://scontent.xx.fbcdn.net:{port}/x.png",
    "an empty port": "https://scontent.xx.fbcdn.net:/x.png",
    "IPv4 literal": "https://127.0.0.1/x.png",
    "IPv4 literal and port": "http://127.0.0.1:{port}/x.png",
    "cloud metadata address": "http://169.254.169.254/latest/meta-data/",
    "private address": "https://10.0.0.1/x.png",
    "decimal IPv4": "https://2130706433/x.png",
    "hexadecimal IPv4": "https://0x7f000001/x.png",
    "octal IPv4": "https://0177.0.0.1/x.png",
    "short IPv4": "https://127.1/x.png",
    "IPv6 loopback": "https://[::1]/x.png",
    "IPv6 loopback and port": "http://[::1]:{port}/x.png",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]/x.png",
    "IPv4-mapped IPv6 and port": "http://[::ffff:127.0.0.1]:{port}/x.png",
    "IPv4-mapped IPv6, hex": "http://[::ffff:7f00:1]/x.png",
    "localhost": "http://localhost:{port}/x.png",
    "localhost, no port": "https://localhost/x.png",
    "unicode ideographic dots": "https://scontent\u3002xx\u3002fbcdn\u3002net/x.png",
    "unicode fullwidth dots": "https://scontent\uff0exx\uff0efbcdn\uff0enet/x.png",
    "a trailing dot": "https://scontent.xx.fbcdn.net./x.png",
    "an empty label": "https://scontent..fbcdn.net/x.png",
    "a percent-encoded host": "https://scontent.xx.fbcdn%2enet/x.png",
    "a tab in the host": "https://scontent.xx.fbcdn.net\t.evil.example/x.png",
    "a newline in the host": "https://scontent.xx.fbcdn.net\n.evil.example/x.png",
    "a leading space": " https://scontent.xx.fbcdn.net/x.png",
    "scheme-relative": "//scontent.xx.fbcdn.net/x.png",
    "no slashes": "https:scontent.xx.fbcdn.net/x.png",
    "three slashes": "https:///scontent.xx.fbcdn.net/x.png",
    "javascript:": "javascript:alert(1)//scontent.xx.fbcdn.net/x.png",
    "data:": "data:image/png;base64,iVBORw0KGgo=",
    "file:": "file:///etc/passwd",
    "ftp:": "ftp://scontent.xx.fbcdn.net/x.png",
    "gopher:": "gopher://127.0.0.1:{port}/_x",
    "an invalid IPv6 literal": "http://[invalid/x.png",
    "empty": "",
}
# Well-formed links anyone may share, but not Facebook media: refused as sources and downloads.
NOT_FACEBOOK = {
    "another host": "https://evil.example/x.png",
    "Facebook's name as a prefix": "https://scontent.xx.fbcdn.net.evil.example/x.png",
    "Facebook's name as a suffix without a dot": "https://evilfbcdn.net/x.png",
    "Facebook's name in the fragment": "https://evil.example/#.fbcdn.net",
    "Facebook's name in the query": "https://evil.example/?.fbcdn.net",
    "plain http": "http://scontent.xx.fbcdn.net/x.png",
}
FACEBOOK_MEDIA = [
    "https://scontent.xx.fbcdn.net/v/t1.15752-9/471234567_n.jpg?_nc_cat=1&ccb=1-7&oh=03_Q7&oe=67A1",
    "https://video.xx.fbcdn.net/v/t42.3356-2/481234567_n.mp4?_nc_cat=1",
    "https://cdn.fbsbx.com/v/t59.2708-21/481234567_n.pdf/invoice-4521.pdf?_nc_cat=1",
    "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=6512345678901234&width=1024",
    "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fproduct%2F42",
    "HTTPS://SCONTENT.XX.FBCDN.NET/v/a.jpg",
    "https://scontent.xx.fbcdn.net:443/v/a.jpg",
    "https://fbcdn.net/a.jpg",
]


def test_every_bypass_is_refused_and_nothing_connects(production_hosts, listener, counts):
    attempts = {**MALFORMED, **NOT_FACEBOOK}
    refused_as_media = refused_as_link = 0
    for label, template in attempts.items():
        url = template.format(port=listener.port)
        assert not remote_urls.is_media_url(url), label
        with pytest.raises(graph.MediaRefused):
            graph.fetch_media(url, max_bytes=10_000)
        refused_as_media += 1
        if label in MALFORMED:
            assert not remote_urls.is_link_url(url), label
            refused_as_link += 1
        else:
            assert remote_urls.is_link_url(url), label  # a link to click stays a link
    assert listener.connections == 0
    counts(
        "URL bypass attempts",
        tried=len(attempts),
        refused_as_media=refused_as_media,
        refused_as_links=refused_as_link,
        connections=listener.connections,
    )


def test_facebook_media_urls_are_accepted(production_hosts):
    accepted = [url for url in FACEBOOK_MEDIA if remote_urls.is_media_url(url)]
    assert accepted == FACEBOOK_MEDIA


def test_the_http_client_itself_would_have_connected_to_the_probes_address(listener):
    """Why the check refuses what it can't parse alike: for the HTTP client, the probe's URL is
    on 127.0.0.1 (Python's urlsplit says scontent.xx.fbcdn.net)."""
    with pytest.raises(requests.RequestException):
        requests.get(PROBE_PICTURE.format(port=listener.port), timeout=2)
    wait_until(lambda: listener.connections == 1, message="the client's connection")


# --- Names that resolve inside ---------------------------------------------------------------
@pytest.fixture
def dns(monkeypatch):
    """Make chosen names resolve to chosen addresses ({name: [addresses]}); others as usual."""
    answers = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["127.0.0.2"],
        ["10.1.2.3"],
        ["192.168.1.10"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["0.0.0.0"],  # noqa: S104 (an answer, not a bind)
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["fd00::1"],
        ["fe80::1"],
        ["157.240.1.1", "127.0.0.1"],  # one inside is enough
    ],
    ids=lambda addresses: "+".join(addresses),
)
def test_a_facebook_name_that_resolves_inside_is_never_connected_to(
    production_hosts, dns, listener, addresses
):
    name = "scontent.xx.fbcdn.net"
    dns[name] = addresses
    url = f"https://{name}/v/x.png"
    assert remote_urls.is_media_url(url)  # the name itself is fine
    with pytest.raises(graph.MediaRefused, match="not public"):
        graph.fetch_media(url, max_bytes=10_000)
    assert listener.connections == 0


def test_the_name_is_resolved_once_and_the_checked_address_connected_to(settings, monkeypatch):
    """No DNS rebinding between the check and the connection: the URL's name is looked up once,
    the connection goes to that address, and the Host header keeps the name."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers["Host"]))
            body = b"picture"
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    # The sandbox's fake Graph API, by a name: the one host allowed to be on loopback.
    settings.GRAPH_API_URL = f"http://localhost:{port}/v25.0"
    lookups = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        data, content_type = graph.fetch_media(f"http://localhost:{port}/pics/1.png", max_bytes=100)
    finally:
        server.shutdown()
        server.server_close()
    assert (data, content_type) == (b"picture", "image/png")
    assert seen == [("/pics/1.png", f"localhost:{port}")]
    assert lookups.count("localhost") == 1
    assert set(lookups) <= {"localhost", "127.0.0.1", "::1"}  # then only the address itself


def test_an_address_that_refuses_is_followed_by_the_next_one_checked(settings, dns):
    """Like the HTTP client, the next resolved address when one refuses; still no new lookup."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.GRAPH_API_URL = f"http://fake-graph.test:{port}/v25.0"
    dns["fake-graph.test"] = ["127.0.0.2", "127.0.0.1"]  # nothing listens on the first
    try:
        got = graph.fetch_media(f"http://fake-graph.test:{port}/pics/1.png", max_bytes=10)
    finally:
        server.shutdown()
        server.server_close()
    assert got == (b"ok", "image/png")
    assert seen == [f"fake-graph.test:{port}"]


def test_the_sandbox_is_allowed_only_below_its_own_base_url(settings, listener):
    settings.GRAPH_API_URL = f"http://127.0.0.1:{listener.port}/sandbox/graph/v25.0"
    base = f"http://127.0.0.1:{listener.port}/sandbox/graph"
    assert remote_urls.is_media_url(f"{base}/pics/1.png")
    for url in (
        f"http://127.0.0.1:{listener.port}/admin/",
        f"{base}/../../admin/",
        f"{base}/./pics/1.png",
        f"{base}.evil/pics/1.png",
        f"https://127.0.0.1:{listener.port}/sandbox/graph/pics/1.png",
        f"http://127.0.0.1:{listener.port + 1}/sandbox/graph/pics/1.png",
        f"http://127.0.0.1:{listener.port}\\@scontent.xx.fbcdn.net/sandbox/graph/pics/1.png",
    ):
        assert not remote_urls.is_media_url(url), url
    assert listener.connections == 0


# --- TLS to a pinned address -----------------------------------------------------------------
def _certificate(tmp_path, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for scontent.xx.fbcdn.net."""
    cert, key = _certificate(tmp_path, "scontent.xx.fbcdn.net")
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.seen, server.cert = seen, cert
    yield server
    server.shutdown()
    server.server_close()


def test_tls_to_the_checked_address_verifies_the_urls_name(tls_server, tmp_path):
    port = tls_server.server_address[1]

    def get(name, ca_certs):
        remote = remote_urls.RemoteURL(f"https://{name}/x.png", "https", name, port, "/x.png")
        pool = graph.media_connection(remote, "127.0.0.1", timeout=5, ca_certs=str(ca_certs))
        try:
            return pool.urlopen("GET", "/x.png", headers={"Host": name}, retries=False)
        finally:
            pool.close()

    assert get("scontent.xx.fbcdn.net", tls_server.cert).data == b"ok"
    assert tls_server.seen == ["scontent.xx.fbcdn.net"]
    other, _ = _certificate(tmp_path, "video.xx.fbcdn.net")
    with pytest.raises(urllib3.exceptions.SSLError, match=r"(?i)hostname|certificate"):
        get("video.xx.fbcdn.net", tls_server.cert)  # the certificate is not for that name
    with pytest.raises(urllib3.exceptions.SSLError, match=r"(?i)certificate"):
        get("scontent.xx.fbcdn.net", other)  # signed by no CA we trust


# --- The Content-Security-Policy -------------------------------------------------------------
def test_the_policy_loads_media_only_from_us_and_facebooks_hosts(settings):
    settings.GRAPH_API_URL = "https://graph.facebook.com/v25.0"
    directives = dict(d.split(" ", 1) for d in content_security_policy().split("; "))
    for name in ("img-src", "media-src"):
        sources = directives[name].split()
        assert "https:" not in sources and "data:" not in sources and "*" not in sources
        assert sources[0] == "'self'"
        assert "https://*.fbcdn.net" in sources and "https://*.fbsbx.com" in sources
        assert all(s == "'self'" or s.startswith("https://") for s in sources)


# --- End to end: a webhook, a real worker, a listener ----------------------------------------
PSID = "6599887766554433"


@pytest.mark.django_db(transaction=True)
def test_a_webhook_pointing_inside_makes_no_connection_and_shows_nothing_from_there(
    live_server,
    connected_page,
    fake_graph,
    start_worker,
    listener,
    monkeypatch,
    client,
    agent,
    counts,
):
    port = listener.port
    picture = PROBE_PICTURE.format(port=port)
    monkeypatch.setattr(fake_graph, "profile_pic_url", lambda _psid: picture)
    fake_graph.add_profile(PSID, first_name="Eve")
    inside = [
        ("video", PROBE_ATTACHMENT),
        ("image", picture),
        ("image", f"http://127.0.0.1:{port}/x.png"),
        ("audio", f"https://scontent.xx.fbcdn.net@127.0.0.1:{port}/a.mp3"),
        ("file", f"http://[::ffff:127.0.0.1]:{port}/f.pdf"),
        ("fallback", f"https://evil.example\\@l.facebook.com/l.php?u={port}"),
    ]
    item = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE["page_id"]},
        "timestamp": now_ms(),
        "message": {
            "mid": "m_ssrf_1",
            "attachments": [{"type": kind, "payload": {"url": url}} for kind, url in inside],
        },
    }
    start_worker(env={"FACEBOOK_MEDIA_HOSTS": ",".join(PRODUCTION_MEDIA_HOSTS)})
    response = post_signed(
        live_server.url + webhook_path(connected_page),
        page_body(PAGE["page_id"], item),
        PAGE["app_secret"],
    )
    assert response.status_code == 200
    eve = wait_until(
        lambda: Contact.objects.filter(external_id=PSID, first_name="Eve").first(),
        message="the profile, fetched by the worker",
    )
    assert not eve.profile_pic  # the picture was refused, not fetched
    message = Message.objects.get(mid="m_ssrf_1")
    kept = [a["url"] for a in message.attachments if a["url"]]
    assert kept == []
    client.force_login(agent)
    html = client.get(f"/desktop/contacts/{eve.pk}/").content.decode()
    assert "evil.example" not in html and f"127.0.0.1:{port}" not in html
    assert listener.connections == 0
    counts(
        "webhook URLs pointing inside",
        attachments=len(inside),
        profile_pictures=1,
        kept=len(kept),
        connections=listener.connections,
    )
