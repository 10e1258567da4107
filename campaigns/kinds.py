"""The registry of entry point kinds: how `campaigns` and `agent_desktop` know a channel.

Each channel app registers its kind in its `AppConfig.ready()` (`register(EntryPointKind(...))`);
`campaigns` and `agent_desktop` never import a channel module, they look the kind up here by the
entry point's `kind` or the contact's `channel` and call the hooks it registered.

Hooks are dotted paths, imported on first use (a channel's modules may import `campaigns` and
`agent_desktop` models, which are not ready while apps are being configured):

Builder (campaigns):
- `create_entry_point(*, campaign, name, actor) -> EntryPoint`: the entry point with its
  settings row (`campaigns.services.entry_point_create` makes the entry point itself); raises
  `campaigns.services.CampaignInactive` for an inactive campaign.
- `panel_view(request, entry_point) -> HttpResponse`: the entry point's settings page in the
  builder (GET and POST), at `/campaigns/entry-points/<pk>/`, for a live entry point (an
  archived one gets campaigns' archived page). The user is an admin; error reports hide the
  POST data.
- `status(entry_point) -> KindStatus`: one line for the campaign page's entry point list.
- `api_serializer`: a DRF serializer class for the kind's own fields of `/api/entry-points/`,
  flattened in beside the shared ones. Its instance is the entry point (None on create); it
  validates the same request data, and campaigns calls its `update(entry_point,
  validated_data)` once the entry point exists, outside any transaction.
- `seed_demo(campaign, *, base_url) -> str`: adds the kind's demo entry point to the demo
  campaign (once; `base_url`: where the app runs, "" if unknown) and returns a line for the
  console. Called outside any transaction.
- `archive(entry_point)` (optional): inside the archive's transaction, once the entry point is
  marked archived: turn its inbound off (Messenger: drop the webhook, free the page id).
- `archive_consequences(entry_point) -> list[str]` (optional): what archiving stops, listed on
  the confirmation before it is done (Messenger: the Webhook URL).
- `describe(entry_point) -> str` (optional): what it was connected to, for its archived page.
- `archived_links(entry_point) -> list[(label, url)]` (optional): the kind's pages that stay
  readable once archived (Messenger: the delivery log).
- `deliveries_count(entry_point) -> int`, `deliveries_erase(entry_point) -> int` (optional):
  the inbound posts the kind keeps raw, counted by archive and erased (in the erase's
  transaction) with the conversations.

Desktop (agent_desktop, by the contact's channel):
- `enqueue_send(message_id)`: queue the actual send of a queued reply,
- `reply_window(contact)`: whether and how a reply can go out now (`can_reply`, `closes_at`,
  `reason`),
- `refresh_profile(contact_id)`: fetch the customer's profile again (optional),
- `sender_action(contact_id, action)`: "typing_on" or "mark_seen" for the customer,
- `customer_info(contact) -> list[(label, value)]`: the channel's own lines in Customer Info,
- `csat_survey(contact, cycle_id, question) -> str` (optional): ask the satisfaction question
  of the cycle just closed (reports.csat), in the closing transaction (anything sent goes once
  it commits); "sent", or "skipped_window" when the channel's rules allow no message now,
- `contact_select_related`: a tuple of relations (from Contact) the desktop selects with a
  contact it opens, so `customer_info` reads them without a query of its own,
- `contact_notice(contact) -> agent_desktop.channels.ContactNotice | None`: a badge in the
  contact's list row and a sentence above the conversation (Messenger: another app owns it),
- `replies_blocked(entry_points) -> list[agent_desktop.channels.RepliesBlocked]`: of these
  entry points (a queryset of the kind's, not archived), those whose replies can't go out now,
  with why and what to do (the desktop's banner),
- `max_text_length`, `max_attachment_bytes`: limits (dotted paths to ints).
"""

from dataclasses import dataclass, field

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class EntryPointKind:
    name: str  # EntryPoint.kind, e.g. "facebook_page"
    label: str  # "Facebook Page"
    channel: str  # Contact.channel, e.g. "messenger"
    channel_label: str  # "Messenger"
    badge_label: str  # beside a contact's name: "Facebook"
    badge_icon: str  # a template holding the inline SVG icon: "includes/messenger_icon.html"
    badge_title: str = ""  # the badge's tooltip: "Facebook Messenger"
    add_help: str = ""  # one sentence under the kind's Add button
    hooks: dict = field(default_factory=dict)

    def hook(self, name):
        """The hook's object, or None when the kind did not register it."""
        path = self.hooks.get(name)
        return import_string(path) if path else None

    def has(self, name):
        return bool(self.hooks.get(name))


@dataclass(frozen=True)
class KindStatus:
    """What the campaign page says of an entry point: a word and a tone (ok, warn, error)."""

    text: str
    tone: str = "ok"


_KINDS: dict[str, EntryPointKind] = {}


def register(kind: EntryPointKind) -> None:
    existing = _KINDS.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"Entry point kind {kind.name!r} is registered twice.")
    if any(k.channel == kind.channel and k.name != kind.name for k in _KINDS.values()):
        raise ValueError(f"Channel {kind.channel!r} already belongs to another kind.")
    _KINDS[kind.name] = kind


class UnknownKind(LookupError):
    pass


def kind_named(name: str) -> EntryPointKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKind(f"No entry point kind {name!r} is installed.") from None


def kind_of_channel(channel: str) -> EntryPointKind:
    for kind in _KINDS.values():
        if kind.channel == channel:
            return kind
    raise UnknownKind(f"No entry point kind serves the channel {channel!r}.")


def all_kinds() -> list[EntryPointKind]:
    """Registered kinds, in the order their apps are installed."""
    return list(_KINDS.values())


def kind_choices():
    return [(k.name, k.label) for k in _KINDS.values()]


def channel_choices():
    return [(k.channel, k.channel_label) for k in _KINDS.values()]
