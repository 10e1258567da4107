"""Writes of the campaign builder: campaigns, entry points, Messenger credentials, webhooks.

Each write an admin makes is kept in the audit log (campaigns.audit) by the service itself,
with the acting user passed in; never a secret's value."""

import ipaddress
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from agent_desktop import selectors as desktop_selectors
from agent_desktop import services as desktop
from campaigns.audit import Action, audit_record
from campaigns.models import Campaign, EntryPoint, FacebookPage
from campaigns.secrets import SecretUnreadable, reencrypt
from messenger import delivery_log, graph
from messenger import health as setup_health

logger = logging.getLogger(__name__)


# --- Campaigns ------------------------------------------------------------------------------
def campaign_create(*, actor, fields: dict) -> Campaign:
    """A new campaign from the form's or the API's fields (`agents`: users, set after)."""
    fields = dict(fields)
    agents = fields.pop("agents", None)
    with transaction.atomic():
        campaign = Campaign.objects.create(**fields)
        if agents is not None:
            campaign.agents.set(agents)
        audit_record(actor, Action.CAMPAIGN_CREATED, campaign)
    return campaign


def campaign_update(*, campaign: Campaign, actor, fields: dict) -> Campaign:
    """Change a campaign's fields; `is_active` goes through `campaign_set_active`. The audit
    entry names the fields that changed (and the old and new name)."""
    fields = dict(fields)
    is_active = fields.pop("is_active", None)
    agents = fields.pop("agents", None)
    changed = [name for name, value in fields.items() if getattr(campaign, name) != value]
    with transaction.atomic():
        details = {}
        if "name" in changed:
            details["name"] = {"from": campaign.name, "to": fields["name"]}
        for name in changed:
            setattr(campaign, name, fields[name])
        if changed:
            campaign.save(update_fields=changed)
        if agents is not None and {u.pk for u in agents} != set(
            campaign.agents.values_list("pk", flat=True)
        ):
            campaign.agents.set(agents)
            changed.append("agents")
        if changed:
            audit_record(actor, Action.CAMPAIGN_CHANGED, campaign, fields=changed, **details)
    if is_active is not None:
        campaign_set_active(campaign=campaign, is_active=is_active, actor=actor)
    return campaign


def campaign_set_active(*, campaign: Campaign, is_active: bool, actor=None) -> Campaign:
    """(De)activate. An inactive campaign accepts no new entry points and its pages' deliveries
    are kept but ignored (messenger.services). Only a real change is recorded: a conditional
    UPDATE, so of two admins pressing the same button one entry is kept."""
    with transaction.atomic():
        changed = Campaign.objects.filter(pk=campaign.pk, is_active=not is_active).update(
            is_active=is_active
        )
        campaign.is_active = is_active
        if changed:
            action = Action.CAMPAIGN_ACTIVATED if is_active else Action.CAMPAIGN_DEACTIVATED
            audit_record(actor, action, campaign)
    return campaign


# --- Entry points ---------------------------------------------------------------------------
class CampaignInactive(Exception):
    """An inactive campaign accepts no new entry points."""


CAMPAIGN_INACTIVE_NO_NEW_ENTRY_POINTS = (
    "This campaign is inactive: it accepts no new entry points. Activate it first."
)


def campaign_check_accepts_entry_points(campaign: Campaign) -> None:
    """Raise CampaignInactive unless the campaign may get a new entry point (any kind's)."""
    if not campaign.is_active:
        raise CampaignInactive(CAMPAIGN_INACTIVE_NO_NEW_ENTRY_POINTS)


@transaction.atomic
def facebook_page_entry_point_create(*, campaign: Campaign, name: str, actor=None) -> EntryPoint:
    # The campaign's row is locked, so a deactivation at the same moment waits, then holds.
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign_check_accepts_entry_points(campaign)
    entry_point = EntryPoint.objects.create(campaign=campaign, name=name, kind="facebook_page")
    FacebookPage.objects.create(entry_point=entry_point)
    audit_record(actor, Action.ENTRY_POINT_CREATED, entry_point, kind=entry_point.kind)
    return entry_point


