"""Setting a Facebook Page entry point up in the builder: its creation, its Messenger
credentials (checked with Graph), its webhook, Connect automatically, archiving its page, and
the re-encryption of its secrets. Registered as the facebook_page kind's hooks (messenger.apps).

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

from campaigns.audit import Action, audit_record
from campaigns.kinds import KindStatus
from campaigns.models import Campaign, EntryPoint
from campaigns.secrets import SecretUnreadable, reencrypt
from campaigns.services import (
    ARCHIVED_READ_ONLY,
    EntryPointArchived,
    entry_point_archive,
    entry_point_create,
)
from messenger import delivery_log, graph
from messenger import health as setup_health
from messenger.models import FacebookPage

logger = logging.getLogger(__name__)

KIND = "facebook_page"


# --- The entry point --------------------------------------------------------------------------
@transaction.atomic
def facebook_page_entry_point_create(*, campaign: Campaign, name: str, actor=None) -> EntryPoint:
    """The kind's `create_entry_point` hook: the entry point and its (empty) page settings."""
    entry_point = entry_point_create(campaign=campaign, kind=KIND, name=name, actor=actor)
    FacebookPage.objects.create(entry_point=entry_point)
    return entry_point


def facebook_page_archive(entry_point: EntryPoint) -> None:
    """The kind's `archive` hook, in the archive's transaction: the Webhook URL and verify token
    are dropped (Facebook's posts and handshakes get 404; a delivery stored before and still
    waiting is ignored) and the page id is freed for another entry point."""
    page = entry_point.facebook_page
    page.webhook_key, page.verify_token, page.webhook_verified_at = None, "", None
    page.entry_point_archived = True
    # Saving drops this process's cache of webhook pages; others see it within its 10 s, and
    # what they store meanwhile is ignored by the workers.
    page.save(
        update_fields=["webhook_key", "verify_token", "webhook_verified_at", "entry_point_archived"]
    )


def facebook_page_status(entry_point: EntryPoint) -> KindStatus:
    """The kind's `status` hook: the page's connection, in a word, for the campaign page."""
    page = entry_point.facebook_page
    where = f"{page.page_name} · page {page.page_id} · " if page.page_name else ""
    if not entry_point.campaign.is_active:
        return KindStatus(f"{where}Paused: campaign inactive", "warn")
    if page.token_status == FacebookPage.TokenStatus.INVALID:
        return KindStatus(f"{where}Token invalid", "error")
    if page.has_credentials and page.credentials_checked_at and not page.page_id:
        return KindStatus("Not connected", "error")
    if page.token_expires_soon:
        return KindStatus(f"{where}Token expires {page.token_expires_at:%-d %b}", "warn")
    if page.webhook_verified_at and page.token_status == FacebookPage.TokenStatus.VALID:
        return KindStatus(f"{where}Connected", "ok")
    if page.has_webhook:
        return KindStatus(f"{where}Waiting for Facebook", "warn")
    if page.has_credentials:
        return KindStatus(f"{where}Needs webhook", "warn")
    return KindStatus("Needs credentials", "warn")


def facebook_page_archive_consequences(entry_point: EntryPoint) -> list[str]:
    """The kind's `archive_consequences` hook: what archiving stops, said before it is done."""
    return [
        "Its Webhook URL stops working: Facebook's posts to it are refused. If other pages of "
        "the same Facebook app use this URL, connect one of them again first (Connect "
        "automatically)."
    ]


def facebook_page_describe(entry_point: EntryPoint) -> str:
    """The kind's `describe` hook: the page it was connected to, for its archived page."""
    page = entry_point.facebook_page
    return f"{page.page_name} (page {page.page_id})" if page.page_name else ""


def facebook_page_archived_links(entry_point: EntryPoint) -> list[tuple[str, str]]:
    """The kind's `archived_links` hook: its delivery log stays readable once archived."""
    return [("Delivery log", reverse("messenger_builder:deliveries", args=[entry_point.pk]))]


def facebook_page_deliveries_count(entry_point: EntryPoint) -> int:
    """The kind's `deliveries_count` hook: webhook posts kept raw (they hold messages too)."""
    return delivery_log.count(entry_point.facebook_page)


def facebook_page_deliveries_erase(entry_point: EntryPoint) -> int:
    """The kind's `deliveries_erase` hook, in the erase's transaction."""
    return delivery_log.erase(entry_point.facebook_page)


# --- Credentials ------------------------------------------------------------------------------
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
