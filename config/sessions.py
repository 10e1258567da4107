"""SESSION_ENGINE: sessions kept in the database and read from a copy in the desk cache (Django's
cached_db), so that the desk's unchanged polls need no query (agent_desktop.desk_polls).

The copy is only a copy: when the cache cannot be reached (a Redis restart), a logged-in
session is read from the database alone. Django's cached_db already does so for reads and saves,
not for the copy it makes after reading the database nor for its check that a new key is free:
here those are skipped (logged) or asked of the database instead of failing every page. Deleting
(a logout, a login's new key) still fails while the cache is unreachable: a copy left behind
would bring an ended session back.
"""

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.db import DatabaseError

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(CachedDBStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # unreachable, or a key the backend refuses: the database decides
            data = None
        if data is not None:
            return data
        try:
            stored = self._get_session_from_db()
        except DatabaseError as exc:
            # load() runs inside SessionBase._get_session's `except AttributeError` (no
            # `_session_cache` yet): re-raised as is, the log would open on that AttributeError
            # ("During handling of the above exception…") instead of the database's error.
            # Nothing is cached: the session is unknown, not empty, and a save must not
            # overwrite the stored one with nothing.
            raise exc from None
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)
        return data

    def exists(self, session_key):
        try:
            if self.cache_key_prefix + session_key in self._cache:
                return True
        except Exception:
            logger.exception("Error reading the cache (%s)", self._cache)
        return super(CachedDBStore, self).exists(session_key)  # the database's answer