@dataclass(frozen=True)
class CredentialCheck:
    """What checking a page's credentials against the Graph API found.

    `field` names the credential at fault (for the form to show the message beside it), or is
    empty when the problem is not one field's (Facebook unreachable). `connected_elsewhere`: the
    live entry point that holds the page the token opens (the page was not connected here).
    """

    ok: bool
    message: str
    field: str = ""
    connected_elsewhere: EntryPoint | None = None


@sensitive_variables("app_secret", "page_access_token", "secret")
def facebook_page_save_credentials(
    *,
    page: FacebookPage,
    app_id: str,
    app_secret: str = "",
    page_access_token: str = "",
    actor=None,
    move: bool = False,
) -> CredentialCheck | None:
    """Save the credentials (blank secrets keep the stored ones), then check them.

    The entry is saved even when the check fails, so the admin can fix one field at a time.
    Returns None when there is not yet enough to check. Must not run inside a transaction:
    the check waits on Facebook, and a transaction held meanwhile would stall the webhook.
    `move`: see `facebook_page_check_credentials`."""
    changed = []
    if page.app_id != app_id.strip():
        page.app_id = app_id.strip()
        changed.append("app_id")
    for name, secret in (("app_secret", app_secret), ("page_access_token", page_access_token)):
        if secret:
            page.set_secret(name, secret.strip())
            changed.append(name)
    with transaction.atomic(durable=True):  # outermost: see facebook_page_check_credentials
        page.save(
            update_fields=[
                "app_id",
                "app_secret_ciphertext",
                "app_secret_hint",
                "page_access_token_ciphertext",
                "page_access_token_hint",
            ]
        )
        if changed:  # the names of what changed, never the values
            audit_record(actor, Action.CREDENTIALS_SAVED, page.entry_point, fields=changed)
    if not page.has_credentials:
        return None
    return facebook_page_check_credentials(page=page, actor=actor, move=move)


def facebook_page_check_credentials(
    *, page: FacebookPage, actor=None, move: bool = False
) -> CredentialCheck:
    """Ask Graph `GET /me` with the page token and appsecret_proof (no transaction is open
    meanwhile); store what it says. A page already connected to another live entry point is
    not connected here (its conversations would split between the two) unless `move`, which
    archives the other entry point."""
    identity, failure = _page_identity(page)
    try:
        # Durable: it must be the outermost transaction. A caller's transaction would have been
        # held open across the Graph call above (stalling the webhook's writes meanwhile).
        with transaction.atomic(durable=True):
            if failure is not None:
                return _store_check(page, *failure)
            return _connect_page(page, identity, actor=actor, move=move)
    except IntegrityError:
        # Another save connected the same page a moment ago (the database's constraint
        # decided): name it, as if it had been there before.
        return _refuse_page_connected_elsewhere(page, identity)


def _page_identity(page):
    """(identity, None) from Graph `GET /me`, or (None, (CredentialCheck, token status))."""
    try:
        return graph.GraphClient.for_page(page).get_page_identity(), None
    except SecretUnreadable as exc:
        field = "app_secret" if exc.field_label == "App Secret" else "page_access_token"
        return None, (CredentialCheck(False, str(exc), field), "unverified")
    except graph.GraphError as exc:
        status = "invalid" if isinstance(exc, graph.TokenInvalid) else "unverified"
        return None, (_explain_credential_error(exc), status)


def _connect_page(page, identity, *, actor, move):
    holder = _live_entry_point_holding(identity.id, besides=page)
    if holder is not None and not move:
        return _refuse_page_connected_elsewhere(page, identity, holder)
    if holder is not None:
        entry_point_archive(entry_point=holder, actor=actor, moved_to=page.entry_point)
    page.page_id, page.page_name = identity.id, identity.name
    check = CredentialCheck(True, f"Connected to the Facebook Page “{identity.name}”.")
    _store_check(page, check, "valid")
    if holder is not None:
        audit_record(
            actor,
            Action.PAGE_MOVED,
            page.entry_point,
            page_id=identity.id,
            page_name=identity.name,
            from_entry_point=holder.name,
            from_campaign=holder.campaign.name,
        )
    return check


