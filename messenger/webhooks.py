"""Facebook's side of the webhook, `/messenger/webhook/<key>/` (contract in shared/DESIGN.md).

GET is the verify handshake. POST stores a signed body and answers 200 before any processing;
a rejected post stores nothing and logs one line saying why (never a secret).
"""

import hmac
import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from campaigns.secrets import SecretUnreadable
from messenger import webhook_pages
from messenger.ingest import MAX_BODY_BYTES, store_delivery
from messenger.selectors import facebook_page_by_webhook_key
from messenger.setup import facebook_page_mark_webhook_verified
from messenger.signatures import SignatureInvalid, verify_signature

logger = logging.getLogger(__name__)


def _plain(text, status):
    # text/plain (and nosniff from SecurityMiddleware): nothing we echo is ever taken for HTML.
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@method_decorator(csrf_exempt, name="dispatch")
class MessengerWebhookView(View):
    http_method_names = ["get", "post"]

    def get(self, request, key):
        """Verify handshake: echo `hub.challenge` when the mode and the verify token match."""
        page = facebook_page_by_webhook_key(key)
        if page is None:
            return self._unknown_key()
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        token_matches = bool(page.verify_token) and hmac.compare_digest(
            token.encode(), page.verify_token.encode()
        )
        if mode != "subscribe" or not token_matches:
            reason = "wrong mode" if mode != "subscribe" else "wrong verify token"
            _refuse("handshake", page.entry_point_id, reason)
            return _plain(
                "Verification failed: hub.mode must be 'subscribe' and hub.verify_token must "
                "match the Verify Token shown in the campaign builder.",
                403,
            )
        facebook_page_mark_webhook_verified(page=page)
        return _plain(request.GET.get("hub.challenge", ""), 200)

    def post(self, request, key):
        """A batch of events: verify, store raw, answer 200; a worker processes it."""
        try:
            page = webhook_pages.webhook_page(key)
        except SecretUnreadable:
            return self._secret_unreadable(key)
        if page is None:
            return self._unknown_key()
        if "HTTP_TRANSFER_ENCODING" in request.META:
            # A chunked post: the server hands Django no Content-Length, and Django reads an
            # empty body. Facebook always sends the length.
            return _reject(page, 411, "no Content-Length (chunked posts are not read)")
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return _reject(page, 413, "body larger than 1 MiB")
        try:
            body = request.body
        except RequestDataTooBig:
            return _reject(page, 413, "body larger than 1 MiB")
        if len(body) > MAX_BODY_BYTES:
            return _reject(page, 413, "body larger than 1 MiB")
        signature = request.headers.get("X-Hub-Signature-256", "")
        try:
            _verify(body, signature, page)
        except SignatureInvalid:
            # The App Secret may have changed since this process read it: check once more
            # against the stored one.
            try:
                page = webhook_pages.webhook_page(key, reload=True)
            except SecretUnreadable:
                return self._secret_unreadable(key)
            if page is None:
                return self._unknown_key()
            try:
                _verify(body, signature, page)
            except SignatureInvalid as exc:
                return _reject(page, 403, str(exc))
        try:
            text = body.decode("utf-8")
            json.loads(text)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return _reject(page, 400, "signed body is not JSON")
        store_delivery(page_id=page.pk, body=text)
        return _plain("EVENT_RECEIVED", 200)

    def _unknown_key(self):
        logger.info("webhook refused: unknown key")
        raise Http404("Unknown webhook")

    def _secret_unreadable(self, key):
        # Our fault, not Facebook's: answer 503 so Facebook retries once the admin has entered
        # the secret again.
        page = facebook_page_by_webhook_key(key)
        return _reject(page, 503, "the App Secret can't be decrypted; enter it again")


def _verify(body, signature, page):
    verify_signature(body=body, header=signature, app_secret=page.app_secret)


def _reject(page, status, reason):
    _refuse("post", page.entry_point_id if page else None, reason)
    return _plain(f"Refused: {reason}.", status)


def _refuse(what, entry_point_id, reason):
    logger.info("webhook %s refused entry_point=%s: %s", what, entry_point_id, reason)
