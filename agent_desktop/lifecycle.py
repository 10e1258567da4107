"""Signals that tell apps following conversations (reports) what happened, in the transaction
that recorded it. Activities (close, reopen, snooze…) are followed by their post_save; these
cover what leaves no activity. agent_desktop and the channels send them and import no
receiver (a channel never imports reports: README, "Import graph")."""

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

# Customers' messages were stored: `opened` = [(contact, earliest counted message time)].
# Sent before a closed contact is reopened, so the cycle opens at the customer's message.
customers_wrote = Signal()

# An agent's reply was queued (the human first response): `contact`, `agent`, `at`.
agent_replied = Signal()

# A customer answered a satisfaction survey (a channel read it from its own form of answer:
# Messenger's quick-reply payload, the website chat's form): `answers` = [SurveyAnswer].
# The rating goes to the survey's own cycle, never to whatever conversation is open now.
survey_answered = Signal()

# Customers wrote text (channels send it with the batch they stored): `texts` =
# [(contact id, text, time)]. A text soon after a rating is kept as its comment.
customers_texted = Signal()


@dataclass(frozen=True)
class SurveyAnswer:
    contact_id: int
    cycle_id: int
    rating: int  # 1 to 5, checked by the channel
    at: datetime
    comment: str = ""