def _live_entry_point_holding(page_id, *, besides):
    other = (
        FacebookPage.objects.select_related("entry_point__campaign")
        .filter(page_id=page_id, entry_point_archived=False)
        .exclude(pk=besides.pk)
        .first()
    )
    return other.entry_point if other else None


def _refuse_page_connected_elsewhere(page, identity, holder=None):
    holder = holder or _live_entry_point_holding(identity.id, besides=page)
    where = (
        f"campaign “{holder.campaign.name}”, entry point “{holder.name}”"
        if holder
        else "another entry point"
    )
    message = (
        f"The Facebook Page “{identity.name}” ({identity.id}) is already connected to {where}. "
        "Move it here (that entry point is then archived; its conversations are kept), or "
        "paste the token of another page."
    )
    page.page_id, page.page_name = "", ""
    return _store_check(page, CredentialCheck(False, message, "", holder), "unverified")


def _store_check(page, check, status):
    now = timezone.now()
    page.token_status = status
    page.credentials_checked_at = now
    page.last_error = "" if check.ok else check.message
    page.last_error_at = None if check.ok else now
    page.save(
        update_fields=[
            "page_id",
            "page_name",
            "token_status",
            "credentials_checked_at",
            "last_error",
            "last_error_at",
        ]
    )
    logger.info(
        "credentials check entry_point=%s ok=%s status=%s", page.entry_point_id, check.ok, status
    )
    return check


def _explain_credential_error(exc: graph.GraphError) -> CredentialCheck:
    if isinstance(exc, graph.TokenInvalid):
        return CredentialCheck(
            False,
            "Facebook rejected the Page Access Token: it is invalid or has expired. In your "
            "app's Messenger settings, generate a new token for the page and paste it here.",
            "page_access_token",
        )
    if isinstance(exc, graph.InvalidRequest):
        # The only parameters of this call are the token and the appsecret_proof: with a valid
        # token, a code-100 refusal means the proof, i.e. the App Secret, is wrong.
        return CredentialCheck(
            False,
            "The App Secret does not belong to the app that made this Page Access Token. Copy "
            "it again from the app's Settings → Basic.",
            "app_secret",
        )
    if isinstance(exc, graph.Unreachable):
        return CredentialCheck(
            False,
            f"Facebook's Graph API at {settings.GRAPH_API_URL} could not be reached "
            f"({exc.message}). Your settings are saved; press “Save and check” again in a moment.",
        )
    if isinstance(exc, graph.Transient | graph.RateLimited):
        return CredentialCheck(
            False,
            "Facebook's Graph API is having a temporary problem. Your settings are saved; "
            "press “Save and check” again in a moment.",
        )
    if isinstance(exc, graph.PermissionMissing):
        return CredentialCheck(
            False,
            f"Facebook refused the check for lack of a permission: {exc}. Make sure the token "
            "was generated for this page with the pages_messaging permission.",
            "page_access_token",
        )
    return CredentialCheck(False, f"Facebook refused the credentials: {exc}.")


# --- Archive and erase ------------------------------------------------------------------------
class EntryPointArchived(Exception):
    """The entry point is archived: kept to read, no longer to change or connect."""


ARCHIVED_READ_ONLY = "This entry point is archived: it can be read and erased, not changed."


class EntryPointNotArchived(Exception):
    """Its conversations can be erased only once the entry point is archived."""


@dataclass(frozen=True)
class ConversationsSize:
    """What an entry point's conversations hold: what archiving keeps and erasing deletes."""

    contacts: int
    messages: int
    deliveries: int  # webhook posts kept raw: they hold the customers' messages too

    @property
    def conversations(self):
        """ "1 contact and 2 messages"."""
        return f"{_count(self.contacts, 'contact')} and {_count(self.messages, 'message')}"

    def __str__(self):
        """ "1 contact, 2 messages and 1 webhook delivery"."""
        return (
            f"{_count(self.contacts, 'contact')}, {_count(self.messages, 'message')} and "
            f"{_count(self.deliveries, 'webhook delivery', 'webhook deliveries')}"
        )


