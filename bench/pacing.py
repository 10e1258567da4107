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

import time
from datetime import timedelta

TARGET_REJECTED = 0


def bench_pacing(
    env, page, *, start_worker, replies=2000, agents=50, contacts=200, workers=2, concurrency=4
):
    """Returns the figures; `start_worker(name, env, queues=…, concurrency=…)` starts a Celery
    worker process (bench/run.py's), stopped here at the end."""
    from django.conf import settings

    from bench.fixtures import BENCH_PAGE
    from messenger.sandbox.fake_graph import FakeGraphAPI

    fake = FakeGraphAPI().start()  # Meta's limits by default: 300 text calls/s per page
    fake.add_page(**BENCH_PAGE)
    written = _write_replies(page, replies=replies, agents=agents, contacts=contacts)
    worker_env = {**env, "GRAPH_API_URL": fake.url}
    print(
        f"  pacing: {replies} replies queued by {agents} agents to {contacts} customers; "
        f"{workers} sends workers x {concurrency}, limit "
        f"{settings.MESSENGER_SEND_RATE_TEXT:.0f}/s…",
        flush=True,
    )
    started = []
    try:
        for n in range(workers):
            name = f"worker-sends-{n}"
            started.append(start_worker(name, worker_env, queues="sends", concurrency=concurrency))
        _wait_settled(written, timeout=180)
    finally:
        for worker in started:
            worker.stop()
        fake.stop()
    return _figures(fake, written)


def _write_replies(page, *, replies, agents, contacts):
    """The agents' replies, round the agents and their customers in turn (so each customer's
    replies are spread through the queue, as concurrent agents' are); returns
    {psid: [texts in the order written]}."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from agent_desktop import services
    from agent_desktop.models import Contact
    from campaigns.models import Campaign

    campaign = Campaign.objects.get(pk=page.entry_point.campaign_id)
    team = [User.objects.create_user(f"pacing-agent-{i}") for i in range(agents)]
    campaign.agents.add(*team)
    now = timezone.now()
    customers = Contact.objects.bulk_create(
        Contact(
            channel="messenger",
            entry_point=page.entry_point,
            external_id=str(7_100_000_000_000_000 + i),
            first_name=f"Paced{i}",
            last_inbound_at=now - timedelta(minutes=1),
            last_message_at=now - timedelta(minutes=1),
            profile_fetched_at=now,
        )
        for i in range(contacts)
    )
    written = {c.external_id: [] for c in customers}
    for n in range(replies):
        contact = customers[n % contacts]
        agent = team[(n % contacts) % agents]  # each customer has one agent
        text = f"Reply {len(written[contact.external_id]) + 1} to {contact.first_name}"
        services.reply_send(contact=contact, agent=agent, text=text)
        written[contact.external_id].append(text)
    return written


def _wait_settled(written, *, timeout):
    """Until no reply is queued any more."""
    from agent_desktop.models import Message

    psids = list(written)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = Message.objects.filter(
            direction="out", status="queued", contact__external_id__in=psids
        ).count()
        if not left:
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


def pacing_rows(pacing, limit, verdict):
    """The table's rows: (phase, figure, value, target, result)."""
    if not pacing:
        return []
    return [
        (
            "pacing",
            f"{pacing['replies']:,} replies, 50 agents, 1 page: refused by Graph (613)",
            f"{pacing['rejected']} (sent {pacing['sent']:,}, failed {pacing['failed']})",
            f"{TARGET_REJECTED}",
            verdict(pacing["rejected"] == TARGET_REJECTED and pacing["sent"] == pacing["replies"]),
        ),
        (
            "pacing",
            "customers who got their replies in the order written",
            f"{pacing['customers_in_order']} of {pacing['customers']}",
            "all",
            verdict(pacing["customers_in_order"] == pacing["customers"]),
        ),
        (
            "pacing",
            "pace: sends/s first → last (most in any 1 s)",
            f"{pacing['sends_per_s']:,.0f}/s over {pacing['seconds']:.1f} s "
            f"({pacing['most_in_one_second']})",
            f"≤ {limit:.0f}/s",
            verdict(pacing["sends_per_s"] <= limit * 1.01),
        ),
    ]
