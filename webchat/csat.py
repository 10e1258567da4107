"""The satisfaction survey in the website chat (reports.csat asks through the `csat_survey`
hook). No message goes out: the question waits in the contact's channel details and the widget
shows it with five buttons after the conversation closes (`GET messages/` → "survey"); its
answer (`POST survey/`) names the survey's cycle, so it rates that conversation even if
another one has started since. A website chat has no reply window: the survey is always "sent".
"""

from django.db import transaction
from django.utils import timezone

from agent_desktop import lifecycle
from agent_desktop.models import Contact, Message
from agent_desktop.services import (
    IncomingMessage,
    contact_channel_details_update,
    record_inbound,
)

SURVEY = "survey"  # the key in the contact's channel details
RATING_DETAIL = "csat_rating"  # in a rating's message details (the desk's timeline reads it)
COMMENT_MAX_LENGTH = 2000


class SurveyRefused(Exception):
    """An answer that can't be taken: `status` (400, 404) and a sentence."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def survey_ask(contact, cycle_id, question):
    contact_channel_details_update(
        contact=contact, **{SURVEY: {"cycle": cycle_id, "question": question}}
    )
    return "sent"


def survey_for_visitor(contact):
    """{"cycle", "question"} while the closed conversation's survey waits, else None."""
    survey = contact.channel_details.get(SURVEY)
    return survey if survey and contact.status == Contact.Status.CLOSED else None


def survey_answer(*, contact, data):
    """Take the visitor's answer {"cycle", "rating", "comment"?}: 400 for a malformed one, 404
    when that survey is not waiting (answered already, or another visitor's)."""
    cycle, rating = data.get("cycle"), data.get("rating")
    comment = data.get("comment", "")
    if not _whole(rating) or not 1 <= rating <= 5:
        raise SurveyRefused(400, "rating: a whole number from 1 to 5.")
    if not _whole(cycle):
        raise SurveyRefused(400, "cycle: the survey's cycle id.")
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX_LENGTH:
        raise SurveyRefused(400, f"comment: text of at most {COMMENT_MAX_LENGTH} characters.")
    waiting = contact.channel_details.get(SURVEY) or {}
    if waiting.get("cycle") != cycle:
        raise SurveyRefused(404, "There is no such survey to answer.")
    now = timezone.now()
    with transaction.atomic():
        # Kept as the customer's button tap (not a message: nothing reopens), once per survey.
        stored = record_inbound(
            contact=contact,
            incoming=IncomingMessage(
                sent_at=now,
                kind=Message.Kind.POSTBACK,
                text=f"{rating}/5",
                details={RATING_DETAIL: rating},
                event_key=f"csat:{cycle}",
                counts_as_customer_message=False,
            ),
        )
        if stored is None:  # another request answered this survey a moment ago
            raise SurveyRefused(404, "There is no such survey to answer.")
        answer = lifecycle.SurveyAnswer(
            contact_id=contact.pk, cycle_id=cycle, rating=rating, at=now, comment=comment.strip()
        )
        lifecycle.survey_answered.send(sender=Contact, answers=[answer])
        contact_channel_details_update(contact=contact, **{SURVEY: None})


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
