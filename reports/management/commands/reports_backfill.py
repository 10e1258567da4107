from django.core.management.base import BaseCommand

from reports import rollup
from reports.backfill import backfill


class Command(BaseCommand):
    help = (
        "Build report cycles for conversations from before reports existed, from their "
        "messages and activities. Safe to run again: contacts with cycles are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Delete every cycle first and rebuild all."
        )
        parser.add_argument(
            "--messages",
            action="store_true",
            help="Also count every day's messages again (the beat task recounts recent days).",
        )

    def handle(self, *args, rebuild=False, messages=False, **options):
        made = backfill(rebuild=rebuild)
        self.stdout.write(f"{made} conversation cycles built.")
        if messages:
            days = rollup.roll(everything=True)
            self.stdout.write(f"Messages of {days} days counted.")
