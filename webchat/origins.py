"""Website origins, as a browser sends them in `Origin`: `scheme://host[:port]`, lower case,
without the default port, path, query or user."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

MAX_ORIGINS = 20
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(text):
    """The origin of `text` ("https://Shop.example.com/" → "https://shop.example.com"), or
    ValidationError saying what is wrong with it."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"“{text}” is not a website address.") from exc
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValidationError(
            f"“{text}” is not a website origin: write it as https://shop.example.com."
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError(f"“{text}”: only the scheme, host and port, nothing else.")
    if parts.path not in ("", "/"):
        raise ValidationError(
            f"“{text}”: an origin has no path; the chat works on every page of the site."
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


def parse_origins(lines):
    """Origins from an iterable of texts (blank ones skipped, duplicates dropped, order kept)."""
    origins, errors = [], []
    for line in lines:
        if not line.strip():
            continue
        try:
            origin = normalise_origin(line)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if origin not in origins:
            origins.append(origin)
    if errors:
        raise ValidationError(errors)
    if len(origins) > MAX_ORIGINS:
        raise ValidationError(f"At most {MAX_ORIGINS} websites.")
    return origins
