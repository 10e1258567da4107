"""The visitor token: what a widget keeps in the browser's localStorage and sends as
`Authorization: Bearer <token>`.

It is signed with the app's SECRET_KEY (django.core.signing, a salt of its own) and names the
widget key it was made for, the visitor's token id and the visitor's token secret. A token only
works on its own widget (another entry point's key refuses it), and replacing the visitor's
secret ends it. No cookie is involved: a host page can't make the browser send it on its own.
"""

import hmac

from django.core import signing

from webchat.models import Visitor

_SALT = "webchat.visitor-token"


class InvalidToken(Exception):
    pass


def visitor_token(visitor, widget_key):
    return signing.dumps([widget_key, visitor.token_id, visitor.token_secret], salt=_SALT)


def visitor_of(token, *, settings_row):
    """The visitor a token names on this widget; InvalidToken if it is forged, altered, made for
    another widget, or ended."""
    try:
        widget_key, token_id, secret = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("This visitor token is not valid.") from exc
    if not isinstance(widget_key, str) or not hmac.compare_digest(
        widget_key, settings_row.widget_key
    ):
        raise InvalidToken("This visitor token belongs to another chat.")
    visitor = (
        Visitor.objects.select_related("contact")
        .filter(token_id=token_id, contact__entry_point_id=settings_row.entry_point_id)
        .first()
    )
    if visitor is None or not isinstance(secret, str):
        raise InvalidToken("This visitor token is not valid.")
    if not hmac.compare_digest(secret, visitor.token_secret):
        raise InvalidToken("This visitor token has ended.")
    return visitor


def bearer_token(request):
    """The token of `Authorization: Bearer <token>`, or "" when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
