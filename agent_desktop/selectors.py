"""Reads for the desktop and its API. Every one starts from what the user may see."""

from django.db.models import Count, F, Q

from agent_desktop import channels, search, signals
from agent_desktop.models import Activity, CannedResponse, Contact, Label, Message, Note
from campaigns.models import EntryPoint
from campaigns.roles import is_campaign_admin

FILTERS = {
    "all": "All open",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "closed": "Closed",
}


def contacts_visible_to(user):
    """Admins see every contact; agents only those of the campaigns they belong to, and not
    those of archived entry points (kept for admins to read)."""
    contacts = Contact.objects.all()
    if not is_campaign_admin(user):
        contacts = contacts.filter(
            entry_point__campaign__in=user.campaigns.all(), entry_point__is_archived=False
        )
    return contacts


def contact_list(user, *, filter_name="all", query="", label=""):
    """The queue: newest activity first, with what a row shows in the same query.

    `filter_name`: one of FILTERS, or "any" for every status (the API filters on its own);
    `query`: words found in names or message text; `label`: a label's name."""
    contacts = contacts_visible_to(user).select_related("entry_point__campaign", "assigned_to")
    if filter_name == "mine":
        contacts = contacts.filter(assigned_to=user).exclude(status=Contact.Status.CLOSED)
    elif filter_name == "unassigned":
        contacts = contacts.filter(status=Contact.Status.NEW)
    elif filter_name == "closed":
        contacts = contacts.filter(status=Contact.Status.CLOSED)
    elif filter_name != "any":  # "all": every open contact
        contacts = contacts.exclude(status=Contact.Status.CLOSED)
    # PostgreSQL refuses NUL in a text parameter; no name or text holds one.
    query, label = query.replace("\x00", "").strip(), label.replace("\x00", "")
    contacts = search.contacts_matching(contacts, query)  # names and message text
    if label:
        contacts = contacts.filter(labels__name=label)
    # A contact without any message is no conversation (and PostgreSQL would sort its NULL
    # time first): not listed, and never ahead of one whatever the database.
    contacts = contacts.exclude(last_message_at=None)
    return contacts.prefetch_related("labels").order_by(
        F("last_message_at").desc(nulls_last=True), "-pk"
    )


def contact_for(user, pk):
    """One contact the user may see, with what the conversation page shows (or DoesNotExist)."""
    return (
        contacts_visible_to(user)
        .select_related("entry_point__campaign", "assigned_to", *channels.contact_select_related())
        .annotate(message_count=Count("messages"))
        .prefetch_related("labels")
        .get(pk=pk)
    )


def conversation(contact):
    """Messages oldest first (by the channel's time), with their authors in the same query."""
    return (
        Message.objects.filter(contact=contact).select_related("sent_by").order_by("sent_at", "pk")
    )


def conversation_counts(entry_point):
    """(contacts, messages) of an entry point's conversations."""
    return (
        Contact.objects.filter(entry_point=entry_point).count(),
        Message.objects.filter(contact__entry_point=entry_point).count(),
    )


def campaign_agents(contact):
    """Who a contact can be transferred to: the agents of its campaign."""
    return contact.entry_point.campaign.agents.filter(is_active=True).order_by("username")


def transfer_candidates(contact):
    """Who a contact can be transferred to: its campaign's members other than its holder."""
    return campaign_agents(contact).exclude(pk=contact.assigned_to_id)


def activities(contact):
    return Activity.objects.filter(contact=contact).select_related("actor", "target_user")


# The key a channel puts in a rating's message details (the satisfaction survey, reports.csat).
RATING_DETAIL = "csat_rating"


def _follows_the_close(item):
    """The satisfaction survey sent at a close (an automatic message) and the customer's rating
    belong to the conversation just closed, not to a new one."""
    details = getattr(item, "details", None) or {}
    return getattr(item, "source", None) == Message.Source.AUTOMATIC or RATING_DETAIL in details


def latest_rating(items):
    """The customer's latest satisfaction rating among the timeline's items (oldest first, as
    `timeline` gives them): {"rating", "at"} or None. Read from the rows the timeline loaded."""
    for item in reversed(items):
        details = getattr(item, "details", None) or {}
        if RATING_DETAIL in details and item.direction == Message.Direction.IN:
            return {"rating": details[RATING_DETAIL], "at": item.sent_at}
    return None


def timeline(contact):
    """The conversation as the desktop shows it: messages (and private notes) oldest first,
    each carrying the activities just before it (`activities_before`), and the activities after
    the last one. A conversation ends at a close: what comes next has `divider_before` set."""
    pending = list(activities(contact))
    shown = signals.shown(conversation(contact))  # reactions, edits… on their messages
    # Notes in place too (a stable sort keeps the messages' own order).
    messages = sorted([*shown, *_notes_in_time(contact)], key=lambda item: item.sent_at)
    after_close = False

    def place(item):
        nonlocal after_close
        if after_close and _follows_the_close(item):
            item.divider_before = False  # still the closed conversation: no divider yet
            return
        item.divider_before, after_close = after_close, False
        if isinstance(item, Activity) and item.kind == Activity.Kind.CLOSED:
            after_close = True

    for message in messages:
        message.activities_before = []
        while pending and pending[0].at <= message.sent_at:
            message.activities_before.append(pending.pop(0))
            place(message.activities_before[-1])
        place(message)
    for activity in pending:
        place(activity)
    return messages, pending


def entry_points_needing_attention(user):
    """Entry points of the user's campaigns whose replies can't go out ([RepliesBlocked]), as
    their channels tell (a Facebook page's rejected token)."""
    entry_points = EntryPoint.objects.filter(is_archived=False).select_related("campaign")
    if not is_campaign_admin(user):
        entry_points = entry_points.filter(campaign__in=user.campaigns.all())
    return channels.replies_blocked(entry_points)


# --- A team's tools ----------------------------------------------------------------------------
def notes(contact):
    return (
        Note.objects.filter(contact=contact).select_related("author").prefetch_related("mentions")
    )


def _notes_in_time(contact):
    """The team's private notes, placed in the conversation at the time they were written."""
    for note in notes(contact):
        note.is_note = True
        note.sent_at = note.created_at
        yield note


def canned_responses_for(user, *, campaign=None):
    """Canned replies the user may use: the global ones and those of their campaigns (all for
    admins); with `campaign`, only the global ones and that campaign's."""
    responses = CannedResponse.objects.select_related("campaign")
    if not is_campaign_admin(user):
        responses = responses.filter(Q(campaign=None) | Q(campaign__in=user.campaigns.all()))
    if campaign is not None:
        responses = responses.filter(Q(campaign=None) | Q(campaign=campaign))
    return responses


def labels():
    return Label.objects.all()
