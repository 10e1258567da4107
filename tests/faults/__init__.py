"""Faults on real processes (tests/processes.py): the broker down during a burst, a worker
killed mid-delivery, PostgreSQL connections dropped, the Graph API slow, failing or refusing the
token while replies go out. Each test prints its counts (tests/counts.py)."""
