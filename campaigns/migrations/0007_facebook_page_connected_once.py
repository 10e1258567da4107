"""One Facebook page, one live entry point: FacebookPage copies its entry point's archived flag,
so a partial unique constraint can hold page ids of live entry points apart."""

from django.db import migrations, models


def copy_archived_flags_and_part_duplicates(apps, schema_editor):
    """Archived flags copied; a page id held by several live entry points stays with the one
    checked last (where Facebook's events went), the others are told to connect it again."""
    FacebookPage = apps.get_model("campaigns", "FacebookPage")
    FacebookPage.objects.filter(entry_point__is_archived=True).update(entry_point_archived=True)
    live = FacebookPage.objects.filter(entry_point_archived=False).exclude(page_id="")
    seen = set()
    for page in live.order_by("-credentials_checked_at", "-pk"):
        if page.page_id not in seen:
            seen.add(page.page_id)
            continue
        page.last_error = (
            f"Facebook Page {page.page_id} is also connected to another entry point. Press "
            "Save and check to move it here."
        )
        page.page_id = ""
        page.save(update_fields=["page_id", "last_error"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_campaign_business_hours_validated"),
    ]

    operations = [
        migrations.AddField(
            model_name="facebookpage",
            name="entry_point_archived",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(copy_archived_flags_and_part_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="facebookpage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("page_id", ""), _negated=True)
                & models.Q(("entry_point_archived", False)),
                fields=("page_id",),
                name="facebook_page_connected_once",
            ),
        ),
    ]
