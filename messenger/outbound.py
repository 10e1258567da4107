"""Messenger's outbound path: an agent's queued reply, sent through the Send API.

The desktop stores a Message (direction "out", status "queued") and, on commit, calls
`enqueue_send` (see agent_desktop.channels). The task calls `send_message`, which picks the
messaging type from the reply window, uploads the file if there is one, sends, and records the
outcome on the message: "sent" with its mid, or "failed" with a reason a person understands.

Duplicate sends. A task can run twice for one message (broker redelivery after a worker died, a
retry racing a sweep). Before calling Graph, the send is claimed with a conditional UPDATE that
records `details["send_started_at"]`; only the worker whose UPDATE matched calls Graph. When
Graph answers, the claim is settled: sent, failed, or released for a retry (an error answer
means nothing went out). When the request went out but no answer came back
(`graph.OutcomeUnknown`: a read timeout, a dropped connection) the message may have reached the
customer, so it is **not** sent again. Every send carries `metadata="cb:<message pk>"`, which
Facebook returns in the message's echo, and `reconcile_echo` gives the message the echo's mid.
If no echo settles it within OUTCOME_GRACE (echoes need the page's `message_echoes`
subscription), the message is marked failed with an explanation and the agent decides: a
visible failure is better than the same reply reaching a customer twice.

Pace. Meta takes a few hundred sends a second per page: each send first takes the page's next
turn (messenger.pacing), so a burst of replies is spread out instead of refused; a turn too far
off puts the send off (`pacing.SendLater`, the task comes back later), unclaimed.
"""

import logging
import mimetypes
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agent_desktop import media
from agent_desktop.models import Contact, Message
from agent_desktop.services import upload_name
from messenger import graph, pacing
from messenger.delivery_queue import SEND_MARK_SEEN, SEND_MESSAGE, SEND_TYPING_ON, enqueue
from messenger.limits import MAX_ATTACHMENT_BYTES, MAX_TEXT_LENGTH
from messenger.models import FacebookPage
from messenger.tokens import mark_token_invalid

logger = logging.getLogger(__name__)

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# How long an attempt whose outcome is unknown waits for its echo before the message fails.
OUTCOME_GRACE = timedelta(minutes=2)
# Outgoing messages queued this long without any attempt are enqueued again by the sweep.
SWEEP_AFTER = timedelta(minutes=2)
METADATA_PREFIX = "cb:"

# An automatic message (the away reply) goes out only as a RESPONSE: the HUMAN_AGENT tag is for
# replies a person writes, and Messenger allows nothing else after 24 hours.
AUTOMATIC_OUTSIDE_WINDOW = (
    "Not sent: the customer wrote more than 24 hours ago, and Messenger allows automatic "
    "replies only within 24 hours of the customer's message."
)

SEND_STARTED = "send_started_at"
SEND_ATTEMPTS = "send_attempts"
ATTACHMENT_ID = "attachment_id"


# --- The reply window ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplyWindow:
    """Whether an agent may reply to a contact now, and how Messenger would take the reply."""

    can_reply: bool
    messaging_type: str | None  # "RESPONSE" or "MESSAGE_TAG"; None when no reply is allowed
    tag: str | None  # "HUMAN_AGENT" with MESSAGE_TAG
    closes_at: datetime | None  # when replying this way stops (24 h, then 7 days)
    human_agent_until: datetime | None  # after this no reply at all, until the customer writes
    reason: str  # a sentence for the composer


def reply_window(contact, now=None) -> ReplyWindow:
    """The messaging window of a contact, from the time of the customer's last message: inside
    24 h a plain reply ("RESPONSE"); up to 7 days a person's reply with the HUMAN_AGENT tag;
    after that, or before the customer ever wrote, none."""
    now = now or timezone.now()
    last = contact.last_inbound_at
    if last is None:
        return ReplyWindow(
            False,
            None,
            None,
            None,
            None,
            "The customer hasn't written to the page yet; Messenger allows replies only after "
            "the customer writes first.",
        )
    age = max(now - last, timedelta(0))
    final = last + HUMAN_AGENT_WINDOW
    if age < STANDARD_WINDOW:
        return ReplyWindow(
            True,
            "RESPONSE",
            None,
            last + STANDARD_WINDOW,
            final,
            "The customer wrote within the last 24 hours.",
        )
    if age < HUMAN_AGENT_WINDOW:
        return ReplyWindow(
            True,
            "MESSAGE_TAG",
            "HUMAN_AGENT",
            final,
            final,
            "The customer last wrote more than 24 hours ago; Messenger still takes a reply "
            "written by a person (human agent tag) until 7 days after their last message.",
        )
    return ReplyWindow(
        False,
        None,
        None,
        None,
        None,
        "The customer last wrote more than 7 days ago; Messenger allows no reply after that. "
        "The customer has to write to the page again first.",
    )


