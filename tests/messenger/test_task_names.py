"""Lower messenger modules send tasks by name (messenger.delivery_queue): each name must be a task
the worker knows, or the sends would be lost in the broker."""

from config.celery import app
from messenger import delivery_queue, recovery, tasks


def test_every_task_sent_by_name_is_a_registered_task():
    registered = set(app.tasks)
    assert tasks.process_deliveries.name == delivery_queue.PROCESS_DELIVERIES
    missing = [name for name in delivery_queue.TASKS if name not in registered]
    assert missing == []
    assert tasks.recover_page.name == recovery.RECOVER_TASK


def test_the_beat_schedule_names_registered_messenger_tasks(settings):
    registered = set(app.tasks)
    scheduled = [
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("messenger.")
    ]
    assert scheduled and [name for name in scheduled if name not in registered] == []
