"""The satisfaction survey on Messenger (reports.csat asks through the `csat_survey` hook).

The question goes out as an automatic message with five quick replies, only while the 24 h
window is open and as a plain RESPONSE: the HUMAN_AGENT tag is for a person's replies, and the
outbound path refuses to tag an automatic message anyway. Each quick reply's payload names the
survey's cycle, `CSAT:<cycle id>:<rating>`, so a tap on an old survey still rates its own
conversation. A tap is stored as the customer's action, not as the customer writing: it does
not reopen the conversation, move the reply window or count as a message in the queue. Only the
first tap on a survey is stored (its key, `event_key`): a second one changes nothing, as in
reports.csat, and adds no second "Rated" line to the timeline.
"""

import re

from django.utils import timezone

from agent_desktop.away_replies import automatic_message_queue
from agent_desktop.lifecycle import SurveyAnswer
from messenger.outbound import reply_window

PAYLOAD = "CSAT:{cycle}:{rating}"
_PAYLOAD_RE = re.compile(r"CSAT:([1-9][0-9]{0,17}):([1-5])")
RATING_TITLES = {1: "1 😞", 2: "2", 3: "3", 4: "4", 5: "5 😀"}
# Kept on the rating's message (details) so the timeline shows "Rated 4/5".
RATING_DETAIL = "csat_rating"  # agent_desktop.selectors reads it too


def survey_ask(contact, cycle_id, question):
    """Queue the question with its five ratings, or "skipped_window" outside 24 h."""
    if reply_window(contact).messaging_type != "RESPONSE":
        return "skipped_window"
    quick_replies = [
        {
            "content_type": "text",
            "title": title,
            "payload": PAYLOAD.format(cycle=cycle_id, rating=rating),
        }
        for rating, title in RATING_TITLES.items()
    ]
    automatic_message_queue(
        contact, question, sent_at=timezone.now(), details={"quick_replies": quick_replies}
    )
    return "sent"


def parse_payload(payload):
    """(cycle id, rating) of a survey's quick-reply payload, or None for any other payload."""
    match = _PAYLOAD_RE.fullmatch(payload or "")
    return (int(match[1]), int(match[2])) if match else None


def event_key(contact, cycle_id):
    """The rating's key, one per survey: a second tap on the same survey is not stored (the
    first answer wins). The contact's own, so that no payload naming another customer's survey
    can take that survey's key."""
    return f"messenger-csat:{contact.pk}:{cycle_id}"


def answer_of(contact, payload, at):
    parsed = parse_payload(payload)
    if parsed is None:
        return None
    cycle_id, rating = parsed
    return SurveyAnswer(contact_id=contact.pk, cycle_id=cycle_id, rating=rating, at=at)
