"""FacebookPage, until now campaigns.FacebookPage, is messenger's (issue 14).

State only: campaigns.0009 already renamed its table to `messenger_facebookpage`, which is the
name this model gets; the rows, the indexes and the `facebook_page_connected_once` constraint
are the ones the table holds. The delivery's foreign key has no database constraint, so
pointing it at the moved model changes nothing in the database either."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0009_facebookpage_table_for_messenger"),
        ("messenger", "0003_delivery_page_without_db_constraint"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FacebookPage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "app_id",
                            models.CharField(
                                blank=True, max_length=32, verbose_name="Facebook App ID"
                            ),
                        ),
                        ("app_secret_ciphertext", models.TextField(blank=True, editable=False)),
                        (
                            "page_access_token_ciphertext",
                            models.TextField(blank=True, editable=False),
                        ),
                        (
                            "app_secret_hint",
                            models.CharField(blank=True, editable=False, max_length=4),
                        ),
                        (
                            "page_access_token_hint",
                            models.CharField(blank=True, editable=False, max_length=4),
                        ),
                        ("page_id", models.CharField(blank=True, db_index=True, max_length=32)),
                        ("page_name", models.CharField(blank=True, max_length=255)),
                        (
                            "token_status",
                            models.CharField(
                                choices=[
                                    ("unchecked", "Not checked yet"),
                                    ("valid", "Valid"),
                                    ("invalid", "Invalid"),
                                    ("unverified", "Could not be checked"),
                                ],
                                default="unchecked",
                                max_length=16,
                            ),
                        ),
                        ("credentials_checked_at", models.DateTimeField(blank=True, null=True)),
                        ("token_expires_at", models.DateTimeField(blank=True, null=True)),
                        ("token_scopes", models.JSONField(blank=True, default=list)),
                        ("token_checked_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True)),
                        ("last_error_at", models.DateTimeField(blank=True, null=True)),
                        ("profile_fields_basic_only", models.BooleanField(default=False)),
                        (
                            "entry_point_archived",
                            models.BooleanField(default=False, editable=False),
                        ),
                        (
                            "webhook_key",
                            models.CharField(blank=True, max_length=64, null=True, unique=True),
                        ),
                        ("verify_token", models.CharField(blank=True, max_length=64)),
                        ("webhook_created_at", models.DateTimeField(blank=True, null=True)),
                        ("webhook_verified_at", models.DateTimeField(blank=True, null=True)),
                        ("last_event_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "entry_point",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="facebook_page",
                                to="campaigns.entrypoint",
                            ),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(
                                    models.Q(("page_id", ""), _negated=True),
                                    ("entry_point_archived", False),
                                ),
                                fields=("page_id",),
                                name="facebook_page_connected_once",
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="webhookdelivery",
                    name="facebook_page",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="messenger.facebookpage",
                    ),
                ),
            ],
        ),
    ]
