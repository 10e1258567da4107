"""The setup health of a Facebook Page entry point, asked of the Graph API, and the one-click
"Connect automatically" (steps 8 and 9 of shared/SETUP-JOURNEY.md).

Every text here is for the admin: it says what is wrong and what to press or paste, and never
contains a secret (tokens and the app secret stay out of it).
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.utils import timezone

from messenger import graph
from messenger.models import FacebookPage, PageRecovery
from messenger.tokens import mark_token_invalid

logger = logging.getLogger(__name__)

OK, WARN, ERROR, UNKNOWN = "ok", "warn", "error", "unknown"
_SEVERITY = {OK: 0, UNKNOWN: 1, WARN: 2, ERROR: 3}

# What we ask Facebook to deliver: Messenger's fields the desktop uses or stores.
WEBHOOK_FIELDS = (
    "messages",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "messaging_postbacks",
    "messaging_referrals",
    "message_reactions",
    "message_edits",
    "messaging_handovers",
    "standby",
)
# Without these the desktop misses messages, delivery or read ticks, or replies sent from the
# Page inbox (and the echoes that confirm our own sends).
REQUIRED_FIELDS = ("messages", "message_deliveries", "message_reads", "message_echoes")
EXPIRY_WARNING = timedelta(days=7)

RENEW_PAGE_ACCESS_FIX = (
    "In your app's Messenger settings, generate a new Page Access Token for the page and paste "
    "it in the Page Access Token field."
)
RECOPY_APP_CREDENTIALS_FIX = (
    "Copy the App ID and the App Secret again from the app's Settings → Basic (Facebook shows "
    "the secret after you re-enter your password)."
)
UNREACHABLE = "Could not reach Facebook"


@dataclass(frozen=True)
class Check:
    """One line of the health card. `state` is one of ok, warn, error, unknown; `fix` says
    what the admin can do about it (empty when nothing needs doing)."""

    key: str
    label: str
    state: str
    detail: str
    fix: str = ""


@dataclass
class PageHealth:
    checks: list[Check]
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def state(self):
        """The worst state of all checks."""
        return max((c.state for c in self.checks), key=_SEVERITY.__getitem__, default=UNKNOWN)

    def __getitem__(self, key):
        return next(c for c in self.checks if c.key == key)


@dataclass(frozen=True)
class _Answer:
    """What one Graph call gave: its value, or the GraphError it raised."""

    value: object = None
    error: graph.GraphError | None = None


# --- The health card ---------------------------------------------------------------------------
def check_page(page: FacebookPage) -> PageHealth:
    """Ask Graph about the page's token, app and subscription, and read what our webhook saw.

    Makes up to three Graph calls (`/me`, `debug_token`, `subscribed_apps`); once Facebook is
    unreachable the remaining ones are not tried. Changes nothing in the database.
    """
    graph_checks = _graph_checks(page)
    story = [c for c in (_policy(page), _recovery(page)) if c is not None]
    return PageHealth(
        [*story, *graph_checks, _webhook_verified(page), _last_event(page), _last_error(page)]
    )


def _graph_checks(page):
    missing = _missing_credentials(page)
    if missing:
        return [
            Check("token", "Page Access Token", UNKNOWN, missing),
            Check("app_secret", "App ID and App Secret", UNKNOWN, missing),
            Check("permissions", "Permissions and expiry", UNKNOWN, missing),
            Check("subscribed", "Page subscribed", UNKNOWN, missing),
        ]
    page_client = graph.GraphClient.for_page(page)
    calls = _Calls()
    identity = calls.run(page_client.get_page_identity)
    debug = calls.run(_app_client(page).debug_token, page.page_access_token)
    page_id = page.page_id or (identity.value.id if identity.value else "")
    subscribed_apps = calls.run(page_client.get_subscribed_apps, page_id) if page_id else None
    return [
        _token(page, identity),
        _app_secret(page, debug),
        _permissions(page, debug),
        _subscribed(page, subscribed_apps),
    ]


class _Calls:
    """Runs a check's Graph calls; after Facebook proved unreachable, skips the rest (each would
    wait for the full timeout)."""

    def __init__(self):
        self.unreachable = None

    def run(self, call, *args):
        if self.unreachable:
            return _Answer(error=self.unreachable)
        try:
            return _Answer(value=call(*args))
        except graph.Unreachable as exc:
            self.unreachable = exc
            return _Answer(error=exc)
        except graph.GraphError as exc:
            return _Answer(error=exc)


def _token(page, answer):
    label = "Page Access Token"
    error = answer.error
    if error is None:
        identity = answer.value
        if page.page_id and identity.id != page.page_id:
            return Check(
                "token",
                label,
                WARN,
                f"The token opens the page “{identity.name}”, not the page saved before.",
                "Press Save and check to switch to this page, or paste the token of the "
                "other page.",
            )
        return Check("token", label, OK, f"Opens the Facebook Page “{identity.name}”.")
    if isinstance(error, graph.TokenInvalid):
        return Check(
            "token",
            label,
            ERROR,
            "Facebook rejected the token: it is invalid or has expired.",
            RENEW_PAGE_ACCESS_FIX,
        )
    if isinstance(error, graph.InvalidRequest):
        # With a readable token, a code-100 refusal of /me is the appsecret_proof: the secret.
        return Check(
            "token",
            label,
            UNKNOWN,
            "Can't be checked until the App Secret is right.",
        )
    return _not_answered("token", label, error)


def _app_secret(page, answer):
    label = "App ID and App Secret"
    error = answer.error
    if isinstance(error, graph.TokenInvalid):
        return Check(
            "app_secret",
            label,
            ERROR,
            "Facebook refused them together: the App Secret or the App ID is wrong.",
            RECOPY_APP_CREDENTIALS_FIX,
        )
    if error is not None:
        return _not_answered("app_secret", label, error)
    token_app = str(answer.value.get("app_id") or "")
    if token_app and token_app != page.app_id:
        return Check(
            "app_secret",
            label,
            ERROR,
            f"The Page Access Token was made by another app (App ID {token_app}), not by "
            f"the app {page.app_id} entered here.",
            "Enter that app's App ID and App Secret, or generate the token in this app's "
            "Messenger settings.",
        )
    return Check("app_secret", label, OK, "Facebook accepts them, and they match the token.")


def _permissions(page, answer):
    label = "Permissions and expiry"
    if answer.error is not None:
        if isinstance(answer.error, graph.TokenInvalid):
            return Check("permissions", label, UNKNOWN, "Can't be checked without the App Secret.")
        return _not_answered("permissions", label, answer.error)
    data = answer.value
    if not data.get("is_valid"):
        return Check(
            "permissions",
            label,
            ERROR,
            "Facebook says the Page Access Token is no longer valid.",
            RENEW_PAGE_ACCESS_FIX,
        )
    findings = [
        _token_type(data),
        _messaging_scope(data, page.page_id),
        _metadata_scope(data),
        _expiry(data.get("expires_at")),
    ]
    return _combine("permissions", label, [f for f in findings if f])


def _token_type(data):
    if data.get("type") == "PAGE":
        return None
    return (
        ERROR,
        f"This is a {str(data.get('type') or 'unknown').lower()} token, not a Page token.",
        "Generate the token for the page in the app's Messenger settings.",
    )


def _messaging_scope(data, page_id):
    if "pages_messaging" not in (data.get("scopes") or []):
        return (
            ERROR,
            "The token lacks the pages_messaging permission, so replies can't be sent.",
            "Generate the token again and allow “Manage and access Page conversations in "
            "Messenger” when Facebook asks.",
        )
    targets = [
        g.get("target_ids") or []
        for g in data.get("granular_scopes") or []
        if g.get("scope") == "pages_messaging"
    ]
    if page_id and targets and not any(page_id in ids for ids in targets):
        return (
            ERROR,
            "pages_messaging is granted for other pages, not this one.",
            "Generate the token again and select this page when Facebook asks.",
        )
    return (OK, "pages_messaging granted.", "")


def _metadata_scope(data):
    if "pages_manage_metadata" in (data.get("scopes") or []):
        return None
    return (
        WARN,
        "Without pages_manage_metadata the page can't be subscribed from here.",
        "Subscribe the page in the app's Webhooks settings, or generate the token again "
        "allowing page management.",
    )


def _expiry(expires_at):
    if not expires_at:
        return (OK, "The token never expires.", "")
    when = datetime.fromtimestamp(expires_at, UTC)
    left = when - timezone.now()
    if left <= timedelta(0):
        return (ERROR, f"The token expired on {_day(when)}.", RENEW_PAGE_ACCESS_FIX)
    if left < EXPIRY_WARNING:
        return (
            WARN,
            f"The token expires on {_day(when)}, in {_days(left)}.",
            "Generate a Page Access Token that does not expire (from a long-lived user token) "
            "and paste it before then.",
        )
    return (OK, f"The token expires on {_day(when)}.", "")


def _subscribed(page, answer):
    label = "Page subscribed"
    if answer is None:
        return Check("subscribed", label, UNKNOWN, "Can't be checked before the token is.")
    if isinstance(answer.error, graph.TokenInvalid):
        return Check(
            "subscribed", label, UNKNOWN, "Can't be checked without a valid Page Access Token."
        )
    if isinstance(answer.error, graph.InvalidRequest):
        return Check(
            "subscribed", label, UNKNOWN, "Can't be checked until the App Secret is right."
        )
    if answer.error is not None:
        return _not_answered("subscribed", label, answer.error)
    ours = next((app for app in answer.value if str(app.get("id")) == page.app_id), None)
    if ours is None:
        others = ", ".join(str(app.get("name") or app.get("id")) for app in answer.value)
        return Check(
            "subscribed",
            label,
            ERROR,
            "The page is not subscribed to this app"
            + (f" (only to: {others})." if others else "."),
            "Press Connect automatically, or subscribe the page in the app's Messenger → "
            "Webhooks settings.",
        )
    fields = list(ours.get("subscribed_fields") or [])
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        return Check(
            "subscribed",
            label,
            WARN,
            f"Subscribed, but without {_and_list(missing)}.",
            f"Press Connect automatically, or tick {_and_list(missing)} in the app's "
            "Webhooks settings.",
        )
    return Check("subscribed", label, OK, f"Subscribed to {', '.join(fields)}.")


def _and_list(words):
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _webhook_verified(page):
    label = "Webhook verified"
    if page.webhook_verified_at:
        return Check(
            "webhook_verified",
            label,
            OK,
            f"Facebook verified the webhook on {_moment(page.webhook_verified_at)}.",
        )
    if page.has_webhook:
        return Check(
            "webhook_verified",
            label,
            WARN,
            "Facebook has not verified the webhook yet.",
            "Paste the Webhook URL and Verify Token into the app's Messenger → Webhooks "
            "settings and press Verify and save, or press Connect automatically.",
        )
    return Check("webhook_verified", label, WARN, "There is no webhook yet.", "Press Get Webhook.")


def _last_event(page):
    label = "Last event"
    if page.last_event_at:
        return Check("last_event", label, OK, f"Received on {_moment(page.last_event_at)}.")
    return Check(
        "last_event",
        label,
        WARN,
        "No event has arrived yet.",
        "Write to the page in Messenger (while the app is in development mode, from an account "
        "with a role on the app), or use the sandbox's customer simulator.",
    )


def _last_error(page):
    label = "Last error"
    if not page.last_error:
        return Check("last_error", label, OK, "No error recorded.")
    when = f" ({_moment(page.last_error_at)})" if page.last_error_at else ""
    return Check("last_error", label, ERROR, f"{page.last_error}{when}")


POLICY_FIX = (
    "Read Facebook's alert in the app's dashboard, fix what it names, and ask Facebook to review "
    "the decision; until then the page's messages may not reach the app."
)


def _policy(page):
    """Facebook's policy enforcement (messenger.processing.note_policy_enforcement): an alert
    until Facebook lifts it."""
    if not page.policy_action:
        return None
    did = {"block": "blocked", "warning": "warned", "warn": "warned"}.get(page.policy_action)
    what = f"Facebook {did or f'applied “{page.policy_action}” to'} the app"
    when = f" on {_moment(page.policy_at)}" if page.policy_at else ""
    state = WARN if did == "warned" else ERROR
    return Check(
        "policy", "Facebook policy", state, f"{what}{when}: {page.policy_reason}", POLICY_FIX
    )


def _recovery(page):
    """The latest gap recovery's story (messenger.recovery), for a week after it ran."""
    run = PageRecovery.objects.filter(
        facebook_page=page, started_at__gte=timezone.now() - timedelta(days=7)
    ).first()
    if run is None:
        return None
    label = "Missed messages"
    parts = []
    if run.trigger == PageRecovery.Trigger.SUBSCRIPTION_LOST:
        after = f" after {_clock(run.gap_started)}" if run.gap_started else ""
        parts.append(f"Facebook disabled the webhook: no event arrived{after}")
    else:
        parts.append(f"Recover pressed at {_clock(run.started_at)}")
    if run.resubscribed_at:
        parts.append(f"subscribed again at {_clock(run.resubscribed_at)}")
    if run.finished_at is None:
        parts.append("fetching the missed messages…")
        return Check("recovery", label, WARN, "; ".join(parts))
    count = run.recovered_count
    parts.append(f"{count} message{'' if count == 1 else 's'} recovered")
    detail = "; ".join(parts) + "."
    if run.error:
        return Check("recovery", label, ERROR, f"{detail} {run.error}", "Press Recover.")
    return Check("recovery", label, OK, detail)


