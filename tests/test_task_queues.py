"""Deliveries, profile fetches, sends and sweeps go to queues of their own (settings
CELERY_TASK_ROUTES), and a worker started without -Q (make run, the tests) consumes them all."""

import pytest
from django.conf import settings

from config.celery import app

EXPECTED = {
    "messenger.tasks.process_delivery": "deliveries",
    "messenger.tasks.process_deliveries": "deliveries",
    "messenger.tasks.fetch_profiles": "profiles",
    "messenger.tasks.send_message": "sends",
    "messenger.tasks.send_typing_on": "sends",
    "messenger.tasks.send_mark_seen": "sends",
    "messenger.tasks.sweep_unsent_messages": "sweeps",
    "messenger.tasks.sweep_stale_deliveries": "sweeps",
    "messenger.tasks.sweep_missing_profiles": "sweeps",
    "messenger.tasks.check_all_tokens": "sweeps",
    "messenger.tasks.check_for_gaps": "sweeps",
    "messenger.tasks.recover_page": "sweeps",
    "agent_desktop.tasks.wake_snoozed_contacts": "sweeps",
    "agent_desktop.tasks.assign_waiting_contacts": "sweeps",
    "campaigns.tasks.prune_audit_log": "sweeps",
    "reports.tasks.roll_message_days": "sweeps",
}


def _queue_of(task_name):
    route = app.amqp.router.route({}, task_name, args=(), kwargs={})
    return route["queue"].name


@pytest.mark.parametrize("task_name", sorted(EXPECTED))
def test_each_task_lands_on_its_queue(task_name):
    app.loader.import_default_modules()
    assert task_name in app.tasks  # a renamed task must not slip back to the default queue
    assert _queue_of(task_name) == EXPECTED[task_name]


def test_every_registered_task_of_ours_has_a_queue_and_every_beat_entry_is_a_sweep():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == set(EXPECTED), ours ^ set(EXPECTED)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert _queue_of(entry["task"]) == "sweeps", entry["task"]


def test_a_task_of_no_route_goes_to_the_default_queue():
    assert _queue_of("someapp.tasks.new_task") == "celery"


def test_a_worker_without_q_consumes_every_queue():
    app.loader.import_default_modules()
    consumed = {queue.name for queue in app.amqp.queues.consume_from.values()}
    assert consumed == {"deliveries", "profiles", "sends", "sweeps", "celery"}
