"""What a kept file is, decided from its bytes, and how it is served.

A file is an image only when Pillow decodes it as PNG, JPEG, GIF or WebP: never because of the
type a browser declared or of its name (an agent's `p.js` sent as `image/gif` is a file), and
never SVG, which can carry script. Every kept file (an agent's upload, a customer's profile
picture) is served with a fixed Content-Type, without sniffing, under a Content-Security-Policy
that sandboxes it, and as a download unless its bytes decode as an image: nothing served from our
origin can run script there, whatever an agent or a customer put in it.
"""

import io
import secrets

from django.http import FileResponse
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
