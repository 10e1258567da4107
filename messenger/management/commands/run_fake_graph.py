"""Serve the fake Graph API (the sandbox's stand-in for graph.facebook.com) on loopback."""

import contextlib
import signal
import threading

from django.core.management.base import BaseCommand

from messenger.sandbox.demo import DEMO_PAGE
from messenger.sandbox.fake_graph import FakeGraphAPI


class Command(BaseCommand):
    help = "Run the fake Graph API with the sandbox's demo page, until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--latency", type=float, default=0.0, help="seconds every answer waits (slow Graph)"
        )

    def handle(self, *args, port, latency, **options):
        fake = FakeGraphAPI(port=port)
        fake.latency = latency
        fake.add_page(**DEMO_PAGE)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        fake.start()
        self.stdout.write(f"Fake Graph API at {fake.url} (demo page {DEMO_PAGE['name']!r})")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        fake.stop()
