"""`make soak`: ten minutes of steady traffic with faults along the way; nothing may be lost or
doubled.

Not in CI. One run starts, on 127.0.0.1 and private to the soak (so a restart hurts no one
else): a PostgreSQL cluster of its own (initdb in a temporary folder, port 5440, database
`campaign_soak`), a redis-server of its own (port 6390, db 9, no persistence, as a cache-like
broker is often run), and the layout of "Running at scale": gunicorn (2 x cores sync workers,
DEBUG off), a deliveries worker, a Graph worker, beat, and the fake Graph API (in this process,
so its record of every Send API call can be counted). Then, for `--seconds` (600):

- customers post signed one-message webhook bodies at `--rate` events/s (each with a unique
  mid), from many threads; a post that fails (connection refused, a 5xx, a timeout) is posted
  again, the same body, with a growing pause, as Facebook does; the retries are counted;
- `--agents` agents poll the desk (bench/desk.py's simulated agents, each with a conversation
  open) and an admin replies through the REST API at `--reply-rate` replies/s;
- at 1/4 of the run a worker is SIGKILLed (restarted 5 s later, as a supervisor would), at 1/2
  Redis is shut down without saving and started again empty, at 3/4 PostgreSQL stops at once
  (`pg_ctl -m immediate`, a crash) and starts again.

Then the queues drain (the sweeps find what the faults dropped; up to `--drain-seconds`), and it
prints beside their targets: posts answered, messages stored, replies sent (by the fake Graph's
record), duplicates and losses (target 0 and 0), and the worst event → visible delay. The same
go to bench/results/soak.json, the processes' logs to bench/results/logs/soak-*.log.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/soak.py` puts bench/, not the project, first
    sys.path.insert(0, str(ROOT))

from bench import desk, run  # noqa: E402
from bench.bodies import encode_like_facebook, signature_headers  # noqa: E402

PG_PORT = 5440
REDIS_PORT = 6390
DB_NAME = "campaign_soak"
REDIS_DB = 9
WORK_DIR = Path(tempfile.gettempdir()) / "campaign-soak"
TARGETS = {"duplicates": 0, "losses": 0}
REPLY_MARK = "soak-reply-"
POST_TIMEOUT = 10  # seconds; Facebook gives a webhook about 20
RESTART_AFTER = 5  # seconds a killed or stopped service stays down
# An event or reply whose turn comes this long after the traffic's end is not sent at all (and
# counted as late): when the server falls behind, the run still ends on time.
LATE_AFTER = 5


def log(text):
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)


# --- Private PostgreSQL and Redis -------------------------------------------------------------
class PrivatePostgres:
    """A PostgreSQL cluster of the soak's own in a temporary folder, owned by the postgres user
    when this runs as root (initdb refuses root)."""

    def __init__(self, port=PG_PORT):
        self.port = port
        self.home = WORK_DIR / "pg"
        self.data = self.home / "data"
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
        if not versions:
            raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql (apt: postgresql)")
        self.bin = versions[-1]

    def _as_owner(self, *args):
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*as_postgres, *map(str, args)], check=True, capture_output=True)

    def create(self):
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self._as_owner(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                       "--no-sync")  # fmt: skip
        self.start()

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c fsync=on"
        self._as_owner(self.bin / "pg_ctl", "-D", self.data, "-l", self.home / "server.log",
                       "-o", options, "-w", "start")  # fmt: skip

    def crash(self):
        """Stop at once, as a crash would (recovery from the WAL at the next start)."""
        self._as_owner(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")

    def stop(self):
        subprocess.run(
            [*(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
             str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            capture_output=True,
        )  # fmt: skip

    def url(self, db):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"


class PrivateRedis:
    """A redis-server of the soak's own, without persistence: a restart empties it."""

    def __init__(self, port=REDIS_PORT):
        self.port = port
        self.starts = 0
        self.service = None

    def start(self):
        self.starts += 1
        self.service = run.Service(
            f"soak-redis-{self.starts}",
            ["redis-server", "--port", self.port, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            os.environ,
        )  # fmt: skip
        run._wait(lambda: run._port_open(self.port), 10, "the soak's Redis")

    def shutdown(self):
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
                       capture_output=True)  # fmt: skip
        self.service.popen.wait(timeout=10)
        self.service.stop()


