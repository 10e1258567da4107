"""Sends paced to Meta's limits: one schedule of Send API turns per page and kind of message,
shared by every worker.

Meta takes about `MESSENGER_SEND_RATE_TEXT` Send API calls a second per page (300) and
`MESSENGER_SEND_RATE_MEDIA` for audio and video (10); above that Graph answers rate-limit errors
(codes 4, 32, 613), each one a wasted call and a retry later. So a send takes the page's next
turn first. Turns are `1 / rate` seconds apart and none is given twice (a token bucket that
holds a single token, in the form of the next free turn: in any second at most `rate` turns
begin). A worker sleeps until a turn that is near (`MESSENGER_SEND_MAX_WAIT_SECONDS`); when the
next turn is further away none is taken, and `SendLater` tells the task to come back after about
that long, so no worker sleeps through a backlog.

The schedule lives in Redis when the desk has one (`MESSENGER_SEND_PACING_REDIS_URL`: one key
per page and kind, moved by a Lua script on Redis's own clock, so workers on several machines
agree), else in the database (`SendPace`: one conditional UPDATE … RETURNING takes the turn, or
matches nothing when the turn is too far off).
"""

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from redis.exceptions import RedisError

from messenger.models import SendPace

logger = logging.getLogger(__name__)

TEXT = "text"
MEDIA = "media"  # audio and video: Meta's lower limit
KINDS = (TEXT, MEDIA)

# What a schedule's store that cannot be reached raises: Redis's errors (refused, timed out, …)
# and the socket's own; the database's lost or refused connection.
STORE_DOWN = (RedisError, OSError, OperationalError, InterfaceError)


@dataclass(frozen=True)
class Turn:
    """A send turn taken: `at` (epoch seconds, on the schedule's clock) is `wait` seconds away."""

    at: float
    wait: float


class SendLater(Exception):
    """The page's next free turn is further away than a worker should wait: nothing was taken;
    send again in `retry_after` seconds."""

    def __init__(self, retry_after):
        super().__init__(f"the page's next send turn is {retry_after:.2f} s away")
        self.retry_after = retry_after


def rate(kind):
    """Send API calls a second Meta takes from one page for this kind of message."""
    return {TEXT: settings.MESSENGER_SEND_RATE_TEXT, MEDIA: settings.MESSENGER_SEND_RATE_MEDIA}[
        kind
    ]


def interval_us(kind):
    # Rounded up: a turn a microsecond late is harmless, one early could be refused.
    return math.ceil(1_000_000 / rate(kind))


def take(page_id, kind=TEXT, *, max_wait=None):
    """Wait for the page's next send turn of this kind; returns the seconds waited. Raises
    SendLater when that turn is more than `max_wait` seconds away (default
    MESSENGER_SEND_MAX_WAIT_SECONDS)."""
    turn = reserve(page_id, kind, max_wait=max_wait)
    if turn.wait > 0:
        time.sleep(turn.wait)
    return turn.wait


def reserve(page_id, kind=TEXT, *, max_wait=None, store=None):
    """Take the page's next send turn of this kind without waiting for it (see `take`)."""
    if kind not in KINDS:
        raise ValueError(f"not a kind of send: {kind!r}")
    if max_wait is None:
        max_wait = settings.MESSENGER_SEND_MAX_WAIT_SECONDS
    store = store or schedule_store()
    try:
        return store.reserve(
            f"{page_id}", kind, interval_us=interval_us(kind), max_wait_us=int(max_wait * 1e6)
        )
    except STORE_DOWN as exc:
        # The schedule's store is down: send unpaced. Graph's rate-limit answer is retried
        # anyway, and replies must not stop because a cache is. Anything else is a mistake
        # to see, not a store to route around.
        logger.warning("send pacing unavailable, sending unpaced: %s", type(exc).__name__)
        return Turn(at=time.time(), wait=0.0)


def schedule_store():
    url = settings.MESSENGER_SEND_PACING_REDIS_URL
    return redis_turns(url) if url else DatabaseTurns()


# --- Redis ------------------------------------------------------------------------------------
# KEYS[1]: the page's next free turn (epoch µs). ARGV: the interval and the longest wait (µs).
# Returns {taken (1/0), turn (epoch µs), wait (µs)}. Redis's clock, not the workers': one clock.
RESERVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local turn = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local wait = turn - now
if wait > tonumber(ARGV[2]) then
  return {0, turn, wait}
end
local following = turn + tonumber(ARGV[1])
local keep_ms = math.floor((following - now) / 1000) + 60000
redis.call('SET', KEYS[1], string.format('%d', following), 'PX', keep_ms)
return {1, turn, wait}
"""
KEY_PREFIX = "cb:send-turn"


class RedisTurns:
    def __init__(self, url):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.script = self.client.register_script(RESERVE_SCRIPT)

    def key(self, page_id, kind):
        return f"{KEY_PREFIX}:{page_id}:{kind}"

    def reserve(self, page_id, kind, *, interval_us, max_wait_us):
        key = self.key(page_id, kind)
        taken, turn, wait = self.script(keys=[key], args=[interval_us, max_wait_us])
        if not taken:
            raise SendLater(wait / 1e6)
        return Turn(at=turn / 1e6, wait=wait / 1e6)

    def forget(self, page_id, kind):
        self.client.delete(self.key(page_id, kind))


@cache
def redis_turns(url):
    """One client (and connection pool) per Redis URL and process."""
    return RedisTurns(url)


# --- Database ---------------------------------------------------------------------------------
# One statement takes the turn: the row's lock (PostgreSQL) or the write lock (SQLite) orders
# workers, so none loses a race and reads again. It matches no row when the next turn is more
# than the longest wait away (or when the page has no row yet).
TAKE_TURN_SQL = """
UPDATE messenger_sendpace
SET next_turn_us = (CASE WHEN next_turn_us > %(now)s THEN next_turn_us ELSE %(now)s END)
    + %(interval)s
WHERE page_id = %(page_id)s AND kind = %(kind)s AND next_turn_us <= %(latest)s
RETURNING next_turn_us
"""


class DatabaseTurns:
    """Each turn is taken by one short statement of its own: no transaction is held open while
    a worker waits for its turn or for Graph."""

    def reserve(self, page_id, kind, *, interval_us, max_wait_us):
        for _ in range(3):  # again once the page's row is there
            now = int(time.time() * 1e6)
            params = {
                "now": now,
                "interval": interval_us,
                "page_id": page_id,
                "kind": kind,
                "latest": now + max_wait_us,
            }
            with connection.cursor() as cursor:
                cursor.execute(TAKE_TURN_SQL, params)
                row = cursor.fetchone()
            if row is not None:
                turn = row[0] - interval_us
                return Turn(at=turn / 1e6, wait=max(0, turn - now) / 1e6)
            next_turn = (
                SendPace.objects.filter(page_id=page_id, kind=kind)
                .values_list("next_turn_us", flat=True)
                .first()
            )
            if next_turn is None:
                with contextlib.suppress(IntegrityError):  # created meanwhile by another worker
                    SendPace.objects.get_or_create(page_id=page_id, kind=kind)
            elif next_turn > now + max_wait_us:
                raise SendLater((next_turn - now) / 1e6)
            # else the row was created after the UPDATE missed it: take a turn now
        raise SendLater(interval_us / 1e6)  # not expected: the row is there by now

    def forget(self, page_id, kind):
        SendPace.objects.filter(page_id=page_id, kind=kind).delete()
