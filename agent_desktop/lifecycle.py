"""Signals that tell apps following conversations (reports) what happened, in the transaction
that recorded it. Activities (close, reopen, snooze…) are followed by their post_save; these
two cover what leaves no activity. agent_desktop sends them and imports no receiver."""

from django.dispatch import Signal

# Customers' messages were stored: `opened` = [(contact, earliest counted message time)].
# Sent before a closed contact is reopened, so the cycle opens at the customer's message.
customers_wrote = Signal()

# An agent's reply was queued (the human first response): `contact`, `agent`, `at`.
agent_replied = Signal()
