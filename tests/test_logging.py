"""The log filter that blanks out tokens in logged URLs (config.logging.RedactSecrets)."""

import logging

import pytest

from config.logging import RedactSecrets


def record(msg, args=()):
    return logging.LogRecord("django.server", logging.INFO, __file__, 1, msg, args, None)


def redacted(msg, args=()):
    """The line as the handlers write it once the filter has run."""
    line = record(msg, args)
    RedactSecrets().filter(line)
    return line.getMessage()


def test_tokens_in_logged_urls_are_blanked_out():
    assert redacted(
        '"GET /sandbox/graph/v25.0/me?access_token=%s&appsecret_proof=%s HTTP/1.1" 200',
        ("EAAGsecretToken", "abc123proof"),
    ) == (
        '"GET /sandbox/graph/v25.0/me?access_token=[redacted]&appsecret_proof=[redacted] '
        'HTTP/1.1" 200'
    )


@pytest.mark.parametrize(
    ("logged", "written"),
    [
        (
            "GET /messenger/webhook/k/?hub.mode=subscribe&hub.verify_token=s3cr3t&hub.challenge=1",
            "GET /messenger/webhook/[redacted]/?hub.mode=subscribe&hub.verify_token=[redacted]"
            "&hub.challenge=1",
        ),
        (
            "GET /debug_token?input_token=EAAGpage&access_token=1|appsecret",
            "GET /debug_token?input_token=[redacted]&access_token=[redacted]",
        ),
        ('"GET /x?access_token=EAAG" 200', '"GET /x?access_token=[redacted]" 200'),
        (
            '"GET /invite/Mg/d1ya8k-0123456789abcdef0123456789abcdef/ HTTP/1.1" 302',
            '"GET /invite/Mg/[redacted]/ HTTP/1.1" 302',
        ),
        (
            '"POST /invite/Mg/set-password/ HTTP/1.1" 302',
            '"POST /invite/Mg/set-password/ HTTP/1.1" 302',
        ),
    ],
)
def test_each_kind_of_token_is_blanked_out_and_the_rest_of_the_line_kept(logged, written):
    assert redacted(logged) == written


def test_a_line_without_tokens_is_written_as_it_was():
    line = record("GET /desktop/?page=%s 200", ("2",))
    RedactSecrets().filter(line)
    assert (line.msg, line.args, line.getMessage()) == (
        "GET /desktop/?page=%s 200",
        ("2",),
        "GET /desktop/?page=2 200",
    )
