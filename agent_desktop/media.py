"""What a kept file is, decided from its bytes, and how it is served.

A file is an image only when Pillow decodes it as PNG, JPEG, GIF or WebP: never because of the
type a browser declared or of its name (an agent's `p.js` sent as `image/gif` is a file), and
never SVG, which can carry script. Every kept file (an agent's upload, a customer's profile
picture) is served with a fixed Content-Type, without sniffing, under a Content-Security-Policy
that sandboxes it, and as a download unless its bytes decode as an image: nothing served from our
origin can run script there, whatever an agent or a customer put in it.

With MEDIA_ORIGIN set (another host name of the app, behind the same proxy), the desktop loads
kept files from that origin instead, by signed links that expire: the link is the permission
(made for a user allowed to see the file), and that origin has no session and serves nothing
else (agent_desktop.middleware).
"""

import io
import secrets
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.http import FileResponse
from django.urls import reverse
from PIL import Image

from config import remote_urls

IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}
# Larger pictures are sent and served as files: decoding them would cost too much memory.
MAX_IMAGE_PIXELS = 40_000_000
DOWNLOAD_TYPE = "application/octet-stream"
# No script, no plugin, no form, an opaque origin: even a file a browser chose to render can't
# act as the signed-in user.
SANDBOX_POLICY = "default-src 'none'; sandbox"
# Attachments the desktop shows inline are loaded by the agent's browser without a click: only
# from Facebook's media hosts. Others are links to click.
INLINE_ATTACHMENT_TYPES = {"image", "sticker", "video", "audio"}
# The views that serve kept files to signed-in users, by kind.
KEPT_FILE_VIEWS = {"upload": "agent_desktop:message_file", "picture": "agent_desktop:picture"}
# A signed link made now works for one to two hours (stable within the hour, so the browser's
# cache keeps working across the desktop's polls).
LINK_HOURS = 1
_LINK_SALT = "agent_desktop.media.kept-file"


def image_type(data):
    """The MIME type of `data` (bytes) when it decodes as a PNG, JPEG, GIF or WebP; else None."""
    try:
        with Image.open(io.BytesIO(data), formats=tuple(IMAGE_TYPES)) as image:
            content_type = IMAGE_TYPES[image.format]
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None
            if image.format == "JPEG":  # decode every block, at 1/8 scale: same proof, less memory
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()  # a valid header alone proves nothing: the pixels must decode
    except Exception:  # Pillow raises many kinds of errors on hostile bytes: none is an image
        return None
    return content_type


def stored_name(content_type):
    """A name for a kept file: random, with the extension of what its bytes are (`.bin` when
    they are no image), so nothing ever guesses a type from the name someone else chose."""
    return secrets.token_hex(12) + EXTENSIONS.get(content_type, ".bin")


def kept_file_response(field_file, *, download_name=""):
    """Serve a kept file: inline with its image type when its bytes decode as an image, else as
    an `application/octet-stream` download; never sniffed, always sandboxed."""
    with field_file.open("rb") as stored:
        data = stored.read()
    content_type = image_type(data)
    response = FileResponse(
        io.BytesIO(data),
        content_type=content_type or DOWNLOAD_TYPE,
        as_attachment=content_type is None,
        filename=download_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    return response


def attachment_url_allowed(attachment_type, url):
    """Whether a channel's attachment URL may be shown: as a source for inline types (Facebook
    media only), as a link for the others (any host name; see config.remote_urls)."""
    if attachment_type in INLINE_ATTACHMENT_TYPES:
        return remote_urls.is_media_url(url)
    return remote_urls.is_link_url(url)


def kept_file_url(kind, pk):
    """Where the desktop loads a kept file (`kind`: "upload" or "picture", of the message or
    contact `pk`): our own view, or a signed link on MEDIA_ORIGIN when it is set."""
    if not settings.MEDIA_ORIGIN:
        return reverse(KEPT_FILE_VIEWS[kind], args=[pk])
    period = LINK_HOURS * 3600
    expires = (int(time.time()) // period + 2) * period
    token = signing.Signer(salt=_LINK_SALT).sign_object([kind, pk, expires])
    return settings.MEDIA_ORIGIN + reverse("agent_desktop:kept_file", args=[token])


def kept_file_of(token):
    """(kind, pk) of a signed link that has not expired; signing.BadSignature otherwise."""
    try:
        kind, pk, expires = signing.Signer(salt=_LINK_SALT).unsign_object(token)
    except (ValueError, TypeError) as exc:  # signed by us, yet not our shape
        raise signing.BadSignature("not a kept file link") from exc
    if kind not in KEPT_FILE_VIEWS or not isinstance(pk, int) or not isinstance(expires, int):
        raise signing.BadSignature("not a kept file link")
    if expires < time.time():
        raise signing.BadSignature("an expired link")
    return kind, pk


def media_host():
    """The host (and port) of MEDIA_ORIGIN, as a request names it; "" when not set."""
    return urlsplit(settings.MEDIA_ORIGIN).netloc.lower() if settings.MEDIA_ORIGIN else ""