# --- Queueing --------------------------------------------------------------------------------
def enqueue_send(message_id):
    """Queue the Send API task for a queued outgoing message (the desktop's outbound hook, run
    on commit). Returns False when the broker could not take it; the sweep sends it later."""
    return enqueue(SEND_MESSAGE, message_id)


def sweep_unsent_messages(limit=200):
    """Enqueue again the outgoing messages that no worker ever picked up (the broker was down
    when they were queued), and those whose attempt was left unsettled past `OUTCOME_GRACE`
    (the worker died in the middle of the send, and its task with it): the send then settles
    them, sent if their echo came, failed with a plain reason if not. Messages a worker is
    still at are the task's own (it retries, then settles them). Returns how many."""
    cutoff = timezone.now() - SWEEP_AFTER
    queued = Message.objects.filter(
        direction=Message.Direction.OUT,
        status=Message.Status.QUEUED,
        mid=None,
        created_at__lt=cutoff,
    ).order_by("created_at")
    never_tried = list(
        queued.exclude(details__has_key=SEND_ATTEMPTS).values_list("pk", flat=True)[:limit]
    )
    unsettled = [
        pk
        for pk, details in queued.filter(details__has_key=SEND_STARTED).values_list(
            "pk", "details"
        )[:limit]
        if _started_before(details, timezone.now() - OUTCOME_GRACE)
    ]
    for message_id in never_tried + unsettled:
        enqueue_send(message_id)
    if never_tried or unsettled:
        logger.info(
            "send sweep re-enqueued %s messages never tried, %s left unsettled",
            len(never_tried),
            len(unsettled),
        )
    return len(never_tried) + len(unsettled)


def _started_before(details, moment):
    started = parse_datetime(str(details.get(SEND_STARTED)))
    return started is not None and started < moment


# --- Sender actions: typing and seen ---------------------------------------------------------
SENDER_ACTIONS = ("typing_on", "mark_seen")


def enqueue_sender_action(contact_id, action):
    """Queue a sender action for the customer (the desktop's hook, called after its rate
    limit): best effort, a broker outage just loses it."""
    task_name = {"typing_on": SEND_TYPING_ON, "mark_seen": SEND_MARK_SEEN}[action]
    return enqueue(task_name, contact_id)


def send_sender_action(contact_id, action):
    """Show the customer that the page saw their messages or is typing. Only inside the
    24-hour window (Messenger allows no sender action after it); never retried: a late
    "typing…" would be wrong."""
    if action not in SENDER_ACTIONS:
        raise ValueError(f"not a sender action: {action}")
    contact = (
        Contact.objects.select_related("entry_point__facebook_page").filter(pk=contact_id).first()
    )
    page = getattr(contact.entry_point, "facebook_page", None) if contact else None
    if page is None or not page.page_id or page.token_status == FacebookPage.TokenStatus.INVALID:
        return False  # a refused token waits for a new one: no call
    if reply_window(contact).messaging_type != "RESPONSE":
        return False
    try:
        pacing.take(page.page_id)  # a Send API call like any other
        graph.GraphClient.for_page(page).send_sender_action(contact.external_id, action)
    except Exception as exc:  # a lost indicator is no failure to report or retry
        logger.info("sender action %s for contact %s: %s", action, contact_id, type(exc).__name__)
        return False
    return True


# --- Sending ---------------------------------------------------------------------------------
def send_message(message_id: int) -> Message | None:
    """Send a queued outgoing message through the Send API and record the outcome.

    Idempotent: only a "queued" message without a mid is sent, and only by the worker that
    claims it (see the module's docstring). The contact's earlier queued messages go first, so
    the parts of a long reply arrive in order. Raises the graph errors that may succeed later,
    with the message still queued, so the task retries; settles every other outcome on the
    message.
    """
    message = _outgoing().filter(pk=message_id).first()
    if message is None:
        logger.info("send %s: no such outgoing message", message_id)
        return None
    if message.status != Message.Status.QUEUED or message.mid:
        logger.info("send %s: left alone, it is %s", message_id, message.status)
        return message
    if SEND_STARTED in message.details:
        return _earlier_attempt_unsettled(message)
    _send_earlier_messages(message)
    return _send(message)


