"""The web process's batch publisher: every id handed over is published once, in batches."""

import threading
import time

from messenger.publisher import BatchPublisher


def test_ids_from_many_threads_are_published_once_in_batches():
    batches = []
    publisher = BatchPublisher(batches.append, min_interval=0.01, max_batch=50)

    def add(start):
        for n in range(start, start + 250):
            publisher.add(n)
            if n % 50 == 0:
                time.sleep(0.001)

    threads = [threading.Thread(target=add, args=(i * 1000,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert publisher.flush(timeout=10)
    published = [n for batch in batches for n in batch]
    added = [n for i in range(8) for n in range(i * 1000, i * 1000 + 250)]
    assert sorted(published) == added
    assert max(len(b) for b in batches) <= 50
    assert len(batches) < len(published) / 4  # batched, not one publish per id
    print(
        f"publisher: {len(added)} ids added, {len(published)} published, in {len(batches)} batches"
    )


def test_a_lone_id_goes_out_without_waiting_for_the_interval():
    published = threading.Event()
    publisher = BatchPublisher(lambda ids: published.set(), min_interval=3600)
    publisher.add(1)
    # The interval (an hour) only holds back the next batch, not the first.
    assert published.wait(timeout=30)


def test_a_failed_publish_does_not_stop_the_publisher():
    batches = []

    def publish(ids):
        if not batches:
            batches.append(None)
            raise ConnectionError("broker down")
        batches.append(ids)

    publisher = BatchPublisher(publish, min_interval=0.0)
    publisher.add(1)
    assert publisher.flush(timeout=5)
    publisher.add(2)
    assert publisher.flush(timeout=5)
    assert batches == [None, [2]]  # 1 is left to the sweep; the thread goes on
