"""Customers' profiles from the User Profile API: fetched for new contacts, refreshed when an
agent asks or when stale, and asked for again by a sweep when a first fetch was lost."""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from agent_desktop import media
from agent_desktop import services as desktop
from agent_desktop.models import Contact
from messenger import events as ev
from messenger import graph
from messenger.contact_details import GENDER, gender
from messenger.delivery_queue import FETCH_PROFILES, enqueue, enqueue_in_batches
from messenger.models import FacebookPage
from messenger.tokens import mark_token_invalid

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("first_name", "last_name", "profile_pic", "locale", "timezone", "gender")
BASIC_PROFILE_FIELDS = ("first_name", "last_name", "profile_pic")
PROFILE_MAX_AGE = timedelta(days=1)
PROFILE_PICTURE_MAX_BYTES = 5 * 1024 * 1024
# A contact whose first profile fetch has not succeeded is asked for again by its messages
# after this long.
PROFILE_ASK_AGAIN_AFTER = timedelta(minutes=2)


def _profile_is_due(contact):
    fetched = contact.profile_fetched_at
    return fetched is None or fetched < timezone.now() - PROFILE_MAX_AGE


def profile_wanted(contact, created):
    """Ask for the profile of a new contact, and again for one whose profile is due (stale, or
    never fetched: the token was invalid, the broker was down) once the first fetch has had its
    chance. Not for every message meanwhile: a burst from a new customer would enqueue one fetch
    per delivery before the first one ran."""
    if created:
        return True
    first_chance_over = contact.created_at < timezone.now() - PROFILE_ASK_AGAIN_AFTER
    return _profile_is_due(contact) and first_chance_over


def enqueue_profile_fetch(contact_ids):
    """Ask for the profiles of these contacts, as one task."""
    return enqueue(FETCH_PROFILES, list(contact_ids))