# --- Traffic ----------------------------------------------------------------------------------
class Customers:
    """Customers posting one message each per body at a steady rate; every post is retried
    until it is answered 2xx, as Facebook retries a webhook."""

    def __init__(self, url, page_id, secret, psids, *, run_id, marked=True, threads=64):
        self.url, self.page_id, self.secret, self.psids = url, page_id, secret, psids
        self.run_id = run_id
        self.marked = marked  # whether the agents time this message's arrival on their desk
        self.started = time.time()
        self.threads = threads
        self.first_try = {}  # event number -> when it was first posted
        self.answered = {}  # event number -> when a post of it was answered 2xx
        self.retries = 0
        self.failures = Counter()  # what failed posts met: "refused", "timeout", "HTTP 500"…
        self.late = 0  # events not posted: the posting was that far behind at the end
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def mid(self, n):
        return f"m_soak_{self.run_id}_{n}"

    def psid(self, n):
        return self.psids[n % len(self.psids)]

    def body(self, n):
        now_ms = int(time.time() * 1000)
        item = {
            "sender": {"id": self.psid(n)},
            "recipient": {"id": self.page_id},
            "timestamp": now_ms,
            # The mark is the one bench/desk.py's agents look for in their conversation.
            "message": {
                "mid": self.mid(n),
                "text": f"desk-bench-ev-{n}- soak" if self.marked else "soak warm-up",
            },
        }
        entry = {"id": self.page_id, "time": now_ms, "messaging": [item]}
        payload = {"object": "page", "entry": [entry]}
        body = encode_like_facebook(payload)
        return body, signature_headers(body, self.secret)

    def run(self, *, rate, seconds):
        """Post rate x seconds events (blocks until each was answered 2xx or `stop` is set)."""
        start = time.time() + 0.2
        self.deadline = start + seconds + LATE_AFTER
        count = int(rate * seconds)
        with ThreadPoolExecutor(self.threads) as pool:
            for k in range(self.threads):
                slots = [(n, start + n / rate) for n in range(k, count, self.threads)]
                pool.submit(self._thread, slots)
        return count

    def _thread(self, slots):
        import requests

        session = requests.Session()
        for n, at in slots:
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            if time.time() > self.deadline:
                with self.lock:
                    self.late += 1
                continue
            body, headers = self.body(n)
            self.first_try[n] = time.time()
            pause = 0.5
            while not self.stop.is_set():
                outcome = self._post(session, body, headers)
                if outcome is None:
                    self.answered[n] = time.time()
                    break
                with self.lock:
                    self.retries += 1
                    self.failures[outcome] += 1
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _post(self, session, body, headers):
        import requests

        try:
            answer = session.post(self.url, data=body, headers=headers, timeout=POST_TIMEOUT)
        except requests.ConnectionError:
            return "refused or reset"
        except requests.Timeout:
            return "timeout"
        return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"


class Replier:
    """An admin answering customers through the REST API (`POST /api/contacts/{id}/messages/`)
    at a steady rate, each reply with a unique text; a reply the API did not take (refused,
    5xx) is sent again, as an agent would press Send again."""

    def __init__(self, base_url, token, contact_ids):
        self.base_url, self.token, self.contact_ids = base_url, token, contact_ids
        self.accepted = {}  # reply text -> contact id
        self.retries = 0
        self.failures = Counter()
        self.late = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self, *, rate, seconds, run_id, threads=4):
        start = time.time()
        deadline = start + seconds + LATE_AFTER
        count = int(rate * seconds)
        with ThreadPoolExecutor(threads) as pool:
            for k in range(threads):
                slots = [(n, start + n / rate) for n in range(k, count, threads)]
                pool.submit(self._thread, slots, deadline, run_id)

    def _thread(self, slots, deadline, run_id):
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        for k, at in slots:
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            if time.time() > deadline:
                with self.lock:
                    self.late += 1
                continue
            contact_id = random.choice(self.contact_ids)
            text = f"{REPLY_MARK}{run_id}-{k}"
            url = f"{self.base_url}/api/contacts/{contact_id}/messages/"
            pause = 0.5
            while not self.stop.is_set():
                try:
                    answer = session.post(url, json={"text": text}, timeout=POST_TIMEOUT)
                    outcome = None if answer.status_code == 201 else f"HTTP {answer.status_code}"
                except requests.RequestException as error:
                    outcome = type(error).__name__
                if outcome is None:
                    self.accepted[text] = contact_id
                    break
                with self.lock:
                    self.retries += 1
                    self.failures[outcome] += 1
                time.sleep(pause)
                pause = min(pause * 2, 5.0)


