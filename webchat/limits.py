"""Website chat's size limits: the one definition the visitor API, the widget's config and the
desktop (through the kind's hooks, see webchat.apps) use."""

# A visitor's message, and an agent's reply part (the desktop splits a longer reply).
MAX_TEXT_LENGTH = 4000
# A visitor's file, and an agent's file to a visitor: the agents' upload limit.
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# A JSON body of the visitor API (a message is at most MAX_TEXT_LENGTH characters, each up to
# 4 bytes in UTF-8, escaped): anything larger is refused before it is parsed.
MAX_JSON_BYTES = 20 * 1024
# Room for a multipart body's boundaries and its text field beside the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# Messages one poll returns at most (the widget asks again with the last id).
MESSAGES_PER_POLL = 100
