"""Rate limits of the visitor API: fixed one-minute windows counted in Django's cache.

`cache.add` creates a window's counter only if it is missing and `cache.incr` is atomic (in the
local-memory cache and in Redis), so concurrent requests each get their own count and at most
the limit pass in a window. Counts in the default local-memory cache are per process; set
CACHE_URL to a shared cache when several web processes serve the API.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Limited:
    """A refusal: how many seconds until the window ends."""

    retry_after: int


def hit(scope, who, limit):
    """Count one request of `who` (a visitor id, an address) for `scope`; a Limited when it is
    over `limit` in the current window, else None."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"webchat:rate:{scope}:{who}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: this request starts the window again
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count > limit:
        return Limited(retry_after=max(1, int((window + 1) * WINDOW_SECONDS - now) + 1))
    return None


def first_limited(*checks):
    """The first Limited of (scope, who, limit) checks, counting each until one refuses."""
    for scope, who, limit in checks:
        limited = hit(scope, who, limit)
        if limited is not None:
            return limited
    return None
