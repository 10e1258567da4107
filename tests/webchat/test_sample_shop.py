"""The sample shop's server: the page embeds the widget with the one-line snippet, under the strict
Content-Security-Policy a careful website sends, and shows how to get a key when there is none."""

import threading

import pytest
import requests

from tests.processes import free_port
from webchat.sample_shop.server import make_server

APP = "http://127.0.0.1:8000"
STRICT_CSP = (
    "default-src 'self'; script-src 'self' http://127.0.0.1:8000; "
    "connect-src http://127.0.0.1:8000; img-src http://127.0.0.1:8000 data:; style-src 'self'"
)


@pytest.fixture
def shop():
    """Serves the shop with whatever key `shop.key` holds at each request; yields its state."""
    state = type("Shop", (), {"key": "k3y-123"})()
    server = make_server(
        free_port(), app_origin=APP + "/", widget_key=lambda: state.key, quiet=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def get(url, method="GET"):
    response = requests.request(method, url, timeout=5)
    return response.status_code, response.headers, response.text


def test_the_page_embeds_the_widget_of_the_app_under_a_strict_policy(shop):
    status, headers, body = get(shop.url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    embed = (
        '<script src="http://127.0.0.1:8000/static/webchat/widget.js" '
        'data-widget-key="k3y-123" async></script>'
    )
    assert body.count(embed) == 1  # the tag itself, once
    assert "&lt;script src=&quot;http://127.0.0.1:8000/static/webchat/widget.js" in body  # shown
    assert "<style" not in body and " style=" not in body and "<script>" not in body


def test_the_key_is_read_at_each_request_and_escaped(shop):
    shop.key = 'x"><img src=x onerror=alert(1)>'
    body = get(shop.url + "/")[2]
    assert "<img src=x" not in body
    assert 'data-widget-key="x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in body


def test_without_a_key_the_page_says_how_to_make_one_and_embeds_nothing(shop):
    shop.key = None
    status, _, body = get(shop.url + "/")
    assert status == 200
    assert "seed_demo" in body
    assert "widget.js" not in body


def test_the_stylesheet_is_served_and_nothing_else(shop):
    status, headers, body = get(shop.url + "/shop.css")
    assert (status, headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    assert ".products" in body
    assert get(shop.url + "/../config/settings.py")[0] == 404
    assert get(shop.url + "/server.py")[0] == 404
    status, _, body = get(shop.url + "/", method="HEAD")
    assert status == 200 and body == ""
