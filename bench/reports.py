"""`make bench` (reports part; alone: `python bench/reports.py`): the Reports page and the two
reports API calls at 1 000 000 messages and 100 000 conversations, for 30 days and for a year.

Needs PostgreSQL on 127.0.0.1:5432 (`make bench` starts it first, through bench/run.py). Seeds
its own database (`campaign_bench_reports`, dropped and created again) in batches,
printing how long that took, then times each request in-process with Django's test client as
an admin (every campaign: the widest report) and prints p50/p95 against the 500 ms target. The
figures also go to bench/results/reports.json. Nothing here asserts: a miss is printed as MISS.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/reports.py` puts bench/, not the project, on the path
    sys.path.insert(0, str(ROOT))

from bench.run import PG_ADMIN_URL, RESULTS, bench_environment  # noqa: E402

DB_NAME = "campaign_bench_reports"
TARGET_MS = 500.0
CAMPAIGNS, ENTRY_POINTS_PER_CAMPAIGN, AGENTS = 4, 2, 20
BATCH = 2_000  # contacts per batch (and their messages and cycle)


def environment():
    return bench_environment(db_name=DB_NAME, redis_db=5, var_name="bench-reports")


def recreate_database():
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def seed(*, conversations, messages_per_conversation, days=365):
    """Campaigns, entry points and agents; `conversations` contacts spread over `days`, each
    with one cycle (a tenth of them reopened) and its messages, half in and half out."""
    from django.contrib.auth.models import User
    from django.db import connection

    from agent_desktop.models import Contact, Message
    from campaigns.models import Campaign
    from messenger import setup as page_setup
    from reports.models import ConversationCycle

    rng = random.Random(15)
    agents = [
        User.objects.create_user(f"bench-agent-{n}", first_name=f"Agent {n}") for n in range(AGENTS)
    ]
    entry_points = []
    for n in range(CAMPAIGNS):
        campaign = Campaign.objects.create(name=f"Bench campaign {n}")
        campaign.agents.add(*agents)
        for m in range(ENTRY_POINTS_PER_CAMPAIGN):
            entry_points.append(
                page_setup.facebook_page_entry_point_create(campaign=campaign, name=f"Page {n}.{m}")
            )
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    span = days * 86400
    done = 0
    while done < conversations:
        size = min(BATCH, conversations - done)
        opened = [start + timedelta(seconds=rng.randrange(span)) for _ in range(size)]
        points = [entry_points[rng.randrange(len(entry_points))] for _ in range(size)]
        holders = [agents[rng.randrange(AGENTS)] for _ in range(size)]
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    channel="messenger",
                    entry_point=points[i],
                    external_id=str(8_000_000_000_000_000 + done + i),
                    first_name=f"Customer{done + i}",
                    status=Contact.Status.CLOSED,
                    assigned_to=holders[i],
                    last_message_at=opened[i],
                    last_inbound_at=opened[i],
                )
                for i in range(size)
            ]
        )
        messages, cycles = [], []
        for i, contact in enumerate(contacts):
            first = rng.randrange(30, 1800)
            closed = first + rng.randrange(600, 2 * 86400)
            for m in range(messages_per_conversation):
                outgoing = m % 2 == 1
                messages.append(
                    Message(
                        contact=contact,
                        direction="out" if outgoing else "in",
                        source="agent" if outgoing else "customer",
                        status="delivered" if outgoing else "received",
                        sent_by=holders[i] if outgoing else None,
                        text="Do you ship to Norway?",
                        mid=f"m_rb_{contact.external_id}_{m}",
                        sent_at=opened[i] + timedelta(seconds=first if m == 1 else m * 60),
                    )
                )
            cycles.append(
                ConversationCycle(
                    contact=contact,
                    campaign_id=points[i].campaign_id,
                    entry_point=points[i],
                    channel="messenger",
                    opened_at=opened[i],
                    reopened=rng.random() < 0.1,
                    first_response_at=opened[i] + timedelta(seconds=first),
                    first_responder=holders[i],
                    first_response_seconds=first,
                    closed_at=opened[i] + timedelta(seconds=closed),
                    closed_by=holders[i],
                    assignee=holders[i],
                    resolution_seconds=closed,
                )
            )
        Message.objects.bulk_create(messages, batch_size=5_000)
        ConversationCycle.objects.bulk_create(cycles, batch_size=5_000)
        done += size
        if done % 20_000 == 0:
            print(f"  seeded {done} conversations", flush=True)
    with connection.cursor() as cursor:  # planner statistics, as a live database has them
        cursor.execute(
            "ANALYZE agent_desktop_contact, agent_desktop_message, reports_conversationcycle"
        )


def time_requests(*, repeat):
    from django.contrib.auth.models import User
    from django.test import Client

    admin, _ = User.objects.get_or_create(username="bench-lead", defaults={"is_staff": True})
    client = Client()
    client.force_login(admin)
    today = datetime.now(UTC).date()
    year = f"since={today - timedelta(days=364)}&until={today}&tz=UTC"
    urls = {
        ("page", "30 days"): "/reports/?period=30d&tz=UTC",
        ("page", "1 year"): f"/reports/?{year}",
        ("summary API", "30 days"): "/api/reports/summary/?period=30d&tz=UTC",
        ("summary API", "1 year"): f"/api/reports/summary/?{year}",
        ("agents API", "30 days"): "/api/reports/agents/?period=30d&tz=UTC",
        ("agents API", "1 year"): f"/api/reports/agents/?{year}",
    }
    rows = []
    for (what, period), url in urls.items():
        for _ in range(3):  # warm: templates, the first compiled queries, the buffer cache
            client.get(url)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        rows.append(
            {"request": what, "period": period, "p50_ms": statistics.median(times), "p95_ms": p95}
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--reuse", action="store_true", help="time the database seeded by the last run again"
    )
    args = parser.parse_args()
    os.environ.update(environment())
    if not args.reuse:
        recreate_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)  # DEBUG off: the manifest
    messages = args.conversations * args.messages_per_conversation
    seeding_s = 0.0
    if not args.reuse:
        print(f"Reports: seeding {args.conversations} conversations, {messages} messages")
        started = time.monotonic()
        seed(
            conversations=args.conversations,
            messages_per_conversation=args.messages_per_conversation,
        )
        seeding_s = time.monotonic() - started
        print(f"  seeded in {seeding_s:.0f} s")
    from reports import rollup

    started = time.monotonic()
    rollup.roll(everything=not args.reuse)  # what the beat task keeps current
    print(f"  daily message totals counted in {time.monotonic() - started:.1f} s")
    print(f"Load average now: {os.getloadavg()[0]:.2f} (other work on the machine slows it)")
    rows = time_requests(repeat=args.repeat)
    print(f"\n{'request':<14}{'period':<10}{'p50 ms':>9}{'p95 ms':>9}  target {TARGET_MS:.0f} ms")
    for row in rows:
        verdict = "ok" if row["p95_ms"] <= TARGET_MS else "MISS"
        print(
            f"{row['request']:<14}{row['period']:<10}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
            f"  {verdict}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reports.json").write_text(
        json.dumps(
            {
                "conversations": args.conversations,
                "messages": messages,
                "seeding_s": round(seeding_s, 1),
                "target_ms": TARGET_MS,
                "rows": rows,
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
