"""The widget's script as websites load it: small, and nothing in it that a strict
Content-Security-Policy on the host page would block (the browser tests run it under one)."""

import gzip
import re
from pathlib import Path

WIDGET = Path(__file__).resolve().parents[2] / "static" / "webchat" / "widget.js"
MAX_GZIPPED_BYTES = 30 * 1024


def test_the_widget_is_under_30_kb_gzipped():
    gzipped = len(gzip.compress(WIDGET.read_bytes(), compresslevel=9))
    assert gzipped < MAX_GZIPPED_BYTES, f"{gzipped} bytes gzipped"


def test_the_widget_builds_no_markup_from_strings_and_evaluates_nothing():
    source = WIDGET.read_text()
    # Text goes in through textContent; styles through constructed stylesheets, never a style
    # attribute or element (blocked by style-src 'self'); no eval of any kind.
    for forbidden in (
        r"\.innerHTML\b",
        r"\.outerHTML\b",
        r"insertAdjacentHTML",
        r"document\.write",
        r"\beval\(",
        r"new Function\b",
        r"createElement\(\"style\"\)",
        r"[\"']style[\"']\s*[:,]",
        r"\.style\.",
    ):
        assert not re.search(forbidden, source), forbidden
    assert "adoptedStyleSheets" in source and "replaceSync" in source