def report_progress(customers, replier, polls, stop, every=30):
    """A line every `every` seconds, so a long run shows where it falls behind."""
    while not stop.wait(every):
        log(f"  {time.time() - customers.started:.0f} s: {len(customers.first_try):,} events "
            f"posted, {len(customers.answered):,} answered, {customers.retries} retries, "
            f"{customers.late} late; {len(replier.accepted)} replies; {len(polls):,} polls; "
            f"load {os.getloadavg()[0]:.1f}")  # fmt: skip


def poll_desk(port, agents, results, seen, stop):
    """bench/desk.py's agents, polling until `stop` is set."""

    async def main():
        tasks = [
            asyncio.create_task(
                desk._agent(port, cookie, contact, tokens, float("inf"), results, seen)
            )
            for cookie, contact, _, tokens in agents
        ]
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


# --- Faults -----------------------------------------------------------------------------------
class Faults:
    """The three faults, each at its moment, noted with how long the service was down."""

    def __init__(self, *, started, seconds, worker_restart, redis, postgres):
        self.started, self.seconds = started, seconds
        self.worker_restart, self.redis, self.postgres = worker_restart, redis, postgres
        self.timeline = []

    def run(self):
        plan = [
            (0.25, "worker SIGKILL (deliveries worker, all its processes)", self._kill_worker),
            (0.50, "Redis shutdown nosave, started again empty", self._restart_redis),
            (0.75, "PostgreSQL stopped at once (immediate), started again", self._crash_postgres),
        ]
        for share, name, fault in plan:
            time.sleep(max(0.0, self.started + share * self.seconds - time.time()))
            at = time.time() - self.started
            log(f"fault at {at:.0f} s: {name}")
            down = fault()
            self.timeline.append({"at_s": round(at, 1), "fault": name, "down_s": round(down, 1)})
            log(f"  back after {down:.1f} s")

    def _kill_worker(self):
        began = time.time()
        self.worker_restart()
        return time.time() - began

    def _restart_redis(self):
        began = time.time()
        self.redis.shutdown()
        time.sleep(RESTART_AFTER)
        self.redis.start()
        return time.time() - began

    def _crash_postgres(self):
        began = time.time()
        self.postgres.crash()
        time.sleep(RESTART_AFTER)
        self.postgres.start()
        return time.time() - began


