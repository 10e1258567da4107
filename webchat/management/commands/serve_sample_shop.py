"""`make run`'s sample shop: the demo page on a second local origin that embeds the widget of the
demo's website chat (seed_demo's "Acme website chat"), looked up at each request."""

import os

from django.core.management.base import BaseCommand
from django.db import connection

from webchat.models import WebChatSettings
from webchat.sample_shop.server import make_server
from webchat.services import DEMO_NAME, KIND


def demo_widget_key():
    """The widget key of the demo's website chat, or None before seed_demo made it."""
    try:
        return (
            WebChatSettings.objects.filter(
                entry_point__kind=KIND, entry_point__name=DEMO_NAME, entry_point__is_archived=False
            )
            .order_by("pk")
            .values_list("widget_key", flat=True)
            .first()
        )
    finally:
        connection.close()  # each request has a thread of its own: leave no connection behind


class Command(BaseCommand):
    help = "Serves the sample shop page that embeds the demo's website chat widget."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("SHOP_PORT", 8001)))
        parser.add_argument(
            "--app-origin",
            default=f"http://127.0.0.1:{os.environ.get('PORT', 8000)}",
            help="Where browsers reach the app (the widget's script and API).",
        )

    def handle(self, *args, port, app_origin, **options):
        server = make_server(port, app_origin=app_origin, widget_key=demo_widget_key)
        self.stdout.write(f"Sample shop: http://127.0.0.1:{port}/ (the widget of {app_origin})")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
