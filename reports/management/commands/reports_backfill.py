from django.core.management.base import BaseCommand

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

    def handle(self, *args, rebuild=False, **options):
        made = backfill(rebuild=rebuild)
        self.stdout.write(f"{made} conversation cycles built.")
