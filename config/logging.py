"""Logging helpers."""

import logging
import re

_SECRET_PARAMS = re.compile(
    r"((?:access_token|appsecret_proof|verify_token|input_token)=)[^&\s\"]+"
)
# A webhook URL's key lets anyone post to it (signed or not): `/messenger/webhook/<key>/`.
_WEBHOOK_KEY = re.compile(r"(/webhook/)[^/?#\s\"]+")
# An invitation link sets someone's password: `/invite/<uidb64>/<token>/`.
_INVITATION_TOKEN = re.compile(r"(/invite/[^/?#\s\"]+/)(?!set-password/)[^/?#\s\"]+")


class RedactSecrets(logging.Filter):
    """Blank out tokens and webhook keys in URLs that a log line quotes (the servers' access
    logs show the sandbox's Graph API calls with their query strings, Facebook's handshake with
    its verify token, every webhook URL and the invitation links people open)."""

    def filter(self, record):
        message = record.getMessage()
        if any(mark in message for mark in ("token=", "appsecret_proof=", "/webhook/", "/invite/")):
            message = _SECRET_PARAMS.sub(r"\1[redacted]", message)
            message = _INVITATION_TOKEN.sub(r"\1[redacted]", message)
            record.msg = _WEBHOOK_KEY.sub(r"\1[redacted]", message)
            record.args = ()
        return True


class OneLinePerRefusedWebhook(logging.Filter):
    """For `django.request`: drop its "Forbidden"/"Not Found"/… line for an answer the webhook
    view chose, which logs its own line with the reason. One line per refused post, so a flood
    of unsigned posts can't fill the disk twice as fast. Unhandled errors (500, with their
    traceback) still pass."""

    def filter(self, record):
        match = getattr(getattr(record, "request", None), "resolver_match", None)
        refused_by_the_webhook = (
            match is not None
            and match.view_name == "messenger:webhook"
            and getattr(record, "status_code", 500) != 500
        )
        return not refused_by_the_webhook
