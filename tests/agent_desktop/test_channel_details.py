"""`Contact.channel_details` is written key by key: writers at once (a profile fetch, a routing
change) each keep what the others wrote. Threads with their own connections, on the configured
database (CI: SQLite, then PostgreSQL)."""

import threading

from django.db import connection

from agent_desktop import services
from agent_desktop.models import Contact

WRITERS = 8


def test_writers_of_different_keys_at_once_all_land(transactional_db, make_contact, counts):
    contact = make_contact(channel_details={"gender": "female"})
    start = threading.Barrier(WRITERS)
    errors = []

    def write(n):
        try:
            stale = Contact.objects.get(pk=contact.pk)  # each read before any write
            start.wait()
            services.contact_channel_details_update(contact=stale, **{f"key{n}": n})
        except Exception as exc:  # reported below: a thread's assertion would be lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    contact.refresh_from_db()
    assert contact.channel_details == {"gender": "female", **{f"key{n}": n for n in range(WRITERS)}}
    counts(
        f"concurrent channel_details writers ({connection.vendor})",
        writers=WRITERS,
        kept=sum(f"key{n}" in contact.channel_details for n in range(WRITERS)),
    )


def test_an_unchanged_value_writes_nothing(make_contact, django_assert_num_queries):
    contact = make_contact(channel_details={"answered_elsewhere": True})
    with django_assert_num_queries(0):
        services.contact_channel_details_update(contact=contact, answered_elsewhere=True)
    services.contact_channel_details_update(contact=contact, answered_elsewhere=False)
    contact.refresh_from_db()
    assert contact.channel_details == {"answered_elsewhere": False}