def _outgoing():
    return Message.objects.select_related("contact__entry_point__facebook_page").filter(
        direction=Message.Direction.OUT
    )


def _send_earlier_messages(message):
    """Each message has its own task and workers run in parallel, but the customer must read
    the parts of a long reply in order: the contact's earlier queued messages are sent here
    first (their own tasks then find them sent), and one another worker is sending is waited
    for, briefly; after that the task retries."""
    deadline = time.monotonic() + 2 * settings.GRAPH_API_TIMEOUT + 1
    while True:
        earlier = _outgoing().filter(
            contact_id=message.contact_id,
            status=Message.Status.QUEUED,
            mid=None,
            pk__lt=message.pk,
        )
        in_flight = False
        for other in earlier.order_by("pk"):
            if SEND_STARTED not in other.details:
                _send(other)
                continue
            try:
                _earlier_attempt_unsettled(other)  # fails it once the wait is over
            except graph.OutcomeUnknown:
                in_flight = True
                break
        if not in_flight:
            return
        if time.monotonic() > deadline:
            raise graph.OutcomeUnknown("an earlier message to this customer is still being sent")
        time.sleep(0.2)


def _send(message):
    contact = message.contact
    page = getattr(contact.entry_point, "facebook_page", None)
    refusal = _refusal(message, page)
    if refusal:
        return _fail(message, refusal)
    window = reply_window(contact)
    if not window.can_reply:
        return _fail(message, window.reason)
    if message.source == Message.Source.AUTOMATIC and window.messaging_type != "RESPONSE":
        return _fail(message, AUTOMATIC_OUTSIDE_WINDOW)
    try:
        client = graph.GraphClient.for_page(page)
    except Exception as exc:  # SecretUnreadable: its text says what the admin must do
        return _fail(message, f"The page's saved credentials can't be used: {exc}")
    # The page's turn first, before the claim: a send waiting for its turn is not "in flight",
    # so a worker at a later message of this contact sends this one itself rather than wait.
    pacing.take(page.page_id, send_kind(message))  # raises SendLater: the task comes back
    if not _claim(message):
        logger.info("send %s: another worker has it", message.pk)
        return message

    try:
        content = _content(client, message)
    except graph.GraphError as exc:  # nothing reached the customer yet, whatever the error
        return _graph_refused(message, page, exc)
    try:
        mid = client.send_message(
            contact.external_id,
            content,
            window.messaging_type,
            tag=window.tag,
            metadata=f"{METADATA_PREFIX}{message.pk}",
        )
    except graph.OutcomeUnknown:
        # It may have gone out: keep the claim, so no retry sends it again (module docstring).
        logger.info("send %s: no answer from Facebook, waiting for the echo", message.pk)
        raise
    except graph.GraphError as exc:
        return _graph_refused(message, page, exc)
    return _sent(message, mid, window)


def send_kind(message):
    """The pace a message goes at (messenger.pacing): audio and video have a lower limit."""
    if not message.upload:
        return pacing.TEXT
    guessed = mimetypes.guess_type(upload_name(message))[0] or ""
    return pacing.MEDIA if guessed.startswith(("audio/", "video/")) else pacing.TEXT


def reconcile_echo(*, contact, mid, metadata) -> bool:
    """The echo of a message this app sent: when its metadata names one of our messages that has
    no mid yet (the Send API's answer was lost, or is not recorded yet), that message takes the
    echo's mid and is sent. Returns True when it matched. Called before the desktop records the
    echo, so the echo does not become a second copy of the message."""
    if not mid or not metadata.startswith(METADATA_PREFIX):
        return False
    message_pk = metadata[len(METADATA_PREFIX) :]
    if not message_pk.isdigit() or Message.objects.filter(mid=mid).exists():
        return False
    message = (
        Message.objects.filter(
            pk=int(message_pk),
            contact=contact,
            direction=Message.Direction.OUT,
            mid=None,
            # Failed too: a message given up on after an unanswered attempt did go out.
            status__in=[Message.Status.QUEUED, Message.Status.FAILED],
        )
        .only("pk", "details")
        .first()
    )
    if message is None:
        return False
    try:
        with transaction.atomic():
            updated = Message.objects.filter(pk=message.pk, mid=None).update(
                mid=mid,
                status=Message.Status.SENT,
                error="",
                details=_without_claim(message.details),
            )
    except IntegrityError:
        return False
    if updated:
        logger.info("send %s: confirmed by its echo", message.pk)
    return bool(updated)


