"""Search across contact names and message text, and the highlighting of what was found.

Message text is matched through the database's full-text index (migration 0007): PostgreSQL's
`to_tsvector('simple', text)` GIN index, or SQLite's FTS5 table. Every word must match, as a
prefix ("order" finds "orders"); names are matched as substrings, as before.
"""

import re

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import mark_safe

from agent_desktop.models import Message

MAX_WORDS = 4
SNIPPET_LENGTH = 120


def search_words(query):
    """The words of a query, as the index sees them: letters and digits, at most MAX_WORDS."""
    return re.findall(r"\w+", query or "")[:MAX_WORDS]


def matching_message_ids(words):
    """A subquery of the ids of messages whose text holds every word (as a prefix)."""
    if connection.vendor == "postgresql":
        # The expression is the indexed one, so the GIN index answers it.
        tsquery = " & ".join(f"{word}:*" for word in words)
        return RawSQL(
            "SELECT id FROM agent_desktop_message "
            "WHERE to_tsvector('simple', \"text\") @@ to_tsquery('simple', %s)",
            [tsquery],
        )
    # FTS5: each word quoted (so no word is read as an operator) and matched as a prefix.
    match = " ".join('"{}"*'.format(word.replace('"', "")) for word in words)
    return RawSQL(
        "SELECT rowid FROM agent_desktop_message_fts WHERE agent_desktop_message_fts MATCH %s",
        [match],
    )


def contacts_matching(contacts, query):
    """`contacts` narrowed to those whose name (or PSID ending) or any message matches."""
    words = search_words(query)
    if not words:
        return contacts
    by_name = Q()
    for word in words:
        by_name &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(external_id__endswith=word)
        )
    hits = Message.objects.filter(pk__in=matching_message_ids(words)).values("contact_id")
    return contacts.filter(by_name | Q(pk__in=hits))


def latest_hits(contact_ids, query):
    """{contact id: the text of that contact's newest message matching the query}."""
    words = search_words(query)
    if not words or not contact_ids:
        return {}
    hits = (
        Message.objects.filter(contact_id__in=contact_ids, pk__in=matching_message_ids(words))
        .order_by("contact_id", "-sent_at", "-pk")
        .values_list("contact_id", "text")
    )
    found = {}
    for contact_id, text in hits:
        found.setdefault(contact_id, text)
    return found


def _hit_pattern(words):
    # The same rule as the index: a word that starts with what was searched.
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)


def highlight(text, words):
    """`text` escaped, with the words found wrapped in <mark>. Safe to put in a page."""
    if not words:
        return escape(text)
    pattern = _hit_pattern(words)
    parts, last = [], 0
    for found in pattern.finditer(text):
        parts.append(escape(text[last : found.start()]))
        parts.append(f"<mark>{escape(found.group(0))}</mark>")
        last = found.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text is escaped above)


def highlight_lines(text, words):
    """As `highlight`, with line breaks kept as <br> (the conversation shows them)."""
    return mark_safe(  # noqa: S308 (highlight escaped the text)
        "<br>".join(highlight(line, words) for line in text.split("\n"))
    )


def snippet(text, words, length=SNIPPET_LENGTH):
    """The part of `text` around its first hit, highlighted, with … where it was cut."""
    found = _hit_pattern(words).search(text) if words else None
    start = max(0, found.start() - length // 3) if found else 0
    piece = text[start : start + length]
    prefix = "…" if start else ""
    suffix = "…" if start + length < len(text) else ""
    return mark_safe(f"{escape(prefix)}{highlight(piece, words)}{escape(suffix)}")  # noqa: S308