def _count(n, one, many=None):
    return f"{n} {one if n == 1 else many or one + 's'}"


@transaction.atomic
def entry_point_archive(
    *, entry_point: EntryPoint, actor=None, moved_to: EntryPoint | None = None
) -> EntryPoint:
    """Archive an entry point instead of deleting it. Its Webhook URL and verify token are
    dropped (Facebook's posts and handshakes get 404; a delivery stored before and still
    waiting is ignored), it leaves the builder's lists and the agents' desktop, and its
    conversations stay, for admins to read. Its page may be connected again elsewhere
    (`moved_to`: it is being, and the audit entry says where). Idempotent: of two archives at
    once, one does it (a conditional UPDATE) and is recorded."""
    now = timezone.now()
    archived = EntryPoint.objects.filter(pk=entry_point.pk, is_archived=False).update(
        is_archived=True, archived_at=now
    )
    if not archived:
        entry_point.refresh_from_db(fields=["is_archived", "archived_at"])
        return entry_point
    entry_point.is_archived, entry_point.archived_at = True, now
    page = entry_point.facebook_page
    page.webhook_key, page.verify_token, page.webhook_verified_at = None, "", None
    page.entry_point_archived = True  # frees its page id for another entry point
    # Saving drops this process's cache of webhook pages; others see it within its 10 s, and
    # what they store meanwhile is ignored by the workers.
    page.save(
        update_fields=["webhook_key", "verify_token", "webhook_verified_at", "entry_point_archived"]
    )
    details = {}
    if moved_to is not None:
        details = {
            "page_moved_to": {"entry_point": moved_to.name, "campaign": moved_to.campaign.name}
        }
    audit_record(actor, Action.ENTRY_POINT_ARCHIVED, entry_point, **details)
    logger.info("entry point archived entry_point=%s", entry_point.pk)
    return entry_point


def entry_point_conversations_size(entry_point: EntryPoint) -> ConversationsSize:
    contacts, messages = desktop_selectors.conversation_counts(entry_point)
    return ConversationsSize(contacts, messages, delivery_log.count(entry_point.facebook_page))


@transaction.atomic
def entry_point_erase_conversations(*, entry_point: EntryPoint, actor=None) -> ConversationsSize:
    """Delete an archived entry point's contacts, messages, kept files and stored webhook
    posts, for good; the entry point itself stays archived. Returns what was erased. The
    only way its contacts are deleted: the database refuses the cascade (PROTECT)."""
    if not entry_point.is_archived:
        raise EntryPointNotArchived(
            "Archive the entry point first: its conversations can be erased only once its "
            "webhook is off."
        )
    contacts, messages = desktop.conversations_erase(entry_point=entry_point)
    erased = ConversationsSize(contacts, messages, delivery_log.erase(entry_point.facebook_page))
    audit_record(
        actor,
        Action.CONVERSATIONS_ERASED,
        entry_point,
        contacts=erased.contacts,
        messages=erased.messages,
        deliveries=erased.deliveries,
    )
    logger.info("conversations erased entry_point=%s: %s", entry_point.pk, erased)
    return erased


# --- Webhook --------------------------------------------------------------------------------
class WebhookAlreadyExists(Exception):
    """Get Webhook on a page that has one: rotating breaks the current connection, so ask."""


def facebook_page_generate_webhook(
    *, page: FacebookPage, rotate: bool = False, actor=None
) -> FacebookPage:
    if page.entry_point.is_archived:  # a webhook would bring the archived page back to life
        raise EntryPointArchived(ARCHIVED_READ_ONLY)
    if page.has_webhook and not rotate:
        raise WebhookAlreadyExists(
            "This page already has a webhook. Rotating it makes a new URL and verify token; "
            "Facebook stops delivering until you paste the new ones into your app."
        )
    rotating = page.has_webhook
    page.rotate_webhook()
    with transaction.atomic():
        page.save(
            update_fields=[
                "webhook_key",
                "verify_token",
                "webhook_created_at",
                "webhook_verified_at",
            ]
        )
        action = Action.WEBHOOK_ROTATED if rotating else Action.WEBHOOK_GENERATED
        audit_record(actor, action, page.entry_point)  # the URL and token are secrets
    logger.info("webhook generated entry_point=%s rotated=%s", page.entry_point_id, rotate)
    return page


