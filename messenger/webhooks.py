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
from campaigns.selectors import facebook_page_by_webhook_key
from campaigns.services import facebook_page_mark_webhook_verified
from messenger import services

logger = logging.getLogger(__name__)


def _plain(text, status):
    # text/plain (and nosniff from SecurityMiddleware): nothing we echo is ever taken for HTML.
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@method_decorator(csrf_exempt, name="dispatch")
class MessengerWebhookView(View):
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, key, **kwargs):
        self.page = facebook_page_by_webhook_key(key)
        if self.page is None:
            logger.info("webhook refused: unknown key")
            raise Http404("Unknown webhook")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        """Verify handshake: echo `hub.challenge` when the mode and the verify token match."""
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        token_matches = bool(self.page.verify_token) and hmac.compare_digest(
            token.encode(), self.page.verify_token.encode()
        )
        if mode != "subscribe" or not token_matches:
            self._refuse("handshake", "wrong mode" if mode != "subscribe" else "wrong verify token")
            return _plain(
                "Verification failed: hub.mode must be 'subscribe' and hub.verify_token must "
                "match the Verify Token shown in the campaign builder.",
                403,
            )
        facebook_page_mark_webhook_verified(page=self.page)
        return _plain(request.GET.get("hub.challenge", ""), 200)

    def post(self, request):
        """A batch of events: verify, store raw, answer 200; a worker processes it."""
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > services.MAX_BODY_BYTES:
            return self._reject(413, "body larger than 1 MiB")
        try:
            body = request.body
        except RequestDataTooBig:
            return self._reject(413, "body larger than 1 MiB")
        if len(body) > services.MAX_BODY_BYTES:
            return self._reject(413, "body larger than 1 MiB")
        try:
            services.verify_signature(
                body=body,
                header=request.headers.get("X-Hub-Signature-256", ""),
                app_secret=self.page.app_secret,
            )
        except services.SignatureInvalid as exc:
            return self._reject(403, str(exc))
        except SecretUnreadable:
            # Our fault, not Facebook's: answer 503 so Facebook retries once the admin has
            # entered the secret again.
            return self._reject(503, "the App Secret can't be decrypted; enter it again")
        try:
            text = body.decode("utf-8")
            json.loads(text)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return self._reject(400, "signed body is not JSON")
        services.store_delivery(page=self.page, body=text)
        return _plain("EVENT_RECEIVED", 200)

    def _reject(self, status, reason):
        self._refuse("post", reason)
        return _plain(f"Refused: {reason}.", status)

    def _refuse(self, what, reason):
        logger.info("webhook %s refused entry_point=%s: %s", what, self.page.entry_point_id, reason)
