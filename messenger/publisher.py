"""Hands stored deliveries to the workers in batches, from a thread of the web process.

Publishing a Celery message costs about a millisecond of CPU and a broker round trip: more than
the rest of a webhook request. So the request only stores its delivery and notes the id here; a
thread publishes the ids that gathered, as one task, at most once per `min_interval` (at once
when traffic is light, in batches under load). Nothing is lost if the process dies before a
batch is out: the deliveries are stored, and the periodic sweep enqueues what was not processed.
"""

import atexit
import logging
import os
import threading
import time

logger = logging.getLogger(__name__)


class BatchPublisher:
    def __init__(self, publish, *, min_interval=0.02, max_batch=100, name="batch-publisher"):
        self._publish = publish  # takes a list of ids
        self._min_interval = min_interval
        self._max_batch = max_batch
        self._name = name
        self._start()
        atexit.register(self.flush)

    def _start(self):
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._pending = []
        self._busy = False
        self._thread = None

    def add(self, item):
        if self._pid != os.getpid():  # forked (gunicorn, prefork): the parent's thread is gone
            self._start()
        with self._cond:
            self._pending.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout=5.0):
        """Publish what is pending now and wait for the thread to be idle (tests, exit)."""
        if self._pid != os.getpid():
            return True
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return not (self._pending or self._busy)
                self._cond.wait(left)
        return True

    def _run(self):
        last_sent = float("-inf")  # not 0.0: the monotonic clock may start near zero
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                self._busy = True
            # Gather what arrives until the interval since the last publish is over.
            wait = last_sent + self._min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with self._cond:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
            last_sent = time.monotonic()
            try:
                self._publish(batch)
            except Exception:  # the sweep catches up; the thread must go on
                logger.exception("%s: publishing %s ids failed", self._name, len(batch))
            with self._cond:
                self._busy = bool(self._pending)
                self._cond.notify_all()
