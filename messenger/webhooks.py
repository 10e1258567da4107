"""Facebook's side of the webhook: the verify handshake (GET) on `/messenger/webhook/<key>/`."""

import hmac
import logging

from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from campaigns.selectors import facebook_page_by_webhook_key
from campaigns.services import facebook_page_mark_webhook_verified

logger = logging.getLogger(__name__)


@method_decorator(csrf_exempt, name="dispatch")
class MessengerWebhookView(View):
    http_method_names = ["get"]

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
        challenge = request.GET.get("hub.challenge", "")
        token_matches = bool(self.page.verify_token) and hmac.compare_digest(
            token.encode(), self.page.verify_token.encode()
        )
        if mode != "subscribe" or not token_matches:
            logger.info(
                "webhook handshake refused entry_point=%s: %s",
                self.page.entry_point_id,
                "wrong mode" if mode != "subscribe" else "wrong verify token",
            )
            return HttpResponseForbidden(
                "Verification failed: hub.mode must be 'subscribe' and hub.verify_token must "
                "match the Verify Token shown in the campaign builder.",
                content_type="text/plain; charset=utf-8",
            )
        facebook_page_mark_webhook_verified(page=self.page)
        # text/plain (and nosniff from SecurityMiddleware): the echoed challenge is never HTML.
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")
