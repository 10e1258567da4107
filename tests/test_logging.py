import logging

from config.logging import RedactSecrets


def test_tokens_in_logged_urls_are_blanked_out():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"GET /sandbox/graph/v25.0/me?access_token=%s&appsecret_proof=%s HTTP/1.1" 200',
        ("EAAGsecretToken", "abc123proof"),
        None,
    )
    assert RedactSecrets().filter(record)
    message = record.getMessage()
    assert "EAAGsecretToken" not in message and "abc123proof" not in message
    assert "access_token=[redacted]&appsecret_proof=[redacted]" in message
