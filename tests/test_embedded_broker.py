"""The embedded broker (kombu's filesystem transport) as the settings lay it out."""

import json

from celery import Celery

from config.settings import filesystem_broker_options


def test_the_exchange_tables_exist_whole_before_any_process_binds(tmp_path):
    # kombu creates a missing table empty and writes it after: a process reading in between dies.
    options = filesystem_broker_options(tmp_path / "broker")
    control = tmp_path / "broker" / "control"
    tables = {path.name: json.loads(path.read_text()) for path in control.glob("*.exchange")}
    assert tables["celery.exchange"] == [["celery", "", "celery"]]
    assert {"celery.pidbox.exchange", "reply.celery.pidbox.exchange"} <= set(tables)
    assert list(control.glob(".*.new")) == []  # nothing left aside
    assert options["control_folder"] == str(control)


def test_a_task_published_through_the_laid_out_folders_reaches_its_queue(tmp_path):
    app = Celery(broker="filesystem://")
    app.conf.broker_transport_options = filesystem_broker_options(tmp_path / "broker")
    filesystem_broker_options(tmp_path / "broker")  # a second process: the tables are kept
    # The URL named here: Celery would take CELERY_BROKER_URL from the environment instead.
    with app.connection_for_write("filesystem://") as connection:
        app.send_task("messenger.tasks.sweep_stale_deliveries", connection=connection)
        with connection.SimpleQueue("celery") as queue:
            message = queue.get(timeout=5)
            assert message.headers["task"] == "messenger.tasks.sweep_stale_deliveries"
            message.ack()
