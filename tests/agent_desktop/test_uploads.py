"""What a file is comes from its bytes; whatever is served can't run (issue 11, item 1).

An agent's upload is an image only when it decodes as PNG, JPEG, GIF or WebP, whatever the
browser declared and the file was called; every kept file (uploads, profile pictures) is served
with a fixed type, nosniff, a sandboxing policy, and as a download unless it is such an image."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from agent_desktop import media
from agent_desktop.models import Contact, Message
from messenger import services
from tests.fixtures.files import (
    HEADER_POLYGLOTS,
    HTML_PAGE,
    IMAGE_FORMATS,
    SCRIPT,
    SVG_WITH_SCRIPT,
    gif_script_polyglot,
    image_bytes,
)

DOWNLOAD = "application/octet-stream"


def _half(image_format):
    """The first half of a real picture with detail in it (its pixels can't all decode)."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(buffer, image_format)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


NOT_IMAGES = {
    "script": SCRIPT,
    "HTML": HTML_PAGE,
    "SVG with a script": SVG_WITH_SCRIPT,
    **HEADER_POLYGLOTS,
    **{f"{image_format} cut in half": _half(image_format) for image_format in IMAGE_FORMATS},
    "BMP (not one of ours)": image_bytes("BMP"),
    "TIFF (not one of ours)": image_bytes("TIFF"),
    "empty": b"",
}


# --- Detection -------------------------------------------------------------------------------
@pytest.mark.parametrize("image_format", IMAGE_FORMATS)
def test_a_real_picture_is_an_image_of_its_own_type(image_format):
    assert media.image_type(image_bytes(image_format)) == IMAGE_FORMATS[image_format]


@pytest.mark.parametrize("name", NOT_IMAGES)
def test_a_file_that_only_looks_like_a_picture_is_not_an_image(name):
    assert media.image_type(NOT_IMAGES[name]) is None


def test_a_gif_that_is_also_a_script_is_an_image_and_is_served_as_nothing_else():
    """It decodes, so it is a GIF; served as image/gif with nosniff, no browser runs it."""
    assert media.image_type(gif_script_polyglot("alert(1)")) == "image/gif"


def test_a_picture_too_large_to_decode_safely_is_a_file():
    buffer = io.BytesIO()
    Image.new("1", (8000, 5001)).save(buffer, "PNG")  # 40 million pixels and one row
    assert media.image_type(buffer.getvalue()) is None


# --- Uploads, through the desktop's reply form -----------------------------------------------
POLYGLOT = gif_script_polyglot("fetch('/api/campaigns/')")
UPLOADS = [
    # (agent's file name, type the browser declared, content, kind, type served)
    ("receipt.png", "image/png", image_bytes("PNG"), "image", "image/png"),
    ("photo.jpg", "image/jpeg", image_bytes("JPEG"), "image", "image/jpeg"),
    ("scan.gif", "image/gif", image_bytes("GIF"), "image", "image/gif"),
    ("sticker.webp", "image/webp", image_bytes("WEBP"), "image", "image/webp"),
    ("declared-as-a-pdf.png", "application/pdf", image_bytes("PNG"), "image", "image/png"),
    ("no-extension", "application/octet-stream", image_bytes("JPEG"), "image", "image/jpeg"),
    ("polyglot.gif", "image/gif", POLYGLOT, "image", "image/gif"),
    ("p.js", "image/gif", SCRIPT, "file", DOWNLOAD),
    ("photo.html", "image/gif", HTML_PAGE, "file", DOWNLOAD),
    ("logo.svg", "image/svg+xml", SVG_WITH_SCRIPT, "file", DOWNLOAD),
    ("page.xhtml", "image/png", HTML_PAGE, "file", DOWNLOAD),
    ("invoice.pdf", "application/pdf", b"%PDF-1.4 invoice", "file", DOWNLOAD),
    *[
        (f"polyglot-{n}.gif", "image/gif", content, "file", DOWNLOAD)
        for n, content in enumerate(HEADER_POLYGLOTS.values())
    ],
]


@pytest.mark.parametrize(
    ("name", "declared", "content", "kind", "served_type"),
    UPLOADS,
    ids=[upload[0] for upload in UPLOADS],
)
def test_an_upload_is_what_its_bytes_are_and_is_served_so_it_cannot_run(
    agent_client, make_contact, name, declared, content, kind, served_type
):
    contact = make_contact()
    upload = SimpleUploadedFile(name, content, content_type=declared)
    response = agent_client.post(
        reverse("agent_desktop:reply", args=[contact.pk]), {"text": "", "file": upload}
    )
    assert response.status_code == 302
    reply = Message.objects.get(direction="out")
    assert reply.attachments == [{"type": kind, "name": name, "size": len(content)}]
    stored = reply.upload.name.rsplit("/", 1)[-1]
    assert name not in stored  # named after what it is, never after what it was called
    assert stored.endswith(media.EXTENSIONS.get(served_type, ".bin"))

    served = agent_client.get(reverse("agent_desktop:message_file", args=[reply.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == served_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    disposition = "inline" if kind == "image" else "attachment"
    assert served["Content-Disposition"] == f'{disposition}; filename="{name}"'
    assert b"".join(served.streaming_content) == content


def test_a_file_stored_before_the_check_is_served_by_what_its_bytes_are(agent_client, make_contact):
    """An upload kept under its own name (`p.js`, called an image then) is a download now."""
    contact = make_contact()
    message = Message.objects.create(
        contact=contact,
        direction="out",
        kind="attachment",
        status="sent",
        attachments=[{"type": "image", "name": "p.js", "size": len(SCRIPT)}],
        sent_at=timezone.now(),
    )
    message.upload.save("p.js", ContentFile(SCRIPT))
    served = agent_client.get(reverse("agent_desktop:message_file", args=[message.pk]))
    assert served["Content-Type"] == DOWNLOAD
    assert served["Content-Disposition"] == 'attachment; filename="p.js"'
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"


# --- Profile pictures ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "served_type"),
    [
        (image_bytes("JPEG"), "image/jpeg"),
        (image_bytes("WEBP"), "image/webp"),
        (HTML_PAGE, DOWNLOAD),
    ],
    ids=["jpeg", "webp", "html kept before the check"],
)
def test_a_kept_profile_picture_is_served_by_what_its_bytes_are(
    agent_client, make_contact, content, served_type
):
    contact = make_contact()
    contact.profile_pic.save(f"{contact.pk}.png", ContentFile(content))
    served = agent_client.get(reverse("agent_desktop:picture", args=[contact.pk]))
    assert served["Content-Type"] == served_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    download = served_type == DOWNLOAD
    assert served.get("Content-Disposition") == ("attachment" if download else None)


class GraphWithAHostilePicture(ThreadingHTTPServer):
    """A stand-in for Graph whose profile answer points at a "picture" that is HTML labelled
    image/png, served by itself (so the URL is the sandbox's, and allowed)."""

    def __init__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/pics/"):
                    body, content_type = HTML_PAGE, "image/png"
                else:
                    origin = f"http://127.0.0.1:{server.server_address[1]}"
                    body = f'{{"id": "1", "first_name": "Eve", "profile_pic": "{origin}/pics/1"}}'
                    body, content_type = body.encode(), "application/json"
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_a_profile_picture_that_does_not_decode_is_not_kept(connected_page, settings):
    graph_stand_in = GraphWithAHostilePicture()
    settings.GRAPH_API_URL = f"http://127.0.0.1:{graph_stand_in.server_address[1]}/v25.0"
    contact = Contact.objects.create(
        channel="messenger", entry_point=connected_page.entry_point, external_id="6500000000000009"
    )
    try:
        services.fetch_profiles([contact.pk])
    finally:
        graph_stand_in.shutdown()
        graph_stand_in.server_close()
    contact.refresh_from_db()
    assert contact.first_name == "Eve" and not contact.profile_pic
