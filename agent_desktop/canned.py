"""Canned replies: the placeholders agents may write in them, and filling them in."""

import re

PLACEHOLDERS = {
    "first_name": "the customer's first name",
    "last_name": "the customer's last name",
    "name": "the customer's full name",
    "agent_name": "your name",
    "agent_first_name": "your first name",
}
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def fill_placeholders(text, *, contact, agent):
    """`text` with each known `{{placeholder}}` replaced; a value we lack becomes empty, an
    unknown placeholder stays as written (so a typo shows)."""
    values = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": f"{contact.first_name} {contact.last_name}".strip(),
        "agent_name": agent.get_full_name() or agent.username,
        "agent_first_name": agent.first_name or agent.username,
    }

    def value(found):
        return values.get(found.group(1), found.group(0))

    return PLACEHOLDER.sub(value, text)