# --- Set-up -----------------------------------------------------------------------------------
def soak_environment(graph_port, postgres):
    environment = run.bench_environment(
        graph_port=graph_port, db_name=DB_NAME, redis_db=REDIS_DB, var_name="soak"
    )
    environment["DATABASE_URL"] = postgres.url(DB_NAME)
    environment["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}"
    return environment


def create_database(postgres):
    import psycopg

    with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def admin_token():
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    admin = User.objects.create_user("soak-admin", is_staff=True)
    return Token.objects.create(user=admin).key


def warm_up(customers, page):
    """One message from every customer before the clock starts: contacts, profiles and reply
    windows exist, so the run measures steady traffic, not first contacts."""
    from agent_desktop.models import Message

    warm = Customers(customers.url, customers.page_id, customers.secret, customers.psids,
                     run_id=f"{customers.run_id}warm", marked=False)  # fmt: skip
    count = warm.run(rate=100, seconds=len(customers.psids) / 100)
    mids = [warm.mid(n) for n in range(count)]
    run._wait(lambda: Message.objects.filter(mid__in=mids).count() == count, 120,
              "the warm-up messages to be stored")  # fmt: skip


# --- Counting ---------------------------------------------------------------------------------
def count_outcomes(customers, replier, fake, posted_count, watchers, seen, polls):
    from django.db import connection
    from django.db.models import Count

    from agent_desktop.models import Message
    from messenger.models import WebhookDelivery

    connection.close()  # opened before PostgreSQL restarted
    prefix = f"m_soak_{customers.run_id}_"
    stored = Counter(
        dict(
            Message.objects.filter(mid__startswith=prefix)
            .values_list("mid")
            .annotate(n=Count("id"))
            .values_list("mid", "n")
        )
    )
    answered_mids = {customers.mid(n) for n in customers.answered}
    written = Counter(
        Message.objects.filter(direction="out", text__startswith=REPLY_MARK).values_list(
            "text", flat=True
        )
    )
    failed_replies = Message.objects.filter(
        direction="out", text__startswith=REPLY_MARK, status="failed"
    ).count()
    graph_received = Counter(
        s["message"].get("text", "")
        for s in fake.sent_messages()
        if s["message"].get("text", "").startswith(REPLY_MARK)
    )
    delays, not_seen = [], 0
    for n, first in customers.first_try.items():
        for cookie in watchers.get(customers.psid(n), []):
            shown = seen.get((cookie, n))
            if shown is None:
                not_seen += 1
            else:
                delays.append((shown - first, n))
    delays.sort()
    worst = delays[-1] if delays else (None, None)
    poll_times = sorted(took * 1000 for status, took in polls if status in (200, 204))
    poll_errors = Counter(status for status, _ in polls if status not in (200, 204))
    return {
        "events_scheduled": posted_count,
        "events_late": customers.late,
        "events_offered": len(customers.first_try),
        "posts_answered_2xx": len(customers.answered),
        "posts_never_answered": len(customers.first_try) - len(customers.answered),
        "post_retries": customers.retries,
        "post_failures": dict(customers.failures),
        "messages_stored": len(stored),
        "unique_mids_posted": len(answered_mids),
        "messages_stored_twice": sum(1 for n in stored.values() if n > 1),
        "messages_lost": len(answered_mids - set(stored)),
        "deliveries": dict(
            WebhookDelivery.objects.values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        ),
        "replies_accepted": len(replier.accepted),
        "replies_late": replier.late,
        "reply_retries": replier.retries,
        "reply_failures": dict(replier.failures),
        "replies_written": len(written),
        "replies_written_twice": sum(1 for n in written.values() if n > 1),
        "replies_sent": len(graph_received),
        "replies_sent_twice": sum(1 for n in graph_received.values() if n > 1),
        "replies_lost": len(set(replier.accepted) - set(graph_received)),
        "replies_marked_failed": failed_replies,
        "visible_measured": len(delays),
        "visible_not_seen": not_seen,
        "visible_p50_s": desk._pct([d for d, _ in delays], 50),
        "visible_p95_s": desk._pct([d for d, _ in delays], 95),
        "visible_worst_s": worst[0],
        "visible_worst_posted_at_s": (
            customers.first_try[worst[1]] - customers.started if worst[1] is not None else None
        ),
        "polls": len(polls),
        "poll_p50_ms": desk._pct(poll_times, 50),
        "poll_p99_ms": desk._pct(poll_times, 99),
        "poll_errors": {str(k): v for k, v in poll_errors.items()},
    }


def soak_rows(r):
    duplicates = r["messages_stored_twice"] + r["replies_written_twice"] + r["replies_sent_twice"]
    losses = r["messages_lost"] + r["replies_lost"] + r["posts_never_answered"]
    worst = r["visible_worst_s"]
    return [
        ("soak", "events scheduled / posted (late: not posted) / answered 2xx",
         f"{r['events_scheduled']:,} / {r['events_offered']:,} ({r['events_late']:,}) / "
         f"{r['posts_answered_2xx']:,}", "all posted answered",
         run.verdict(r["posts_never_answered"] == 0)),
        ("soak", "post retries (what they met)",
         f"{r['post_retries']:,} ({_counts(r['post_failures'])})", "", ""),
        ("soak", "messages stored / unique mids posted",
         f"{r['messages_stored']:,} / {r['unique_mids_posted']:,}", "equal",
         run.verdict(r["messages_stored"] == r["unique_mids_posted"])),
        ("soak", "replies accepted by the API / written / sent (fake Graph's record)",
         f"{r['replies_accepted']:,} / {r['replies_written']:,} / {r['replies_sent']:,}",
         "equal", run.verdict(r["replies_accepted"] == r["replies_written"] == r["replies_sent"])),
        ("soak", "reply retries (what they met); late, not sent",
         f"{r['reply_retries']:,} ({_counts(r['reply_failures'])}); {r['replies_late']}", "",
         ""),
        ("soak", "duplicates: mids stored twice, replies written / sent twice",
         f"{r['messages_stored_twice']}, {r['replies_written_twice']} / {r['replies_sent_twice']}",
         f"{TARGETS['duplicates']}", run.verdict(duplicates == TARGETS["duplicates"])),
        ("soak", "losses: posted mids not stored, replies not sent, posts given up",
         f"{r['messages_lost']}, {r['replies_lost']} ({r['replies_marked_failed']} marked "
         f"failed), {r['posts_never_answered']}", f"{TARGETS['losses']}",
         run.verdict(losses == TARGETS["losses"])),
        ("soak", "event → visible p50 / p95 / worst (posted at)",
         "n/a" if worst is None else
         f"{r['visible_p50_s']:.1f} / {r['visible_p95_s']:.1f} / {worst:.1f} s "
         f"({r['visible_worst_posted_at_s']:.0f} s into the run); {r['visible_not_seen']} not "
         f"seen of {r['visible_measured'] + r['visible_not_seen']:,}", "", ""),
        ("soak", "desk polls: count, p50 / p99, errors",
         f"{r['polls']:,}, {_ms(r['poll_p50_ms'])} / {_ms(r['poll_p99_ms'])} ms, "
         f"{_counts(r['poll_errors']) or 'none'}", "", ""),
        ("soak", "deliveries by status at the end", _counts(r["deliveries"]), "", ""),
    ]  # fmt: skip


def _counts(counter):
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()))


