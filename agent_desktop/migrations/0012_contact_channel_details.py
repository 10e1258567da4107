"""Messenger's own contact fields (`gender`, `answered_elsewhere`) move into
`Contact.channel_details`, and back on reversal. Only values that say something are written
(a gender, a conversation another app owns): a key that is missing reads as empty / false."""

from django.db import migrations, models

BATCH = 2000
MOVED = ("gender", "answered_elsewhere")


def into_channel_details(apps, schema_editor):
    Contact = apps.get_model("agent_desktop", "Contact")
    changed = []
    rows = Contact.objects.exclude(gender="", answered_elsewhere=False).only(
        "pk", "gender", "answered_elsewhere", "channel_details"
    )
    for contact in rows.iterator(chunk_size=BATCH):
        details = dict(contact.channel_details or {})
        if contact.gender:
            details["gender"] = contact.gender
        if contact.answered_elsewhere:
            details["answered_elsewhere"] = True
        contact.channel_details = details
        changed.append(contact)
        if len(changed) >= BATCH:
            Contact.objects.bulk_update(changed, ["channel_details"])
            changed = []
    Contact.objects.bulk_update(changed, ["channel_details"])


def out_of_channel_details(apps, schema_editor):
    Contact = apps.get_model("agent_desktop", "Contact")
    changed = []
    for contact in Contact.objects.only("pk", "channel_details").iterator(chunk_size=BATCH):
        details = contact.channel_details or {}
        if not any(key in details for key in MOVED):
            continue
        contact.gender = str(details.get("gender") or "")[:32]
        contact.answered_elsewhere = bool(details.get("answered_elsewhere"))
        contact.channel_details = {k: v for k, v in details.items() if k not in MOVED}
        changed.append(contact)
        if len(changed) >= BATCH:
            Contact.objects.bulk_update(
                changed, ["gender", "answered_elsewhere", "channel_details"]
            )
            changed = []
    Contact.objects.bulk_update(changed, ["gender", "answered_elsewhere", "channel_details"])


class Migration(migrations.Migration):
    dependencies = [
        ("agent_desktop", "0011_kinds_from_the_registry"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="channel_details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(into_channel_details, out_of_channel_details, elidable=False),
        migrations.RemoveField(model_name="contact", name="answered_elsewhere"),
        migrations.RemoveField(model_name="contact", name="gender"),
    ]