def give_up(message_id, exc):
    """The task's retries ran out: the message fails with the last error explained."""
    message = Message.objects.filter(
        pk=message_id, status=Message.Status.QUEUED, mid=None, direction=Message.Direction.OUT
    ).first()
    if message is not None:
        _fail(message, f"Facebook kept failing: {explain_send_error(exc)}")
    return message


def explain_send_error(exc) -> str:
    """A sentence for the agent about why Facebook did not take a message (by error class)."""
    if isinstance(exc, graph.TokenInvalid):
        return (
            "Facebook rejected the page's access token, so nothing can be sent from this page. "
            "An admin must paste a new Page Access Token for the page in the campaign builder; "
            "then send the reply again."
        )
    if isinstance(exc, graph.OutsideWindow):
        return (
            "Facebook refused it as outside the 24-hour window: the customer last wrote more "
            "than 24 hours ago. Replies up to 7 days later need the app's Human Agent "
            "permission (App Review); otherwise the customer has to write again first."
        )
    if isinstance(exc, graph.RecipientUnavailable):
        return (
            "This person isn't available on Messenger right now (they may have blocked the page)."
        )
    if isinstance(exc, graph.PermissionMissing):
        if exc.code == 230:
            return (
                "Facebook refused it: the app lacks the pages_messaging permission. Request it "
                "in the app's App Review; until it is approved and the app is live, only people "
                "with a role on the app (administrators, developers, testers) can be answered."
            )
        return (
            "Facebook refused it: the app is in development mode, so it can only message people "
            "with a role on the app (administrators, developers, testers, under App Roles). To "
            "answer every customer, get pages_messaging approved in App Review and switch the "
            f"app to Live. (Facebook said: {exc.message})"
        )
    if isinstance(exc, graph.OutcomeUnknown):
        return (
            "Facebook did not answer, so it is unknown whether the customer got this reply. It "
            "was not sent again, to avoid sending it twice; check the conversation on Facebook "
            "and send it again if it is missing."
        )
    if isinstance(exc, graph.Unreachable):
        return f"Facebook could not be reached ({exc.message})."
    if isinstance(exc, graph.RateLimited):
        return f"Facebook limits how many messages the page may send right now ({exc.message})."
    if isinstance(exc, graph.Transient):
        return f"Facebook had a temporary problem ({exc.message})."
    if isinstance(exc, graph.InvalidRequest):
        return f"Facebook refused the message: {exc.message}"
    return f"Facebook refused the message: {exc}"


# --- Helpers ---------------------------------------------------------------------------------
def _refusal(message, page):
    """Why the message can't be sent at all, found without asking Facebook."""
    if page is None:
        return "This contact's entry point is not a Facebook Page."
    if page.token_status == FacebookPage.TokenStatus.INVALID:
        return explain_send_error(graph.TokenInvalid("known invalid"))
    if not page.has_credentials:
        return "The page has no saved credentials; an admin must enter them first."
    if message.upload:
        if message.text:
            return (
                "A Messenger message carries either text or one file, not both: send the text "
                "as a message of its own."
            )
        try:
            size = message.upload.size
        except OSError:
            return "The file of this message is missing from storage; attach it again."
        if size > MAX_ATTACHMENT_BYTES:
            return f"The file is larger than Messenger's {MAX_ATTACHMENT_BYTES // 2**20} MB limit."
        return None
    if not message.text.strip():
        return "There is nothing to send: the message has no text and no file."
    if len(message.text) > MAX_TEXT_LENGTH:
        return (
            f"The message is {len(message.text)} characters long; Messenger takes at most "
            f"{MAX_TEXT_LENGTH} per message. Split it into shorter messages and send them."
        )
    return None


