"""`manage.py rotate_secrets`: re-encrypt every stored secret with the first FIELD_ENCRYPTION_KEY.

Key rotation: put the new key first in FIELD_ENCRYPTION_KEY (new,old), deploy, run this command,
then drop the old key. It prints counts and the pages whose secrets no configured key can decrypt
(never a secret), and exits with status 1 when there are any.
"""

from django.core.management.base import BaseCommand, CommandError

from messenger.setup import secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every Facebook Page secret with the first FIELD_ENCRYPTION_KEY key."

    def handle(self, *args, **options):
        result = secrets_reencrypt()
        self.stdout.write(
            f"Re-encrypted {result.reencrypted} secrets of {result.pages} Facebook Pages with "
            "the first FIELD_ENCRYPTION_KEY key."
        )
        if not result.unreadable:
            self.stdout.write(self.style.SUCCESS("Every secret is readable: the old keys can go."))
            return
        for page, labels in result.unreadable:
            entry_point = page.entry_point
            self.stdout.write(
                f"  entry point {entry_point.pk} “{entry_point.name}” (campaign "
                f"“{entry_point.campaign.name}”): {', '.join(labels)} can't be decrypted"
            )
        raise CommandError(
            f"{len(result.unreadable)} Facebook Pages have secrets that no configured key can "
            "decrypt: enter them again in the campaign builder (the page's Messenger panel)."
        )
