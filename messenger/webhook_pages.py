"""What the webhook needs of a page (its id and App Secret), kept in memory a few seconds.

Facebook may post many times a second to one webhook; loading the page and decrypting its App
Secret on every post cost more than storing the delivery (bench/). A page saved or deleted in
this process empties the cache at once; another process sees a change within `TTL_SECONDS`,
and a new App Secret at once: a signature that fails against a cached secret is checked again
against the stored one. A delivery stored for a page deleted meanwhile is dropped by the
worker that takes it.
"""

import threading
import time
from dataclasses import dataclass, field

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from messenger.models import FacebookPage
from messenger.selectors import facebook_page_by_webhook_key

TTL_SECONDS = 10.0
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class WebhookPage:
    pk: int
    entry_point_id: int
    app_secret: str = field(repr=False)  # decrypted; never in a log or an error report
    loaded_at: float = field(default_factory=time.monotonic)


_cache: dict[str, WebhookPage] = {}
_lock = threading.Lock()


def webhook_page(key: str, *, reload=False) -> WebhookPage | None:
    """The page of webhook `key`, or None. Raises SecretUnreadable (nothing is kept then)."""
    entry = None if reload else _cache.get(key)
    if entry is not None and time.monotonic() - entry.loaded_at < TTL_SECONDS:
        return entry
    page = facebook_page_by_webhook_key(key)
    if page is None:
        _cache.pop(key, None)
        return None
    entry = WebhookPage(pk=page.pk, entry_point_id=page.entry_point_id, app_secret=page.app_secret)
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[key] = entry
    return entry


@receiver(post_save, sender=FacebookPage)
@receiver(post_delete, sender=FacebookPage)
def forget(**kwargs):
    with _lock:
        _cache.clear()
