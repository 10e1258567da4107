"""MEDIA_ORIGIN: kept files (agents' uploads, profile pictures) served from an origin of their own
by signed links that expire, and nothing else served there."""

import re
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from agent_desktop import media
from agent_desktop.models import Message
from tests.fixtures.files import HTML_PAGE, image_bytes

MEDIA_HOST = "media.testserver"
SIGNED_LINK = re.compile(rf'https://{re.escape(MEDIA_HOST)}(/desktop/files/[^/"]+/)')


@pytest.fixture
def media_origin(settings):
    settings.MEDIA_ORIGIN = f"https://{MEDIA_HOST}"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, MEDIA_HOST]
    return settings.MEDIA_ORIGIN


@pytest.fixture
def conversation_with_files(agent_client, make_contact):
    """A contact with a kept picture, a picture and an HTML file from the agent."""
    contact = make_contact()
    contact.profile_pic.save(f"{contact.pk}.png", ContentFile(image_bytes("PNG")))
    contact.save()
    url = reverse("agent_desktop:reply", args=[contact.pk])
    for name, content in (("photo.jpg", image_bytes("JPEG")), ("photo.html", HTML_PAGE)):
        upload = SimpleUploadedFile(name, content, content_type="image/gif")
        assert agent_client.post(url, {"text": "", "file": upload}).status_code == 302
    return contact


def media_get(path):
    """A request on the media origin, from a browser with no session there."""
    return Client().get(path, headers={"host": MEDIA_HOST})


def test_the_desktop_loads_kept_files_from_the_media_origin_by_signed_links(
    media_origin, agent_client, conversation_with_files
):
    page = agent_client.get(f"/desktop/contacts/{conversation_with_files.pk}/")
    html = page.content.decode()
    links = sorted(set(SIGNED_LINK.findall(html)))
    assert len(links) == 3  # the profile picture, the JPEG and the HTML file
    assert "/file/" not in html and "/picture/" not in html
    policy = dict(d.split(" ", 1) for d in page["Content-Security-Policy"].split("; "))
    assert media_origin in policy["img-src"].split() and media_origin in policy["media-src"].split()

    served = sorted(
        (r["Content-Type"], r.get("Content-Disposition", ""))
        for r in (media_get(link) for link in links)
    )
    assert served == [
        ("application/octet-stream", 'attachment; filename="photo.html"'),
        ("image/jpeg", 'inline; filename="photo.jpg"'),
        ("image/png", ""),
    ]
    for link in links:
        response = media_get(link)
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sessionid" not in response.cookies


def test_the_media_origin_serves_nothing_else_and_the_app_serves_no_signed_link(
    media_origin, agent, agent_client, conversation_with_files, counts
):
    message = Message.objects.filter(direction="out").first()
    link = SIGNED_LINK.search(media.kept_file_url("upload", message.pk)).group(1)
    elsewhere = [
        "/",
        "/login/",
        "/desktop/",
        f"/desktop/contacts/{conversation_with_files.pk}/",
        f"/desktop/messages/{message.pk}/file/",
        f"/desktop/contacts/{conversation_with_files.pk}/picture/",
        "/api/campaigns/",
        "/api/schema/",
        "/admin/",
        "/no-such-page/",
        "/desktop/files/not-a-link/",
    ]
    signed_in_there = Client()
    signed_in_there.force_login(agent)  # even a session cookie that reached it opens nothing
    refused = 0
    for path in elsewhere:
        response = signed_in_there.get(path, headers={"host": MEDIA_HOST})
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("text/plain"), path  # not even our 404 page
        refused += 1
    assert agent_client.get(link).status_code == 404  # the app's own origin
    assert media_get(link).status_code == 200
    counts("paths on the media origin", tried=len(elsewhere), refused=refused)


def test_a_forged_altered_or_expired_link_opens_nothing(
    media_origin, conversation_with_files, monkeypatch
):
    message = Message.objects.filter(direction="out").first()
    link = SIGNED_LINK.search(media.kept_file_url("upload", message.pk)).group(1)
    token = link.split("/")[-2]
    missing = Message.objects.order_by("pk").last().pk + 100
    other = media.kept_file_url("upload", missing)
    forged = [
        link.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")),
        link.replace(token, "W1sidXBsb2FkIiwxXQ:abc"),
        link.replace(token, "x"),
        SIGNED_LINK.search(other).group(1),  # validly signed, but no such message
        SIGNED_LINK.search(media.kept_file_url("picture", missing)).group(1),
    ]
    assert [media_get(path).status_code for path in forged] == [404] * len(forged)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + (media.LINK_HOURS * 2 + 1) * 3600)
    assert media_get(link).status_code == 404


def test_without_a_media_origin_files_are_served_here_and_signed_links_not_at_all(
    agent_client, conversation_with_files, settings
):
    message = Message.objects.filter(direction="out").first()
    assert media.kept_file_url("upload", message.pk) == f"/desktop/messages/{message.pk}/file/"
    settings.MEDIA_ORIGIN = f"https://{MEDIA_HOST}"
    path = SIGNED_LINK.search(media.kept_file_url("upload", message.pk)).group(1)
    settings.MEDIA_ORIGIN = ""
    assert agent_client.get(path).status_code == 404
    page = agent_client.get(f"/desktop/contacts/{conversation_with_files.pk}/").content.decode()
    assert f"/desktop/messages/{message.pk}/file/" in page and MEDIA_HOST not in page


def test_production_settings_take_the_media_origin_from_the_environment():
    from tests.security.test_access import PRODUCTION_ENV, PRODUCTION_SERVICES, manage

    env = {
        **PRODUCTION_ENV,
        **PRODUCTION_SERVICES,
        "MEDIA_ORIGIN": "https://media.support.example.com",
    }
    shown = manage(
        "shell",
        "-c",
        "from django.conf import settings; from config.middleware import "
        "content_security_policy as policy; print(settings.ALLOWED_HOSTS); print(policy())",
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    hosts, policy = shown.stdout.strip().splitlines()[-2:]
    assert hosts == "['support.example.com', 'media.support.example.com']"
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert "https://media.support.example.com" in directives["img-src"].split()
    assert manage("check", "--deploy", "--fail-level", "WARNING", env=env).returncode == 0
