"""FacebookPage now belongs to `messenger` (its 0004): campaigns forgets it. State only: the
table is messenger's now (0009 renamed it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0009_facebookpage_table_for_messenger"),
        ("messenger", "0004_facebookpage_from_campaigns"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="FacebookPage")],
        ),
    ]