def _clock(when):
    """14:02 today, else 29 Nov at 14:02."""
    local = timezone.localtime(when)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b} at {local:%H:%M}"


def _not_answered(key, label, error):
    if isinstance(error, graph.Unreachable):
        return Check(key, label, UNKNOWN, f"{UNREACHABLE} ({error.message}).", "Try again later.")
    if isinstance(error, graph.Transient | graph.RateLimited):
        return Check(
            key, label, UNKNOWN, "Facebook had a temporary problem.", "Try again in a moment."
        )
    return Check(key, label, ERROR, f"Facebook refused the check: {error}.")


def _combine(key, label, findings):
    """One check from several findings: the worst state, every sentence, the first fix."""
    state = max((f[0] for f in findings), key=_SEVERITY.__getitem__)
    detail = " ".join(f[1] for f in findings)
    fix = next((f[2] for f in findings if f[0] == state and f[2]), "")
    return Check(key, label, state, detail, fix)


def _missing_credentials(page):
    if not page.has_credentials:
        return "Enter the App ID, App Secret and Page Access Token, and press Save and check."
    unreadable = page.unreadable_secrets()
    if unreadable:
        return f"The saved {' and '.join(unreadable)} can't be decrypted: enter it again."
    return ""


def _app_client(page):
    return graph.GraphClient.for_app(page.app_id, page.app_secret)