def _claim(message):
    """Take the send (a conditional UPDATE: of two workers, only one matches)."""
    details = {
        **message.details,
        SEND_STARTED: timezone.now().isoformat(),
        SEND_ATTEMPTS: int(message.details.get(SEND_ATTEMPTS) or 0) + 1,
    }
    claimed = (
        Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, mid=None)
        .exclude(details__has_key=SEND_STARTED)
        .update(details=details)
    )
    if claimed:
        message.details = details
    return bool(claimed)


def _without_claim(details):
    return {k: v for k, v in details.items() if k != SEND_STARTED}


def _earlier_attempt_unsettled(message):
    """A worker claimed this send and has not settled it: it is sending right now, or its
    request went out without an answer. Wait for it (or for the echo); then give up."""
    started = parse_datetime(str(message.details.get(SEND_STARTED)))
    if started is not None and timezone.now() - started < OUTCOME_GRACE:
        logger.info("send %s: an earlier attempt is unsettled, waiting", message.pk)
        raise graph.OutcomeUnknown("an earlier attempt may have reached Facebook")
    return _fail(message, explain_send_error(graph.OutcomeUnknown("no answer")))


def _content(client, message):
    """The Send API message object; a file is uploaded first (once: its id is kept). It goes as
    an `image` only when its bytes decode as one, else as a `file` (never by name or declared
    type: a script named `.gif` is a file)."""
    if not message.upload:
        quick_replies = message.details.get("quick_replies")  # the CSAT survey's ratings
        return {"text": message.text, **({"quick_replies": quick_replies} if quick_replies else {})}
    with message.upload.open("rb") as upload:
        content = upload.read()
    content_type = media.image_type(content)
    attachment_type = "image" if content_type else "file"
    attachment_id = message.details.get(ATTACHMENT_ID)
    if not attachment_id:
        name = upload_name(message)
        attachment_id = client.upload_attachment(
            attachment_type, name, content, content_type or _file_type(name)
        )
        message.details = {**message.details, ATTACHMENT_ID: attachment_id}
        Message.objects.filter(pk=message.pk).update(details=message.details)
    return {"attachment": {"type": attachment_type, "payload": {"attachment_id": attachment_id}}}


def _file_type(name):
    """The type a file (not an image) is labelled with for Facebook: the one its name suggests,
    so a PDF opens as one on the customer's side, but never a media type its bytes don't have."""
    guessed = mimetypes.guess_type(name)[0] or ""
    if not guessed or guessed.startswith(("image/", "video/", "audio/")):
        return media.DOWNLOAD_TYPE
    return guessed


def _graph_refused(message, page, exc):
    """Graph answered with an error, so nothing went out: retry later or fail for good."""
    if exc.retryable:
        Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, mid=None).update(
            details=_without_claim(message.details)
        )
        logger.info("send %s: %s, to be retried", message.pk, type(exc).__name__)
        raise exc
    if isinstance(exc, graph.TokenInvalid):
        mark_token_invalid(page, exc, while_doing="sending a reply")
    return _fail(message, explain_send_error(exc))


def _sent(message, mid, window):
    details = _without_claim(message.details)
    details["messaging_type"] = window.messaging_type
    if window.tag:
        details["tag"] = window.tag
    # Guarded by mid=None: an echo that confirmed the message first has set this same mid and
    # the status (maybe delivered or read by now), which must stay as they are.
    unconfirmed = Message.objects.filter(
        pk=message.pk, mid=None, status__in=[Message.Status.QUEUED, Message.Status.FAILED]
    )
    try:
        with transaction.atomic():
            updated = unconfirmed.update(
                mid=mid, status=Message.Status.SENT, error="", details=details
            )
    except IntegrityError:
        # Another row holds the mid: an echo recorded without our metadata (not expected).
        logger.warning("send %s: mid %s is already on another message", message.pk, mid)
        updated = unconfirmed.update(status=Message.Status.SENT, error="", details=details)
    logger.info("send %s: sent%s", message.pk, "" if updated else " (already confirmed)")
    message.mid, message.status, message.error = mid, Message.Status.SENT, ""
    return message


def _fail(message, reason):
    Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, mid=None).update(
        status=Message.Status.FAILED, error=reason, details=_without_claim(message.details)
    )
    logger.info("send %s: failed: %s", message.pk, reason)
    message.status, message.error = Message.Status.FAILED, reason
    return message
