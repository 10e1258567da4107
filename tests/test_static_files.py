"""Static files: production serves its own (WhiteNoise), from what `collectstatic` gathered, under
hashed names, gzipped for browsers that accept it; development serves static/ as it is, with
nothing to collect. (`make prod-check` does the same through gunicorn.)"""

import gzip
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.staticfiles.storage import staticfiles_storage

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "support.example.com",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
}
# Test-only variables that would pick the test settings or turn the sandbox on.
NOT_INHERITED = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "SANDBOX", "VAR_DIR"}


def manage_in_production(*args, var_dir):
    inherited = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **PRODUCTION_ENV, "VAR_DIR": str(var_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """A production VAR_DIR after `manage.py collectstatic`."""
    var_dir = tmp_path_factory.mktemp("production-var")
    result = manage_in_production("collectstatic", "--noinput", var_dir=var_dir)
    assert result.returncode == 0, result.stderr
    return var_dir


@pytest.mark.parametrize("name", ["css/app.css", "js/app.js", "vendor/htmx-2.0.11.min.js"])
def test_collectstatic_keeps_a_hashed_and_a_gzipped_copy_of_each_file(collected, name):
    static = collected / "static"
    hashed = json.loads((static / "staticfiles.json").read_text())["paths"][name]
    stem, suffix = name.rsplit(".", 1)
    assert re.fullmatch(rf"{re.escape(stem)}\.[0-9a-f]{{12}}\.{suffix}", hashed)
    source = (ROOT / "static" / name).read_bytes()
    assert (static / hashed).read_bytes() == source
    assert gzip.decompress((static / f"{hashed}.gz").read_bytes()) == source


# Run in a production process: the login page, then the stylesheet it links, as a browser asks.
FETCH_THE_LOGIN_PAGES_CSS = """
import gzip, json, re
from django.test import Client
client = Client(HTTP_HOST="support.example.com")
page = client.get("/login/", secure=True)
href = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.content.decode()).group(1)
css = client.get(href, secure=True, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
body = b"".join(css.streaming_content)
print(json.dumps({
    "page": page.status_code,
    "href": href,
    "status": css.status_code,
    "content_type": css["Content-Type"],
    "content_encoding": css.get("Content-Encoding", ""),
    "cache_control": css.get("Cache-Control", ""),
    "css": gzip.decompress(body).decode() if css.get("Content-Encoding") == "gzip" else "",
}))
"""


def test_production_pages_link_a_hashed_stylesheet_the_app_serves_gzipped_for_good(collected):
    result = manage_in_production("shell", "-c", FETCH_THE_LOGIN_PAGES_CSS, var_dir=collected)
    assert result.returncode == 0, result.stderr
    fetched = json.loads(result.stdout.strip().splitlines()[-1])

    assert fetched["page"] == 200
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", fetched["href"])
    assert fetched["status"] == 200
    assert fetched["content_type"].startswith("text/css")
    assert fetched["content_encoding"] == "gzip"
    # A hashed name never changes content: browsers keep it without asking again.
    assert "immutable" in fetched["cache_control"]
    assert fetched["css"] == (ROOT / "static" / "css" / "app.css").read_text()


def test_development_serves_static_files_under_their_own_names_without_collecting():
    # The test settings are development's (DEBUG=1 when they were read).
    assert staticfiles_storage.url("css/app.css") == "/static/css/app.css"
