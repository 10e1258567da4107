"""FacebookPage moves to `messenger` (issue 14): first its table takes messenger's name, rows,
indexes and the `facebook_page_connected_once` constraint staying as they are; then
messenger.0004 takes the model over and 0010 drops it from campaigns' state (no SQL)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_kinds_from_the_registry"),
    ]

    operations = [
        migrations.AlterModelTable(name="facebookpage", table="messenger_facebookpage"),
    ]