def _moment(when):
    local = timezone.localtime(when)
    return f"{local.day} {local:%b %Y at %H:%M}"


def _day(when):
    local = timezone.localtime(when)
    return f"{local.day} {local:%b %Y}"


def _days(left):
    if left < timedelta(days=1):
        return "less than a day"
    days = int(left / timedelta(days=1) + 0.5)
    return "1 day" if days == 1 else f"{days} days"


# --- Connect automatically ---------------------------------------------------------------------
@dataclass(frozen=True)
class StepResult:
    label: str
    ok: bool
    detail: str


def connect_automatically(page: FacebookPage, callback_url: str) -> list[StepResult]:
    """Do steps 8 and 9 of the setup through the Graph API: set the app's webhook to
    `callback_url` with the page's verify token (Facebook verifies it with our webhook view,
    which records the verification), then subscribe the page to the app. Stops at the first
    failed step; a missing precondition fails before any Graph call."""
    problem = _connect_precondition(page, callback_url)
    if problem:
        return [StepResult("Check the settings", False, problem)]
    results = [_set_app_webhook(page, callback_url)]
    if results[-1].ok:
        results.append(_subscribe_page(page))
    logger.info(
        "connect automatically entry_point=%s: %s",
        page.entry_point_id,
        ", ".join("ok" if r.ok else "failed" for r in results),
    )
    return results


