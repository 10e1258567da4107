"""The pacing phase of `make bench`: 2 000 replies from 50 agents on one page, sent by the sends
workers through a fake Graph API that enforces Meta's per-page Send API rate (300 calls/s):
how many Graph refused (target 0), whether each customer got their replies in the order they
were written, and the pace.

The replies are written first, through the desktop's own service (`reply_send`, which queues
each one's send task on commit), while no sends worker runs: a backlog, as after a worker
restart, so the workers can go as fast as they are able and the pacing has something to hold
back. The fake Graph API runs in this process so its log of what it received (in order) and of
what it refused can be read at the end.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

TARGET_REJECTED = 0
UNPACED = 1_000_000.0  # the workers' own rate in the control round: as fast as they go


def bench_pacing(
    env,
    page,
    *,
    start_worker,
    replies=2000,
    agents=50,
    contacts=200,
    workers=2,
    concurrency=4,
    low_rate=20.0,
    low_replies=300,
):
    """Returns the figures of up to three rounds. `main`: `replies` replies at Meta's limit
    (MESSENGER_SEND_RATE_TEXT, 300/s). Where the workers can't send that fast (a small
    machine), that round never meets the limit, so two more at `low_rate` (0: skipped), below
    what the workers can do: `paced`, where the pacing must hold them to it, and `unpaced`, the
    control, where the workers ignore it and Graph refuses what goes over.

    `start_worker(name, env, queues=…, concurrency=…)` starts a Celery worker process (of
    bench/run.py); they are stopped at the end of each round."""
    from django.conf import settings

    from bench.fixtures import BENCH_PAGE
    from messenger.sandbox.fake_graph import FakeGraphAPI

    fake = FakeGraphAPI().start()
    rounds = [("main", replies, settings.MESSENGER_SEND_RATE_TEXT, True)]
    if low_rate:
        rounds += [
            ("paced", low_replies, low_rate, True),
            ("unpaced", low_replies, low_rate, False),
        ]
    team = _agents(page, agents)
    results = {}
    try:
        for name, count, limit, paced in rounds:
            fake.reset()
            fake.add_page(**BENCH_PAGE)
            fake.limit_send_rate(text=limit)
            customers = _customers(page, name, contacts)
            started = time.monotonic()
            written = _write_replies(customers, team, replies=count)
            writing_s = time.monotonic() - started
            print(
                f"  pacing {name}: {count} replies from {agents} agents to {contacts} customers "
                f"written in {writing_s:.0f} s; {workers} sends workers x {concurrency}, Graph "
                f"takes {limit:g}/s, workers {'keep to it' if paced else 'ignore it'}…",
                flush=True,
            )
            worker_env = {
                **env,
                "GRAPH_API_URL": fake.url,
                "MESSENGER_SEND_RATE_TEXT": str(limit if paced else UNPACED),
            }
            running = []
            try:
                for n in range(workers):
                    running.append(
                        start_worker(
                            f"worker-sends-{name}-{n}",
                            worker_env,
                            queues="sends",
                            concurrency=concurrency,
                        )
                    )
                # The control's refused sends wait for retries (5 s, 30 s…): its figure is
                # what Graph refused on the first pass.
                _wait_settled(written, fake, timeout=300, refused_count=not paced)
            finally:
                for worker in running:
                    worker.stop()
            results[name] = {**_figures(fake, written), "limit": limit, "paced": paced}
            results[name]["writing_s"] = writing_s
            print(f"  {results[name]}", flush=True)
    finally:
        fake.stop()
    return results


def _agents(page, agents):
    from django.contrib.auth.models import User

    from campaigns.models import Campaign

    campaign = Campaign.objects.get(pk=page.entry_point.campaign_id)
    team = [User.objects.create_user(f"pacing-agent-{i}") for i in range(agents)]
    campaign.agents.add(*team)
    return team


def _customers(page, round_name, contacts):
    from django.utils import timezone

    from agent_desktop.models import Contact

    now = timezone.now()
    base = {"main": 7_100_000_000_000_000, "paced": 7_200_000_000_000_000}.get(
        round_name, 7_300_000_000_000_000
    )
    return Contact.objects.bulk_create(
        Contact(
            channel="messenger",
            entry_point=page.entry_point,
            external_id=str(base + i),
            first_name=f"Paced{i}",
            last_inbound_at=now - timedelta(minutes=1),
            last_message_at=now - timedelta(minutes=1),
            profile_fetched_at=now,
        )
        for i in range(contacts)
    )


def _write_replies(customers, team, *, replies):
    """The agents' replies through the desktop's own service, each agent in a thread of its
    own, in turn round its customers (so a customer's replies are spread through the queue);
    returns {psid: [texts in the order written]}."""
    from django.db import connection

    from agent_desktop import services

    by_agent = {}
    for n in range(replies):
        contact = customers[n % len(customers)]
        agent = team[(n % len(customers)) % len(team)]  # each customer has one agent
        by_agent.setdefault(agent, []).append(contact)
    written = {c.external_id: [] for c in customers}
    lock = threading.Lock()

    def write(agent, contacts):
        try:
            for contact in contacts:
                with lock:  # the text names its place among the customer's replies
                    text = f"Reply {len(written[contact.external_id]) + 1} to {contact.first_name}"
                    written[contact.external_id].append(text)
                services.reply_send(contact=contact, agent=agent, text=text)
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(write, a, c) for a, c in by_agent.items()]:
            future.result()
    return written


def _wait_settled(written, fake, *, timeout, refused_count=False):
    """Until no reply is queued any more (or, with `refused_count`, until every reply was
    either sent or refused once)."""
    from agent_desktop.models import Message

    psids = list(written)
    total = sum(len(t) for t in written.values())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = Message.objects.filter(direction="out", contact__external_id__in=psids)
        left = replies.filter(status="queued").count()
        if not left:
            return
        if refused_count and total - left + len(fake.rate_limited_sends()) >= total:
            return
        time.sleep(0.5)
    raise TimeoutError(f"replies still queued after {timeout} s")


def _figures(fake, written):
    from agent_desktop.models import Message

    received = fake.sent_messages()
    arrivals = sorted(s["at"].timestamp() for s in received)
    in_order = sum(
        [s["message"]["text"] for s in fake.sent_messages(psid)] == texts
        for psid, texts in written.items()
    )
    seconds = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    psids = list(written)
    statuses = Message.objects.filter(direction="out", contact__external_id__in=psids)
    return {
        "replies": sum(len(t) for t in written.values()),
        "customers": len(written),
        "sent": statuses.filter(status="sent").count(),
        "failed": statuses.filter(status="failed").count(),
        "received_by_graph": len(received),
        "rejected": len(fake.rate_limited_sends()),
        "customers_in_order": in_order,
        "seconds": seconds,
        "sends_per_s": (len(arrivals) - 1) / seconds if seconds else 0.0,
        "most_in_one_second": _most_in_one_second(arrivals),
    }


def _most_in_one_second(times):
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def pacing_rows(pacing, verdict):
    """The table's rows: (phase, figure, value, target, result)."""
    rows = []
    for name, r in (pacing or {}).items():
        at = f"Graph takes {r['limit']:g}/s"
        pace = (
            f"{r['sends_per_s']:,.1f}/s over {r['seconds']:.1f} s, "
            f"most in any 1 s: {r['most_in_one_second']}"
        )
        if name == "unpaced":
            rows.append((
                "pacing",
                f"control, workers unpaced, {at}: {r['replies']} replies refused (613)",
                f"{r['rejected']} ({pace})",
                "> 0: the limit bites",
                "",
            ))  # fmt: skip
            continue
        rows.append((
            "pacing",
            f"{r['replies']:,} replies, 50 agents, 1 page, {at}: refused (613)",
            f"{r['rejected']} (sent {r['sent']:,}, failed {r['failed']})",
            f"{TARGET_REJECTED}",
            verdict(r["rejected"] == TARGET_REJECTED and r["sent"] == r["replies"]),
        ))  # fmt: skip
        rows.append((
            "pacing",
            f"{at}: customers who got their replies in the order written",
            f"{r['customers_in_order']} of {r['customers']}",
            "all",
            verdict(r["customers_in_order"] == r["customers"]),
        ))  # fmt: skip
        rows.append((
            "pacing",
            f"{at}: pace, sends/s first → last",
            pace,
            f"≤ {r['limit']:g}/s",
            verdict(r["sends_per_s"] <= r["limit"] * 1.01),
        ))  # fmt: skip
    return rows
