"""Messenger's size limits, as Facebook documents them: the one definition the Send API path
(`messenger.outbound`), the desktop (through `agent_desktop.channels`) and the sandbox's fake
Graph API use."""

# The Send API takes a text "under 2000 characters" (PROTOCOL.md, section 7); the desktop sends
# a longer reply in parts.
MAX_TEXT_LENGTH = 1999
# The largest file the Send API and the attachment upload take.
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