def facebook_page_connect_automatically(*, page: FacebookPage, callback_url: str, actor=None):
    """Connect automatically (set the app's webhook, subscribe the page: messenger.health) and
    keep which steps worked in the audit log (not the URL: it holds the webhook's key)."""
    steps = setup_health.connect_automatically(page, callback_url)
    audit_record(
        actor,
        Action.PAGE_CONNECTED,
        page.entry_point,
        steps=[{"step": step.label, "ok": step.ok} for step in steps],
    )
    return steps


def webhook_path(page: FacebookPage) -> str:
    return reverse("messenger:webhook", args=[page.webhook_key])


def webhook_url(page: FacebookPage, request=None) -> str:
    """The absolute Webhook URL: from PUBLIC_BASE_URL, else from the request's own origin."""
    if not page.has_webhook:
        return ""
    path = webhook_path(page)
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


# Host names that only this machine or its local network can reach.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def webhook_url_problem(url: str) -> str:
    """Why Facebook could not call this Webhook URL, or "" when it looks public.

    Facebook only calls public HTTPS URLs with a certificate it trusts; a URL of this machine
    (127.0.0.1, localhost, a private address, plain http) is only good for the sandbox.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not address.is_global:
        return f"{host} is an address of this machine or its private network."
    if address is None and ("." not in host or host.endswith(_LOCAL_SUFFIXES)):
        return f"{host or 'This host'} is a name only this machine or its network knows."
    if parts.scheme != "https":
        return "Facebook only calls https:// URLs."
    return ""


def facebook_page_mark_webhook_verified(*, page: FacebookPage) -> None:
    page.webhook_verified_at = timezone.now()
    page.save(update_fields=["webhook_verified_at"])
    logger.info("webhook verified entry_point=%s", page.entry_point_id)


# --- Secrets at rest -------------------------------------------------------------------------
SECRET_COLUMNS = {
    "app_secret_ciphertext": "App Secret",
    "page_access_token_ciphertext": "Page Access Token",
}


@dataclass
class SecretsRotation:
    """What `secrets_reencrypt` did: counts, and the pages whose secrets no key can decrypt."""

    pages: int = 0
    reencrypted: int = 0
    unreadable: list = field(default_factory=list)  # [(FacebookPage, [field labels])]


def secrets_reencrypt() -> SecretsRotation:
    """Encrypt every stored secret again with the first FIELD_ENCRYPTION_KEY key, so the old keys
    can be dropped. A secret no configured key can decrypt is left as it is (never re-encrypted
    as if its ciphertext were the secret) and reported: an admin must enter it again."""
    result = SecretsRotation()
    pages = FacebookPage.objects.select_related("entry_point__campaign").order_by("pk")
    for page in pages.only("pk", "entry_point", *SECRET_COLUMNS):
        result.pages += 1
        current = {column: getattr(page, column) for column in SECRET_COLUMNS}
        changes, unreadable = {}, []
        for column, label in SECRET_COLUMNS.items():
            if not current[column]:
                continue
            try:
                changes[column] = reencrypt(current[column], label)
            except SecretUnreadable:
                unreadable.append(label)
        if unreadable:
            result.unreadable.append((page, unreadable))
        if changes:
            # Only if nobody saved new secrets meanwhile: theirs are already under the new key.
            updated = FacebookPage.objects.filter(pk=page.pk, **current).update(**changes)
            result.reencrypted += len(changes) if updated else 0
    logger.info(
        "secrets re-encrypted: %s of %s pages' secrets, %s pages unreadable",
        result.reencrypted,
        result.pages,
        len(result.unreadable),
    )
    return result
