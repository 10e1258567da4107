"""Receiving: a verified webhook body is stored as a WebhookDelivery row before the 200, and a
worker is woken to process it once the row is committed."""

from django.db import connection, transaction
from django.utils import timezone

from messenger.delivery_queue import wake_workers
from messenger.models import WebhookDelivery

MAX_BODY_BYTES = 1024 * 1024


def store_delivery(*, page_id: int, body: str) -> None:
    """Store a verified body; a worker is woken to take it once the row is committed.

    One INSERT written out rather than `objects.create()`: the webhook runs it on every post,
    and the ORM's model instance and SQL compilation cost more than the INSERT (bench/)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_DELIVERY,
            [page_id, connection.ops.adapt_datetimefield_value(timezone.now()), body],
        )
    transaction.on_commit(wake_workers)


# Our own table name and constants; the values are parameters.
_INSERT_DELIVERY = (
    f"INSERT INTO {WebhookDelivery._meta.db_table} "  # noqa: S608
    "(facebook_page_id, received_at, body, status, attempts, last_error, event_kinds) "
    f"VALUES (%s, %s, %s, '{WebhookDelivery.Status.RECEIVED}', 0, '', '[]')"
)
