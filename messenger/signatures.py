"""The webhook's signature check: Facebook signs each POST body with the app's App Secret."""

import hashlib
import hmac

from django.views.decorators.debug import sensitive_variables


class SignatureInvalid(Exception):
    """The body is not signed with the entry point's App Secret."""


@sensitive_variables("app_secret", "expected")
def verify_signature(*, body: bytes, header: str, app_secret: str) -> None:
    """Check `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` in constant time."""
    if not app_secret:
        raise SignatureInvalid("the entry point has no App Secret, so nothing can be verified")
    if not header:
        raise SignatureInvalid("no X-Hub-Signature-256 header")
    algorithm, _, signature = header.partition("=")
    if algorithm != "sha256" or len(signature) != 64:
        raise SignatureInvalid("X-Hub-Signature-256 is not 'sha256=' and 64 hex digits")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        raise SignatureInvalid("X-Hub-Signature-256 does not match the body")
