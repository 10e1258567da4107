"""What the customer did to their messages, shown on those messages: reactions, edits, unsends
and the message a reply quotes.

Each signal is stored as a row of its own (kind reaction, edit or unsend, with the message's
mid in `details["target_mid"]`), deduplicated like any event. They are applied here, when the
conversation is shown, so they hold whatever order they arrive in (an edit before its message,
an unreact before its react, the same event twice) and the original text stays stored.
"""

from dataclasses import dataclass, field

from agent_desktop.models import Message

SIGNAL_KINDS = (Message.Kind.REACTION, Message.Kind.EDIT, Message.Kind.UNSEND)
QUOTE_LENGTH = 80


@dataclass
class Signals:
    """What is shown on one message."""

    reactions: list = field(default_factory=list)  # the customer's current reaction (emoji)
    edited_text: str | None = None
    edit_count: int = 0
    unsent: bool = False


@dataclass(frozen=True)
class Quote:
    """The message a reply is about: a snippet of it, or None when it is not in the thread."""

    text: str
    found: bool


def shown(messages):
    """The conversation's messages as shown: signals about a message in the thread are applied
    to it (`message.signals`, `message.quote`) and leave the list; those about a message not
    (or not yet) stored stay as lines of their own."""
    messages = list(messages)
    by_mid = {m.mid: m for m in messages if m.mid and m.kind not in SIGNAL_KINDS}
    for message in messages:
        message.signals = Signals()
        message.is_sticker = _is_sticker(message)
    reactions, edits, result = {}, {}, []  # reactions: target pk -> (target, latest row)
    for message in messages:
        target = (
            by_mid.get(message.details.get("target_mid")) if message.kind in SIGNAL_KINDS else None
        )
        if target is None:
            result.append(message)
        elif message.kind == Message.Kind.REACTION:
            if target.pk not in reactions or _later(message, reactions[target.pk][1]):
                reactions[target.pk] = (target, message)
        elif message.kind == Message.Kind.EDIT:
            if target.pk not in edits or _edit_order(message) > _edit_order(edits[target.pk][1]):
                edits[target.pk] = (target, message)
        else:
            target.signals.unsent = True
    for target, reaction in reactions.values():
        if reaction.details.get("action") != "unreact":  # an unreact takes the reaction back
            target.signals.reactions.append(reaction.text or reaction.details.get("reaction", ""))
    for target, edit in edits.values():
        target.signals.edited_text = edit.text
        target.signals.edit_count = edit.details.get("num_edit") or 1
    for message in result:
        message.quote = _quote(message, by_mid)
    return result


def _is_sticker(message):
    attachments = [a for a in message.attachments if isinstance(a, dict)]
    return (
        bool(attachments)
        and not message.text
        and all(a.get("sticker_id") or a.get("type") == "sticker" for a in attachments)
    )


def _later(one, other):
    return (one.sent_at, one.pk) > (other.sent_at, other.pk)


def _edit_order(edit):
    return (edit.details.get("num_edit") or 0, edit.sent_at, edit.pk)


def _quote(message, by_mid):
    replied_to = message.details.get("reply_to_mid") if isinstance(message.details, dict) else None
    if not replied_to:
        return None
    target = by_mid.get(replied_to)
    if target is None:
        return Quote("an earlier message", found=False)
    if target.signals.unsent:
        return Quote("a removed message", found=True)
    text = target.signals.edited_text if target.signals.edited_text is not None else target.text
    if not text:
        kinds = {a.get("type", "file") for a in target.attachments if isinstance(a, dict)}
        text = f"[{', '.join(sorted(kinds)) or Message.Kind(target.kind).label.lower()}]"
    return Quote(text[:QUOTE_LENGTH] + ("…" if len(text) > QUOTE_LENGTH else ""), found=True)