def sweep_missing_profiles(limit=500):
    """Ask again for the profiles of contacts whose first fetch was lost (the broker was down,
    the worker died) or ran out of retries: never fetched, created more than
    `PROFILE_ASK_AGAIN_AFTER` ago, their page's token not known to be invalid (those wait for a
    new token). Returns how many."""
    waiting = list(
        Contact.objects.filter(
            profile_fetched_at=None,
            created_at__lt=timezone.now() - PROFILE_ASK_AGAIN_AFTER,
            entry_point__facebook_page__isnull=False,
            entry_point__is_archived=False,
        )
        .exclude(entry_point__facebook_page__token_status=FacebookPage.TokenStatus.INVALID)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return enqueue_in_batches(
        enqueue_profile_fetch, waiting, "profile sweep asked again for %s contacts"
    )


def enqueue_profile_refresh(contact_id):
    """An agent's "refresh profile": fetch it again now, however fresh it is."""
    Contact.objects.filter(pk=contact_id).update(profile_fetched_at=None)
    return enqueue_profile_fetch([contact_id])


# Profile calls made at once by one task: Graph answers in milliseconds to a few hundred of
# them, and a worker waiting on one call at a time would spend the burst of new customers idle.
PROFILE_FETCH_THREADS = 8


def fetch_profiles(contact_ids) -> list[int]:
    """Fill the profiles of these contacts (those due) from the User Profile API, up to
    `PROFILE_FETCH_THREADS` Graph calls at once, the results stored one by one; every outcome
    but Facebook's temporary errors is settled on the contact or its page. Returns the ids to
    try again later."""
    again = []
    by_page = {}
    for contact in _contacts_due(contact_ids):
        by_page.setdefault(contact.entry_point.facebook_page, []).append(contact)
    for page, contacts in by_page.items():
        client = _client_or_settle(page, contacts)
        if client is None:
            continue
        with ThreadPoolExecutor(min(PROFILE_FETCH_THREADS, len(contacts))) as pool:
            outcomes = list(pool.map(partial(_outcome, _remote_profile, client, page), contacts))
        for contact, outcome in zip(contacts, outcomes, strict=True):
            try:
                _settle_profile(contact, page, outcome)
            except graph.GraphError as exc:
                if exc.retryable:
                    again.append(contact.pk)
    return again


def _contacts_due(contact_ids):
    contacts = Contact.objects.select_related("entry_point__facebook_page").filter(
        pk__in=list(contact_ids)
    )
    return [contact for contact in contacts if _profile_is_due(contact)]


def _client_or_settle(page, contacts):
    """A Graph client for the page, or None after settling what its contacts wait for."""
    if page.token_status == FacebookPage.TokenStatus.INVALID:
        # The profile waits for a new token; the contact's next message asks again.
        logger.info("profile fetch skipped for %s contacts: page token invalid", len(contacts))
        return None
    try:
        return graph.GraphClient.for_page(page)
    except Exception as exc:  # SecretUnreadable: the admin must enter the secrets again
        for contact in contacts:
            _profile_failed(contact, str(exc))
        return None


def _outcome(call, *args):
    """The call's result, or the exception it raised (to be settled by the caller's thread)."""
    try:
        return call(*args)
    except Exception as exc:
        return exc


def _remote_profile(client, page, contact):
    """The network part of a profile fetch (no database: it runs in a pool's thread). Returns
    (profile, picture or None, whether only the basic fields may be asked for)."""
    basic_only = page.profile_fields_basic_only
    profile = None
    if not basic_only:
        try:
            profile = client.get_user_profile(contact.external_id, PROFILE_FIELDS)
        except graph.ProfileFieldsDenied:
            basic_only = True  # the page lacks the extended profile permissions
    if profile is None:
        profile = client.get_user_profile(contact.external_id, BASIC_PROFILE_FIELDS)
    url = profile.get("profile_pic")
    picture = _download_picture(contact, url) if isinstance(url, str) and url else None
    return profile, picture, basic_only


def _settle_profile(contact, page, outcome):
    """Store a fetched profile, or settle why there is none. Raises the graph errors that may
    succeed later."""
    if isinstance(outcome, graph.ProfileUnavailable):
        return _profile_failed(contact, "Facebook has no profile for this person")
    if isinstance(outcome, graph.TokenInvalid):
        mark_token_invalid(page, outcome, while_doing="fetching a customer's profile")
        raise outcome
    if isinstance(outcome, graph.GraphError):
        if outcome.retryable:
            raise outcome
        return _profile_failed(contact, f"Facebook refused the profile: {outcome}")
    if isinstance(outcome, Exception):
        raise outcome
    profile, picture, basic_only = outcome
    profile = ev.storable(profile)  # names are kept and shown like messages' text
    if basic_only and not page.profile_fields_basic_only:  # remember: ask for the basics
        FacebookPage.objects.filter(pk=page.pk).update(profile_fields_basic_only=True)
        page.profile_fields_basic_only = True
    contact.first_name = str(profile.get("first_name") or "")[:120]
    contact.last_name = str(profile.get("last_name") or "")[:120]
    contact.locale = str(profile.get("locale") or "")[:16]
    tz = profile.get("timezone")
    contact.timezone = float(tz) if isinstance(tz, int | float) else None
    contact.profile_fetched_at = timezone.now()
    contact.profile_error = ""
    if picture is not None:
        _keep_picture(contact, *picture)
    with transaction.atomic():
        contact.save(
            update_fields=[
                "first_name",
                "last_name",
                "locale",
                "timezone",
                "profile_fetched_at",
                "profile_error",
                "profile_pic",
            ]
        )
        fetched_gender = str(profile.get("gender") or "")[:32]
        if gender(contact) != fetched_gender:
            desktop.contact_channel_details_update(contact=contact, **{GENDER: fetched_gender})
    logger.info("profile fetched contact=%s", contact.pk)
    return contact


def _download_picture(contact, url):
    """Profile picture URLs expire: a copy is kept. Only from Facebook's (or the fake's) hosts,
    and only when its bytes decode as an image. Returns (bytes, image type), or None."""
    try:
        data, _declared = graph.fetch_media(url, max_bytes=PROFILE_PICTURE_MAX_BYTES)
    except (graph.MediaRefused, graph.GraphError) as exc:
        logger.info("profile picture not kept contact=%s: %s", contact.pk, exc)
        return None
    content_type = media.image_type(data)
    if content_type is None:
        logger.info("profile picture not kept contact=%s: not an image", contact.pk)
        return None
    return data, content_type


def _keep_picture(contact, data, content_type):
    if contact.profile_pic:
        contact.profile_pic.delete(save=False)
    name = f"{contact.pk}{media.EXTENSIONS[content_type]}"
    contact.profile_pic.save(name, ContentFile(data), save=False)


def _profile_failed(contact, reason):
    Contact.objects.filter(pk=contact.pk).update(
        profile_fetched_at=timezone.now(), profile_error=reason[:255]
    )
    logger.info("profile not available contact=%s: %s", contact.pk, reason)
    return contact
