"""Logging helpers."""

import logging
import re

_SECRET_PARAMS = re.compile(
    r"((?:access_token|appsecret_proof|verify_token|input_token)=)[^&\s\"]+"
)


class RedactSecrets(logging.Filter):
    """Blank out tokens in URLs that a log line quotes (the dev server's access log shows the
    sandbox's Graph API calls with their query strings)."""

    def filter(self, record):
        message = record.getMessage()
        if "token=" in message or "appsecret_proof=" in message:
            record.msg = _SECRET_PARAMS.sub(r"\1[redacted]", message)
            record.args = ()
        return True
