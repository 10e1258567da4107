"""PostgreSQL drops the worker's connections while it processes a burst (a failover, a restart,
an idle-connection reaper): the batch that loses its connection fails, its deliveries are applied
again on a new connection (and the sweep enqueues whatever is left unfinished), and everything is
processed exactly once.

To drop them in the middle of a task every time, the test holds a lock on the contacts table
while the burst comes in: the worker's batch waits on it inside its transaction, and its
connections are terminated while it waits."""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from agent_desktop.models import Contact, Message
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import new_mid, page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE_ID = PAGE["page_id"]
DELIVERIES = 40
EVENTS_PER_DELIVERY = 5
# What the worker logs when a batch fails (messenger.processing._apply_batch).
FAILED_BATCH = re.compile(r"batch of (\d+) deliveries failed \(OperationalError\)")


def waiting_on_a_lock(application_name):
    """How many of the worker's connections wait on a lock, inside a task's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND wait_event_type = 'Lock'",
            [application_name],
        )
        return cursor.fetchone()[0]


def terminate_connections_of(application_name):
    """Drop the worker's connections (only its own: others may share this database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def test_connections_dropped_during_a_burst_lose_nothing_and_double_nothing(
    live_server, connected_page, start_worker, counts
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server connection to drop")
    worker_name = f"cb-fault-worker-{uuid.uuid4().hex[:8]}"
    worker = start_worker(
        concurrency=2,
        beat=True,
        env={
            "PGAPPNAME": worker_name,  # libpq names the worker's connections after it
            "DELIVERY_SWEEP_AFTER_SECONDS": "1",
            "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
        },
    )
    url = live_server.url + webhook_path(connected_page)
    bodies = [
        page_body(
            PAGE_ID,
            *[
                text_item(PAGE_ID, f"95000000000{n:05d}", f"burst {n}.{i}", mid=new_mid())
                for i in range(EVENTS_PER_DELIVERY)
            ],
        )
        for n in range(DELIVERIES)
    ]
    # Another connection holds the lock, so that this test's own can watch and terminate.
    lock_holder = connection.get_new_connection(connection.get_connection_params())
    try:
        with lock_holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f"LOCK TABLE {Contact._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(lambda b: post_signed(url, b, PAGE["app_secret"]).status_code, bodies)
            )
        assert statuses == [200] * DELIVERIES
        wait_until(
            lambda: waiting_on_a_lock(worker_name),
            message="the worker's batch waiting on the contacts table",
        )
        terminated = terminate_connections_of(worker_name)
    finally:
        lock_holder.close()  # the lock goes with the connection
    assert terminated > 0

    wait_until(
        lambda: WebhookDelivery.objects.filter(status="processed").count() == DELIVERIES,
        timeout=90,
        message=f"{DELIVERIES} deliveries processed after the connections came back",
    )
    expected = DELIVERIES * EVENTS_PER_DELIVERY
    mids = list(Message.objects.values_list("mid", flat=True))
    assert len(mids) == len(set(mids)) == expected
    assert Contact.objects.count() == DELIVERIES
    assert not WebhookDelivery.objects.filter(status="failed").exists()
    # The worker's record: the dropped connection cut a batch off in the middle.
    cut_off = [int(size) for size in FAILED_BATCH.findall(worker.log())]
    assert cut_off
    counts(
        "PostgreSQL connections dropped",
        posted=len(statuses),
        connections_terminated=terminated,
        batches_cut_off=len(cut_off),
        their_deliveries_applied_again=sum(cut_off),
        processed=WebhookDelivery.objects.filter(status="processed").count(),
        messages=len(mids),
        contacts=Contact.objects.count(),
    )