def _connect_precondition(page, callback_url):
    missing = _missing_credentials(page)
    if missing:
        return missing
    if not page.page_id:
        return "Press Save and check first, so that we know which page the token opens."
    if not page.has_webhook:
        return "Press Get Webhook first: Facebook needs the Webhook URL and Verify Token."
    parts = urlsplit(callback_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return (
            "The Webhook URL is not a full address Facebook can call. Set PUBLIC_BASE_URL to "
            "this server's public address."
        )
    return ""


def _set_app_webhook(page, callback_url):
    label = "Set the app's webhook"
    try:
        _app_client(page).subscribe_app_webhook(
            page.app_id, callback_url, page.verify_token, WEBHOOK_FIELDS
        )
    except graph.CallbackVerificationFailed as exc:
        return StepResult(
            label,
            False,
            f"Facebook could not verify the Webhook URL {callback_url}: {exc.message} "
            "Check that this server is reachable from the internet at that address and that "
            "the webhook was not rotated since, then try again.",
        )
    except graph.TokenInvalid:
        return StepResult(
            label,
            False,
            f"Facebook refused the App ID and App Secret. {RECOPY_APP_CREDENTIALS_FIX}",
        )
    except graph.GraphError as exc:
        return StepResult(label, False, _refusal(exc, "You must be an admin of the app."))
    return StepResult(
        label, True, f"Facebook verified {callback_url} and will send the page's events there."
    )


def _subscribe_page(page):
    label = "Subscribe the page"
    try:
        graph.GraphClient.for_page(page).subscribe_page(page.page_id, WEBHOOK_FIELDS)
    except graph.TokenInvalid as exc:
        mark_token_invalid(page, exc, while_doing="subscribing the page to the app")
        return StepResult(
            label, False, f"Facebook rejected the Page Access Token. {RENEW_PAGE_ACCESS_FIX}"
        )
    except graph.PermissionMissing as exc:
        return StepResult(
            label,
            False,
            f"Facebook refused: {exc.message} Generate the Page Access Token again allowing "
            "page management (pages_manage_metadata), or subscribe the page in the app's "
            "Webhooks settings.",
        )
    except graph.GraphError as exc:
        return StepResult(label, False, _refusal(exc, ""))
    name = page.page_name or "The page"
    return StepResult(label, True, f"“{name}” now sends messages and delivery receipts to the app.")


def _refusal(exc, hint):
    if isinstance(exc, graph.Unreachable):
        return f"{UNREACHABLE} ({exc.message}). Nothing was changed; try again later."
    if isinstance(exc, graph.Transient | graph.RateLimited):
        return "Facebook had a temporary problem. Try again in a moment."
    return f"Facebook refused: {exc}. {hint}".strip()


# --- Token lifecycle -----------------------------------------------------------------------------
def check_token_lifecycle(page: FacebookPage) -> str:
    """Ask debug_token about the page token and store its expiry and scopes on the page; mark
    the token invalid when Facebook says so. Returns a warning for the admin when the token is
    invalid or expires within 7 days, else "". Raises GraphError when Graph can't tell (the
    app token refused, Facebook unreachable)."""
    if _missing_credentials(page):
        return ""
    data = _app_client(page).debug_token(page.page_access_token)
    expires_at = data.get("expires_at") or 0
    page.token_expires_at = datetime.fromtimestamp(expires_at, UTC) if expires_at else None
    page.token_scopes = [str(s) for s in data.get("scopes") or []]
    page.token_checked_at = timezone.now()
    page.save(update_fields=["token_expires_at", "token_scopes", "token_checked_at"])

    if not data.get("is_valid"):
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        reason = graph.TokenInvalid(
            str(error.get("message") or "the token is not valid"),
            code=error.get("code"),
            subcode=error.get("subcode"),
        )
        mark_token_invalid(page, reason, while_doing="checking its expiry")
        logger.info("token check entry_point=%s: invalid", page.entry_point_id)
        return f"Facebook says the Page Access Token is no longer valid. {RENEW_PAGE_ACCESS_FIX}"
    if page.token_expires_at and page.token_expires_at - timezone.now() < EXPIRY_WARNING:
        logger.info("token check entry_point=%s: expires soon", page.entry_point_id)
        return (
            f"The Page Access Token expires on {_day(page.token_expires_at)}. Generate one "
            "that does not expire and paste it before then."
        )
    logger.info("token check entry_point=%s: valid", page.entry_point_id)
    return ""


def check_all_tokens() -> dict:
    """The daily token check of every page with credentials. Returns counts: checked,
    warnings, failed."""
    counts = {"checked": 0, "warnings": 0, "failed": 0}
    checked = checked_pages(pages_with_credentials(), check_token_lifecycle, "token check", counts)
    for _, warning in checked:
        counts["warnings"] += bool(warning)
    return counts


def checked_pages(pages, check, what, counts):
    """(page, check(page)) of each page Facebook answered for, counted in counts["checked"].
    One page's Graph error is logged and counted as failed without stopping the others; an
    unreachable Facebook stops the run (the next one catches up)."""
    for page in pages:
        try:
            result = check(page)
        except graph.Unreachable as exc:
            logger.warning("%ss stopped, Facebook unreachable: %s", what, exc.message)
            counts["failed"] += 1
            return
        except graph.GraphError as exc:
            logger.info("%s entry_point=%s failed: %s", what, page.entry_point_id, exc)
            counts["failed"] += 1
            continue
        counts["checked"] += 1
        yield page, result


def pages_with_credentials():
    """Facebook Pages whose token can be checked (App ID and both secrets saved), but not of
    archived entry points."""
    return (
        FacebookPage.objects.filter(entry_point__is_archived=False)
        .exclude(app_id="")
        .exclude(app_secret_ciphertext="")
        .exclude(page_access_token_ciphertext="")
        .order_by("pk")
    )