def _ms(value):
    return "n/a" if value is None else f"{value:.0f}"


# --- Main -------------------------------------------------------------------------------------
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600, help="the traffic (600)")
    parser.add_argument("--rate", type=float, default=50, help="events/s posted (50)")
    parser.add_argument("--customers", type=int, default=400, help="who post (400)")
    parser.add_argument("--agents", type=int, default=30, help="agents polling the desk (30)")
    parser.add_argument("--reply-rate", type=float, default=2, help="replies/s (2)")
    parser.add_argument(
        "--drain-seconds", type=int, default=360,
        help="the most to wait after the traffic for the queues to drain (360)",
    )  # fmt: skip
    parser.add_argument(
        "--web-workers", type=int, default=2 * (os.cpu_count() or 1),
        help="gunicorn sync workers (2 x cores)",
    )  # fmt: skip
    return parser.parse_args()


def main():
    args = parse_args()
    load_at_start = os.getloadavg()
    run.RESULTS.mkdir(parents=True, exist_ok=True)
    run.LOGS.mkdir(parents=True, exist_ok=True)
    run_id = datetime.now(UTC).strftime("%H%M%S")
    postgres, redis = PrivatePostgres(), PrivateRedis()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    graph_port, web_port = run._free_port(), run._free_port()
    env = {**os.environ, **soak_environment(graph_port, postgres)}
    os.environ.update(env)  # this process seeds and counts in the same database
    shutil.rmtree(env["VAR_DIR"], ignore_errors=True)
    services = []
    log(f"soak {args.seconds} s: {args.rate:g} events/s from {args.customers} customers, "
        f"{args.agents} agents polling, {args.reply_rate:g} replies/s; load average "
        f"{load_at_start[0]:.2f}")  # fmt: skip
    postgres.create()
    try:
        redis.start()
        create_database(postgres)

        import django

        django.setup()
        from django.core.management import call_command

        from messenger.sandbox.demo import DEMO_PAGE
        from messenger.sandbox.fake_graph import FakeGraphAPI
        from messenger.setup import webhook_path

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        fake = FakeGraphAPI(port=graph_port)
        fake.add_page(**DEMO_PAGE)
        fake.start()
        page = run.seed_bench_page()
        token = admin_token()
        seeded = desk.seed_agents(page, agents=args.agents, campaigns=1, customers=args.customers)
        psids = [str(desk.PSID_BASE + n) for n in range(args.customers)]
        watchers = {}
        for cookie, _, psid, _ in seeded:
            watchers.setdefault(psid, []).append(cookie)

        Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
        services.append(run.Service(
            "soak-gunicorn",
            [run.BIN / "gunicorn", "config.wsgi:application", "--workers", args.web_workers,
             "--worker-class", "sync", "--bind", f"127.0.0.1:{web_port}", "--log-level",
             "warning"],
            env,
        ))  # fmt: skip
        run._wait(lambda: run._port_open(web_port), 30, "gunicorn")
        services.append(run.Service(
            "soak-beat",
            [run.BIN / "celery", "-A", "config", "beat", "--loglevel", "INFO",
             "--schedule", Path(env["VAR_DIR"]) / "celerybeat-schedule"],
            env,
        ))  # fmt: skip
        workers = {
            "deliveries": run.start_worker("soak-worker-deliveries", env, pool="prefork",
                                           queues="deliveries,celery"),
            "graph": run.start_worker("soak-worker-graph", env, pool="prefork",
                                      queues="profiles,sends,sweeps", concurrency=2),
        }  # fmt: skip
        services.extend(workers.values())

        def restart_deliveries_worker():
            killed = workers["deliveries"]
            os.killpg(killed.popen.pid, signal.SIGKILL)
            killed.popen.wait()
            time.sleep(RESTART_AFTER)
            workers["deliveries"] = run.start_worker(
                "soak-worker-deliveries-2", env, pool="prefork", queues="deliveries,celery"
            )
            services.append(workers["deliveries"])

        base_url = f"http://127.0.0.1:{web_port}"
        customers = Customers(f"{base_url}{webhook_path(page)}", page.page_id,
                              run.BENCH_PAGE["app_secret"], psids, run_id=run_id)  # fmt: skip
        log("warm-up: one message from every customer")
        warm_up(customers, page)
        from agent_desktop.models import Contact

        contact_ids = list(
            Contact.objects.filter(entry_point=page.entry_point, external_id__in=psids).values_list(
                "pk", flat=True
            )
        )
        replier = Replier(base_url, token, contact_ids)

        polls, seen, agents_stop = [], {}, threading.Event()
        threads = [threading.Thread(target=poll_desk, args=(web_port, seeded, polls, seen,
                                                            agents_stop), daemon=True)]  # fmt: skip
        customers.started = time.time()
        faults = Faults(started=customers.started, seconds=args.seconds,
                        worker_restart=restart_deliveries_worker, redis=redis,
                        postgres=postgres)  # fmt: skip
        posted = {}
        threads += [
            threading.Thread(target=lambda: posted.setdefault("count", customers.run(
                rate=args.rate, seconds=args.seconds)), daemon=True),
            threading.Thread(target=replier.run, kwargs={"rate": args.reply_rate,
                             "seconds": args.seconds, "run_id": run_id}, daemon=True),
            threading.Thread(target=faults.run, daemon=True),
        ]  # fmt: skip
        progress_stop = threading.Event()
        threading.Thread(target=report_progress, args=(customers, replier, polls, progress_stop),
                         daemon=True).start()  # fmt: skip
        log("traffic on")
        for thread in threads:
            thread.start()
        for thread in threads[1:]:
            thread.join(timeout=args.seconds + args.drain_seconds)
        progress_stop.set()
        traffic_ended = time.time()
        log(f"traffic off after {traffic_ended - customers.started:.0f} s; draining…")
        drained = wait_for_drain(customers, replier, fake, timeout=args.drain_seconds)
        log(f"drained: {drained} after {time.time() - traffic_ended:.0f} s")
        customers.stop.set()
        replier.stop.set()
        time.sleep(3 * desk.POLL_SECONDS)  # the agents' next polls show the last messages
        agents_stop.set()
        threads[0].join(timeout=30)
        results = count_outcomes(customers, replier, fake, posted.get("count", 0), watchers, seen,
                                 list(polls))  # fmt: skip
        results["drain_s"] = round(time.time() - traffic_ended, 1)
        results["drained"] = drained
        results["faults"] = faults.timeline
        fake.stop()
    finally:
        for service in reversed(services):
            service.stop()
        if redis.service:
            redis.service.stop()
        postgres.stop()
    results["settings"] = vars(args)
    results["load_average_at_start"] = [round(x, 2) for x in load_at_start]
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = TARGETS
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    for fault in results["faults"]:
        log(f"fault at {fault['at_s']:.0f} s: {fault['fault']} (down {fault['down_s']:.1f} s)")
    run.print_table(soak_rows(results))
    print(f"Load average at start {results['load_average_at_start']}, at end "
          f"{results['load_average_at_end']}; drained in {results['drain_s']:.0f} s.")  # fmt: skip
    (run.RESULTS / "soak.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"Figures in {(run.RESULTS / 'soak.json').relative_to(ROOT)}; "
          f"logs in {run.LOGS.relative_to(ROOT)}/soak-*.log")  # fmt: skip


def wait_for_drain(customers, replier, fake, *, timeout):
    """Until every answered post's message is stored and every accepted reply reached the fake
    Graph API; False when `timeout` passed first (then the counts show what is missing)."""
    from django.db import OperationalError, connection

    from agent_desktop.models import Message

    mids = [customers.mid(n) for n in customers.answered]
    deadline = time.monotonic() + timeout
    connection.close()  # opened before PostgreSQL restarted
    while time.monotonic() < deadline:
        try:
            stored = Message.objects.filter(mid__in=mids).count()
        except OperationalError:
            connection.close()
            stored = -1
        sent = {s["message"].get("text") for s in fake.sent_messages()} >= set(replier.accepted)
        if stored == len(mids) and sent:
            return True
        time.sleep(1)
    return False


if __name__ == "__main__":
    main()
