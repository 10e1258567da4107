"""`make bench`: the webhook's ingest, the worker's processing and the desktop, on the real stack.

One run starts, on 127.0.0.1 only and each for a bounded time:

- PostgreSQL (database `campaign_bench`, dropped and created again) and Redis (db 5, flushed);
- gunicorn (`--workers`, sync) with DEBUG off, serving the app and two baseline views
  (bench/baseline_views.py, mounted by BENCH_BASELINES=1);
- the fake Graph API (`manage.py run_fake_graph`) and, for the processing phase, one Celery
  worker process; the pacing phase (bench/pacing.py) runs a fake Graph API of its own, in this
  process, and sends workers.

and prints, side by side, the figures of the three phases with their targets (see the README's
"Performance"). The same figures go to bench/results/latest.json. Nothing here asserts: a missed
target is printed as MISS, for someone to profile and fix.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/, not the project, on the path
    sys.path.insert(0, str(ROOT))

from bench.bodies import MEAN_ITEMS_PER_BODY, signed_bodies  # noqa: E402
from bench.fixtures import BENCH_PAGE  # noqa: E402
from bench.pacing import pacing_rows  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOGS = RESULTS / "logs"
BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "campaign_bench"
REDIS_DB = 5
FERNET_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMDE="  # 32 bytes, base64: bench only

TARGETS = {
    "ingest_vs_durable": 0.8,  # webhook req/s ≥ 0.8 x the minimal durable receiver's
    "ingest_p99_ms": 50.0,
    "processing_events_per_s": 300.0,
    "stored_events_per_s_per_delivery_worker": 600.0,
    "profiles_after_burst_s": 10.0,
    "desk_poll_p99_ms": 200.0,  # at 1 000 agents
    "desk_visible_p95_s": 2.0,
    "pacing_refused_sends": 0,  # bench/pacing.py: 2 000 replies at Meta's 300 sends/s per page
}
DESK_TARGET_AGENTS = 1000


# --- Services and tools -----------------------------------------------------------------------
def ensure_services():
    """PostgreSQL and Redis on loopback (started as in .ci/run if they are not), wrk, gunicorn."""
    if not shutil.which("pg_isready") or not shutil.which("redis-server"):
        _apt_install("postgresql", "redis-server")
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True
        )
        _wait(lambda: not subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode, 30)
    if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode:
        subprocess.run(
            [
                "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                "--save", "", "--appendonly", "no",
            ],
            check=True,
        )  # fmt: skip
        _wait(lambda: _port_open(6379), 10)
    if not shutil.which("wrk"):
        _apt_install("wrk")
    if not (BIN / "gunicorn").exists():
        subprocess.run([BIN / "pip", "install", "--quiet", "gunicorn"], check=True)


def _apt_install(*packages):
    print(f"installing {' '.join(packages)} with apt-get", flush=True)
    if subprocess.run(["apt-get", "install", "-y", "-qq", *packages]).returncode:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True)


def bench_environment(*, graph_port=None, db_name=DB_NAME, redis_db=REDIS_DB, var_name="bench"):
    """Production-like settings (DEBUG off) on a bench's own database and Redis db; the Graph
    API is the fake one on `graph_port` when a phase needs one."""
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "FIELD_ENCRYPTION_KEY": FERNET_KEY,
        # Plain HTTP on loopback: no TLS redirect (everything else of DEBUG=0 stays on).
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "SANDBOX": "0",
        # Beat (a process of its own) sweeps every 5 s during the run; a delivery is swept only
        # after 120 s unprocessed, so a healthy run has nothing to sweep.
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "5",
        "VAR_DIR": str(ROOT / "var" / var_name),
        "PYTHONUNBUFFERED": "1",
    }
    if graph_port is not None:
        environment["GRAPH_API_URL"] = f"http://127.0.0.1:{graph_port}/v25.0"
    return environment


class Service:
    """A child process in its own session, its output in bench/results/logs/<name>.log."""

    def __init__(self, name, args, env):
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            [str(a) for a in args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_for(self, text, timeout=60):
        def seen():
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-2000:]}")
            return text in self.log_path.read_text(errors="replace")

        _wait(seen, timeout, f"{text!r} from {self.name}")

    def stop(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def _wait(condition, timeout, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Profiler:
    """`--profile`: py-spy samples a service (and its children) while a phase runs; the
    collapsed stacks go to bench/results/profile-<name>.txt, a summary beside them."""

    def __init__(self, enabled):
        if enabled and not (BIN / "py-spy").exists():
            subprocess.run([BIN / "pip", "install", "--quiet", "py-spy"], check=True)
        self.enabled = enabled
        self.running = []

    def start(self, name, service, seconds):
        if not self.enabled:
            return
        out = RESULTS / f"profile-{name}.txt"
        args = [
            BIN / "py-spy", "record", "--pid", service.popen.pid, "--subprocesses",
            "--duration", seconds, "--rate", "200", "--format", "raw", "--nonblocking",
            "--output", out,
        ]  # fmt: skip
        popen = subprocess.Popen(
            [str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.running.append((popen, out))

    def finish(self):
        for popen, out in self.running:
            popen.wait(timeout=120)
            if out.exists():
                out.with_suffix(".summary.txt").write_text(summarize_profile(out))
        self.running = []


def summarize_profile(path, top=40):
    """The functions that took most samples, inclusive and self, from collapsed stacks."""
    inclusive, own, total = {}, {}, 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    lines = [f"{total} samples", "", "inclusive:"]
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * n / total:5.1f}%  {frame}")
    lines += ["", "self:"]
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * n / total:5.1f}%  {frame}")
    return "\n".join(lines) + "\n"


# --- Database, broker, fixtures ---------------------------------------------------------------
def recreate_database():
    """A database of the bench's own, so a run never touches `test` or development data."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def flush_broker():
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()


def queued_tasks():
    import redis

    return redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).llen("celery")


def prepare_schema():
    from django.core.management import call_command
    from django.db import connection

    from bench.baseline_views import CREATE_RAW_TABLE

    call_command("migrate", verbosity=0, interactive=False)
    # DEBUG is off: pages name their static files from collectstatic's manifest, as deployed.
    call_command("collectstatic", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(CREATE_RAW_TABLE)  # the durable baseline's table; not a product model


def seed_bench_page():
    """A campaign with one connected Facebook Page, checked against the fake Graph API."""
    from campaigns.models import Campaign
    from messenger import setup as page_setup

    campaign = Campaign.objects.create(name="Bench campaign")
    entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Bench page")
    page = entry_point.facebook_page
    check = page_setup.facebook_page_save_credentials(
        page=page,
        app_id=BENCH_PAGE["app_id"],
        app_secret=BENCH_PAGE["app_secret"],
        page_access_token=BENCH_PAGE["access_token"],
    )
    if not check.ok:
        raise RuntimeError(f"the bench page could not be connected: {check.message}")
    page_setup.facebook_page_generate_webhook(page=page)
    return page


def truncate_ingest_tables():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_raw_delivery, messenger_webhookdelivery")


# --- Ingest -----------------------------------------------------------------------------------
WRK_LUA = r"""
-- Generated by bench/run.py: rotates among pre-signed webhook bodies, each thread from its own
-- offset, and prints the summary as one JSON line.
local bodies = {
%(bodies)s
}
local signatures = {
%(signatures)s
}
local counter = 0
local requests_, index = {}, 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  for i = 1, #bodies do
    requests_[i] = wrk.format("POST", wrk.path, {
      ["Content-Type"] = "application/json",
      ["X-Hub-Signature-256"] = signatures[i],
      ["User-Agent"] = "facebookexternalua",
    }, bodies[i])
  end
  index = (id * 7919) %% #bodies + 1
end

function request()
  index = index %% #requests_ + 1
  return requests_[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"errors":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def write_wrk_script(bodies):
    def long_string(text):
        assert "]==]" not in text
        return f"[==[{text}]==]"

    script = WRK_LUA % {
        "bodies": ",\n".join(long_string(b.body.decode("ascii")) for b in bodies),
        "signatures": ",\n".join(f'"{b.headers["X-Hub-Signature-256"]}"' for b in bodies),
    }
    path = RESULTS / "wrk_bodies.lua"
    path.write_text(script)
    return path


def run_wrk(url, script, *, seconds, connections, threads=2):
    out = subprocess.run(
        [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", str(script), url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "req_per_s": raw["requests"] / seconds_run,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non_2xx": raw["non2xx"],
        "socket_errors": raw["errors"],
    }


def bench_ingest(base_url, page, *, seconds, connections, rounds, web, profiler):
    """Requests/s and latency of the webhook beside the two baselines, same server, same bodies.

    No worker runs meanwhile (its CPU would go to the two cores gunicorn is measured on); the
    tasks the webhook enqueues wait in Redis and are counted, then dropped."""
    from messenger.models import WebhookDelivery
    from messenger.setup import webhook_path

    bodies = signed_bodies(
        count=4000, page_id=page.page_id, app_secret=BENCH_PAGE["app_secret"], customers=2000
    )
    script = write_wrk_script(bodies)
    targets = {
        "bare": f"{base_url}/bench/bare/",
        "durable": f"{base_url}/bench/durable/",
        "webhook": f"{base_url}{webhook_path(page)}",
    }
    for url in targets.values():  # warm up: imports, DB and broker connections in each worker
        run_wrk(url, script, seconds=2, connections=connections)
    time.sleep(1)  # the last requests of the warm-up finish before the tables are emptied
    truncate_ingest_tables()
    flush_broker()

    runs = {name: [] for name in targets}
    order = list(targets)
    for round_ in range(rounds):
        # Alternate the order (A B C, C B A…) so a drift of the machine favours no one.
        for name in order if round_ % 2 == 0 else reversed(order):
            print(f"  ingest: {name} for {seconds} s…", flush=True)
            if name == "webhook" and round_ == 0:
                profiler.start("web", web, max(1, seconds - 2))
            runs[name].append(
                run_wrk(targets[name], script, seconds=seconds, connections=connections)
            )
    profiler.finish()
    time.sleep(1)  # every request answered before counting what was stored and enqueued
    result = {name: _mean_runs(r) for name, r in runs.items()}
    stored = WebhookDelivery.objects.count()
    result["webhook"]["deliveries_stored"] = stored
    # The webhook publishes wake-ups, not one task per delivery: each task takes every
    # delivery waiting when it runs.
    result["webhook"]["wake_up_tasks"] = queued_tasks()
    result["ratio_webhook_vs_bare"] = result["webhook"]["req_per_s"] / result["bare"]["req_per_s"]
    result["ratio_webhook_vs_durable"] = (
        result["webhook"]["req_per_s"] / result["durable"]["req_per_s"]
    )
    result["ratio_durable_vs_bare"] = result["durable"]["req_per_s"] / result["bare"]["req_per_s"]
    result["events_per_body_mean"] = statistics.mean(b.events for b in bodies)
    result["body_bytes_mean"] = statistics.mean(len(b.body) for b in bodies)
    truncate_ingest_tables()
    flush_broker()
    return result


def _mean_runs(runs):
    keys = ("req_per_s", "p50_ms", "p90_ms", "p99_ms")
    mean = {k: statistics.mean(r[k] for r in runs) for k in keys}
    mean["max_ms"] = max(r["max_ms"] for r in runs)
    mean["requests"] = sum(r["requests"] for r in runs)
    mean["non_2xx"] = sum(r["non_2xx"] for r in runs)
    mean["socket_errors"] = sum(r["socket_errors"] for r in runs)
    mean["runs"] = runs
    return mean


# --- Processing -------------------------------------------------------------------------------
class Poster:
    """Posts signed bodies to the webhook from a few threads, noting when each was sent."""

    def __init__(self, url, threads=6):
        import requests

        self.url = url
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(threads)
        self._requests = requests

    def _session(self):
        if not hasattr(self.local, "session"):
            self.local.session = self._requests.Session()
        return self.local.session

    def _post(self, body, not_before):
        if not_before:
            time.sleep(max(0.0, not_before - time.time()))
        sent = time.time()
        response = self._session().post(self.url, data=body.body, headers=body.headers, timeout=30)
        return sent, response.status_code

    def post_all(self, bodies, *, rate=None):
        """Post every body, as fast as the threads go or at `rate` bodies/s; returns send
        times (epoch seconds, in order) after checking every answer was 200."""
        start = time.time() + 0.05
        slots = [start + i / rate if rate else None for i in range(len(bodies))]
        futures = [self.pool.submit(self._post, b, s) for b, s in zip(bodies, slots, strict=True)]
        results = [f.result() for f in futures]
        refused = [status for _, status in results if status != 200]
        if refused:
            raise RuntimeError(f"{len(refused)} posts were refused: {sorted(set(refused))}")
        return [sent for sent, _ in results]

    def close(self):
        self.pool.shutdown()


def bench_processing(base_url, page, *, events, customers, timeout, worker, profiler):
    """Events/s from the first post until every message is stored and every profile fetched,
    with one worker process; then post→stored latency at a steady half of that rate."""
    import random

    from agent_desktop.models import Contact
    from messenger.setup import webhook_path

    poster = Poster(f"{base_url}{webhook_path(page)}")
    secret = BENCH_PAGE["app_secret"]
    try:
        # Warm up the worker (imports, connections, first profile fetch) on customers of its own.
        warm = signed_bodies(count=20, page_id=page.page_id, app_secret=secret, customers=5)
        poster.post_all(warm)
        _wait_stored(page, warm, timeout=60)

        # The burst: `events` events from `customers` new customers, posted at once.
        burst = _bodies_for_events(events, page.page_id, secret, customers)
        print(f"  processing: {sum(b.events for b in burst)} events in {len(burst)} posts…")
        profiler.start("worker", worker, 8)
        sent = poster.post_all(burst)
        posting_seconds = max(sent) - min(sent)
        _wait_stored(page, burst, timeout=timeout)
        burst_result = _processing_figures(page, burst, sent)
        burst_result["posting_seconds"] = posting_seconds
        profiler.finish()

        # Steady traffic at half the measured throughput, from the same (now known) customers:
        # the latency a message sees when the worker keeps up.
        psids = list(
            Contact.objects.filter(entry_point=page.entry_point_id).values_list(
                "external_id", flat=True
            )
        )
        rate_events = max(20.0, burst_result["events_per_s"] / 2)
        steady = signed_bodies(
            count=int(rate_events / MEAN_ITEMS_PER_BODY * 8),  # about 8 s of traffic
            page_id=page.page_id,
            app_secret=secret,
            psids=random.sample(psids, min(len(psids), customers)),
        )
        rate_bodies = rate_events / statistics.mean(b.events for b in steady)
        print(f"  processing: steady {rate_events:.0f} events/s for ~8 s…", flush=True)
        sent = poster.post_all(steady, rate=rate_bodies)
        _wait_stored(page, steady, timeout=timeout)
        steady_result = _processing_figures(page, steady, sent)
        steady_result["offered_events_per_s"] = rate_events
    finally:
        poster.close()
    return {"burst": burst_result, "steady": steady_result}


def bench_drain(base_url, page, *, events, customers, timeout, worker_name):
    """Events/s one delivery worker stores when it has the cores: the burst is posted while the
    worker consumes nothing (its consumers cancelled, so it stays warm), then timed from the
    moment it consumes again until every message is stored. The web workers are idle by then:
    what is measured is the worker, PostgreSQL and the Graph worker fetching profiles."""
    from config.celery import app as celery_app
    from messenger.setup import webhook_path

    destination = [f"{worker_name}@{socket.gethostname()}"]
    queues = ("deliveries", "celery")
    poster = Poster(f"{base_url}{webhook_path(page)}")
    try:
        for queue in queues:
            _control(celery_app, "cancel_consumer", queue, destination)
        # A task already running lingers for LINGER_SECONDS once it finds nothing: let it end.
        time.sleep(2)
        burst = _bodies_for_events(events, page.page_id, BENCH_PAGE["app_secret"], customers)
        print(f"  drain: {sum(b.events for b in burst)} events posted with no worker consuming…")
        sent = poster.post_all(burst)
        time.sleep(1)  # the web processes publish their wake-ups (WAKE_INTERVAL_SECONDS)
        resumed = time.time()
        for queue in queues:
            _control(celery_app, "add_consumer", queue, destination)
        _wait_stored(page, burst, timeout=timeout)
        figures = _processing_figures(page, burst, sent)
    finally:
        for queue in queues:  # never leave the worker deaf to the phases after this one
            _control(celery_app, "add_consumer", queue, destination, check=False)
        poster.close()
    drain_seconds = _last_stored(burst) - resumed
    return {
        **figures,
        # The posts alone, with nothing consuming: what the web side takes in (the end-to-end
        # burst cannot store faster than this).
        "posting_seconds": max(sent) - min(sent),
        "posted_events_per_s": figures["events"] / max(0.001, max(sent) - min(sent)),
        "drain_seconds": drain_seconds,
        "drain_events_per_s": figures["events"] / max(0.001, drain_seconds),
    }


def _control(celery_app, command, queue, destination, check=True):
    replies = getattr(celery_app.control, command)(
        queue, destination=destination, reply=True, timeout=5
    )
    if check and not replies:
        raise RuntimeError(f"{command}({queue}) got no reply from {destination}")
    return replies


def _last_stored(bodies):
    from django.db.models import Max

    from agent_desktop.models import Message

    mids = [m for b in bodies for m in b.mids]
    last = Message.objects.filter(mid__in=mids).aggregate(last=Max("created_at"))["last"]
    return last.timestamp()


def _bodies_for_events(events, page_id, secret, customers):
    bodies = signed_bodies(
        count=int(events / MEAN_ITEMS_PER_BODY) + 100,
        page_id=page_id,
        app_secret=secret,
        customers=customers,
    )
    total, out = 0, []
    for body in bodies:
        if total >= events:
            break
        out.append(body)
        total += body.events
    return out


def _wait_stored(page, bodies, *, timeout):
    """Until every message of `bodies` is stored and every contact has its profile."""
    from agent_desktop.models import Contact, Message

    mids = [m for b in bodies for m in b.mids]

    def done():
        stored = Message.objects.filter(mid__in=mids).count()
        pending = Contact.objects.filter(entry_point=page.entry_point_id, profile_fetched_at=None)
        return stored == len(mids) and not pending.exists()

    _wait(done, timeout, "the worker to store every message and fetch every profile")


def _processing_figures(page, bodies, sent):
    from django.db.models import Max

    from agent_desktop.models import Contact, Message
    from messenger.models import WebhookDelivery

    posted_at = {m: t for b, t in zip(bodies, sent, strict=True) for m in b.mids}
    created = dict(Message.objects.filter(mid__in=list(posted_at)).values_list("mid", "created_at"))
    latencies = sorted((created[m].timestamp() - posted_at[m]) * 1000 for m in posted_at)
    last_profile = Contact.objects.filter(entry_point=page.entry_point_id).aggregate(
        last=Max("profile_fetched_at")
    )["last"]
    stored = max(created.values()).timestamp()
    finished = max(stored, last_profile.timestamp())
    first_post, last_post = min(sent), max(sent)  # the threads send out of order
    seconds = finished - first_post
    n_events = sum(b.events for b in bodies)
    # Once the last post is in, the worker no longer shares the cores with the web server: the
    # rate from then on is the worker's own.
    kinds_after = WebhookDelivery.objects.filter(
        processed_at__gt=datetime.fromtimestamp(last_post, tz=UTC)
    ).values_list("event_kinds", flat=True)
    events_after = sum(len(kinds) for kinds in kinds_after)
    return {
        "events": n_events,
        "posts": len(bodies),
        "messages": len(posted_at),
        "seconds": seconds,
        "events_per_s": n_events / seconds,
        "events_per_s_after_posting": events_after / max(0.001, finished - last_post),
        # Storing alone (the delivery worker) and what the profile fetches took after it.
        "stored_events_per_s": n_events / max(0.001, stored - first_post),
        "profiles_after_stored_s": max(0.0, last_profile.timestamp() - stored),
        "latency_p50_ms": _percentile(latencies, 50),
        "latency_p95_ms": _percentile(latencies, 95),
        "latency_max_ms": latencies[-1],
        "deliveries_failed": WebhookDelivery.objects.filter(status="failed").count(),
        "deliveries_waiting": WebhookDelivery.objects.filter(status="received").count(),
        "contacts_without_profile_error": Contact.objects.filter(
            entry_point=page.entry_point_id, profile_error=""
        ).count(),
    }


def _percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


# --- Desktop ----------------------------------------------------------------------------------
DESKTOP_SIZES = (10, 1_000, 10_000)


def bench_desktop(*, repeat=20):
    """Median time and SQL queries of the contact list and a conversation page as an agent
    of a campaign with 10, 1 000 and 10 000 contacts (in-process, Django's test client)."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from campaigns.models import Campaign
    from messenger import setup as page_setup

    campaign = Campaign.objects.create(name="Desktop bench")
    entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Desk page")
    agent = User.objects.create_user("bench-agent", first_name="Bea")
    campaign.agents.add(agent)
    client = Client()
    client.force_login(agent)

    results = []
    have = 0
    conversation_contact = None
    for size in DESKTOP_SIZES:
        conversation_contact = (
            _seed_contacts(entry_point, agent, have, size) or conversation_contact
        )
        have = size
        pages = {
            "list": reverse("agent_desktop:home"),
            "conversation": reverse("agent_desktop:contact", args=[conversation_contact.pk]),
        }
        row = {"contacts": size}
        for name, url in pages.items():
            for _ in range(3):  # warm: template loading, the first compiled queries
                client.get(url)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            row[f"{name}_median_ms"] = statistics.median(times)
            row[f"{name}_queries"] = len(queries)
        print(f"  desktop: {size} contacts done", flush=True)
        results.append(row)
    return results


def _seed_contacts(entry_point, agent, have, size):
    """Contacts `have`..`size` with 3 messages each; the first contact gets a 40-message
    conversation with the agent's replies (returned, so it is the one the page opens)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from agent_desktop.models import Contact, Message

    now = timezone.now()
    statuses = [Contact.Status.NEW, Contact.Status.ASSIGNED, Contact.Status.NEW]
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                channel="messenger",
                entry_point=entry_point,
                external_id=str(7_000_000_000_000_000 + i),
                first_name=f"Customer{i}",
                last_name="Bench",
                status=statuses[i % 3],
                assigned_to=agent if statuses[i % 3] == Contact.Status.ASSIGNED else None,
                unread_count=i % 4,
                last_message_at=now - timedelta(seconds=i),
                last_inbound_at=now - timedelta(seconds=i),
                last_message_preview="Do you ship to Norway?",
                profile_fetched_at=now,
            )
            for i in range(have, size)
        ],
        batch_size=2000,
    )
    messages = []
    for c_index, contact in enumerate(contacts):
        count = 40 if have == 0 and c_index == 0 else 3
        for m in range(count):
            outgoing = m % 2 == 1
            messages.append(
                Message(
                    contact=contact,
                    direction=Message.Direction.OUT if outgoing else Message.Direction.IN,
                    source=Message.Source.AGENT if outgoing else Message.Source.CUSTOMER,
                    status=Message.Status.DELIVERED if outgoing else Message.Status.RECEIVED,
                    sent_by=agent if outgoing else None,
                    text=f"Message {m} of the conversation",
                    mid=f"m_bench_{contact.external_id}_{m}",
                    sent_at=now - timedelta(minutes=count - m),
                )
            )
    Message.objects.bulk_create(messages, batch_size=5000)
    with connection.cursor() as cursor:  # planner statistics, as a live database has them
        cursor.execute("ANALYZE agent_desktop_contact, agent_desktop_message")
    return contacts[0] if have == 0 else None


# --- Report -----------------------------------------------------------------------------------
def machine_info(workers, pool):
    import redis
    from django.db import connection

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    redis_version = redis.Redis(host="127.0.0.1", port=6379).info("server")["redis_version"]
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    import django
    import gunicorn

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version,
        "redis": redis_version,
        "gunicorn": f"{gunicorn.__version__}, {workers} sync workers",
        "wrk": wrk_version.split(" [")[0].strip(),
        "celery_worker": f"one process executing tasks ({pool} pool, --concurrency 1)",
    }


def verdict(ok):
    return "PASS" if ok else "MISS"


def report_rows(results):
    """(phase, figure, value, target, result) rows for the table."""
    ing, proc, desk = results["ingest"], results["processing"], results["desktop"]
    rows = []
    for name, label in (
        ("bare", "bare view"),
        ("durable", "durable receiver"),
        ("webhook", "webhook"),
    ):
        r = ing[name]
        rows.append(
            (
                "ingest",
                f"{label}: req/s, p50 / p99",
                f"{r['req_per_s']:,.0f} req/s, {r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms",
                "p99 < 50 ms" if name == "webhook" else "",
                verdict(r["p99_ms"] < TARGETS["ingest_p99_ms"]) if name == "webhook" else "",
            )
        )
    rows.append(
        (
            "ingest",
            "webhook / durable receiver",
            f"{ing['ratio_webhook_vs_durable']:.2f}",
            f"≥ {TARGETS['ingest_vs_durable']}",
            verdict(ing["ratio_webhook_vs_durable"] >= TARGETS["ingest_vs_durable"]),
        )
    )
    rows.append(("ingest", "webhook / bare view", f"{ing['ratio_webhook_vs_bare']:.2f}", "", ""))
    clean = ing["webhook"]["non_2xx"] == 0 and ing["webhook"]["socket_errors"] == 0
    rows.append(
        (
            "ingest",
            "webhook: answered 200, stored, wake-up tasks, non-2xx",
            f"{ing['webhook']['requests']:,}, {ing['webhook']['deliveries_stored']:,}, "
            f"{ing['webhook']['wake_up_tasks']:,}, {ing['webhook']['non_2xx']}",
            "every 200 stored, woken",
            verdict(
                clean
                and ing["webhook"]["deliveries_stored"] >= ing["webhook"]["requests"]
                and ing["webhook"]["wake_up_tasks"] > 0
            ),
        )
    )
    burst, steady = proc["burst"], proc["steady"]
    rows.append(
        (
            "processing",
            f"burst: {burst['events']} events, {burst['posts']} posts → events/s",
            f"{burst['events_per_s']:,.0f} events/s ({burst['seconds']:.1f} s)",
            f"≥ {TARGETS['processing_events_per_s']:.0f}",
            verdict(burst["events_per_s"] >= TARGETS["processing_events_per_s"]),
        )
    )
    rows.append(
        (
            "processing",
            "burst: events/s once all was posted",
            f"{burst['events_per_s_after_posting']:,.0f} events/s",
            "(worker alone)",
            "",
        )
    )
    rows.append(
        (
            "processing",
            "burst: post → stored p50 / p95",
            f"{burst['latency_p50_ms']:,.0f} / {burst['latency_p95_ms']:,.0f} ms",
            "(queueing)",
            "",
        )
    )
    rows.append(
        (
            "processing",
            f"steady {steady['offered_events_per_s']:.0f} events/s: post → stored p50 / p95",
            f"{steady['latency_p50_ms']:,.0f} / {steady['latency_p95_ms']:,.0f} ms",
            "",
            "",
        )
    )
    rows.append(
        (
            "processing",
            "deliveries left waiting / failed (2 web, worker, beat)",
            f"{steady['deliveries_waiting']} / {steady['deliveries_failed']}",
            "0 / 0",
            verdict(steady["deliveries_waiting"] == 0 and steady["deliveries_failed"] == 0),
        )
    )
    for row in desk:
        rows.append(
            (
                "desktop",
                f"{row['contacts']:,} contacts: list / conversation",
                f"{row['list_median_ms']:.1f} / {row['conversation_median_ms']:.1f} ms, "
                f"{row['list_queries']} / {row['conversation_queries']} queries",
                "",
                "",
            )
        )
    flat = all(
        (r["list_queries"], r["conversation_queries"])
        == (desk[0]["list_queries"], desk[0]["conversation_queries"])
        for r in desk
    )
    rows.append(
        ("desktop", "query count vs contacts", "flat" if flat else "grows", "flat", verdict(flat))
    )
    return rows


def queue_rows(queues):
    rows, target = [], TARGETS["stored_events_per_s_per_delivery_worker"]
    for latency_ms, burst in (queues or {}).items():
        rows.append((
            "queues",
            f"burst, Graph +{latency_ms} ms: stored events/s (1 delivery worker)",
            f"{burst['stored_events_per_s']:,.0f} events/s",
            f"≥ {target:.0f}",
            verdict(burst["stored_events_per_s"] >= target),
        ))  # fmt: skip
        if drain := burst.get("drain"):
            rows.append((
                "queues",
                f"drain, Graph +{latency_ms} ms: the burst posted with no worker consuming",
                f"{drain['posted_events_per_s']:,.0f} events/s ({drain['posting_seconds']:.1f} s)",
                "(the web's pace)",
                "",
            ))  # fmt: skip
            rows.append((
                "queues",
                f"drain, Graph +{latency_ms} ms: {drain['events']} events posted first, "
                "stored events/s from the worker's start",
                f"{drain['drain_events_per_s']:,.0f} events/s ({drain['drain_seconds']:.1f} s; "
                f"profiles done {drain['profiles_after_stored_s']:.1f} s after)",
                f"≥ {target:.0f}",
                verdict(drain["drain_events_per_s"] >= target),
            ))  # fmt: skip
        rows.append((
            "queues",
            f"burst, Graph +{latency_ms} ms: profiles done after the last stored",
            f"{burst['profiles_after_stored_s']:.1f} s",
            f"≤ {TARGETS['profiles_after_burst_s']:.0f} s",
            verdict(burst["profiles_after_stored_s"] <= TARGETS["profiles_after_burst_s"]),
        ))  # fmt: skip
    return rows


def desk_rows(desk):
    rows = []
    for run in desk or []:
        at_target = run["agents"] == DESK_TARGET_AGENTS
        p99, p95 = run["poll_p99_ms"], run["visible_p95_s"]
        # Every poll failed (the server overloaded): no latency to show.
        times = "n/a" if p99 is None else f"{run['poll_p50_ms']:.0f} / {p99:.0f} ms"
        rows.append((
            "desk",
            f"{run['agents']:,} agents: polls/s, 204 share, poll p50 / p99",
            f"{run['polls_per_s']:,.0f}/s, {run['unchanged_share']:.0%}, "
            f"{times}, {run['errors']} errors",
            f"p99 < {TARGETS['desk_poll_p99_ms']:.0f} ms" if at_target else "",
            verdict(p99 is not None and p99 < TARGETS["desk_poll_p99_ms"]) if at_target else "",
        ))  # fmt: skip
        rows.append((
            "desk",
            f"{run['agents']:,} agents: answers that drew the list / the conversation",
            f"{run['list_answers_per_s']:,.1f}/s / {run['conversation_answers_per_s']:,.1f}/s",
            "", "",
        ))  # fmt: skip
        shown = "n/a" if p95 is None else f"{run['visible_p50_s']:.2f} / {p95:.2f} s"
        # The events must have arrived at the rate offered: an overloaded server that takes few
        # posts shows few, quickly.
        arrived = run["events_posted"] >= 0.95 * run["events_offered"]
        visible = p95 is not None and p95 <= TARGETS["desk_visible_p95_s"] and arrived
        rows.append((
            "desk",
            f"{run['agents']:,} agents: event → visible p50 / p95 (not seen; posted)",
            f"{shown} ({run['not_seen_in_time']}; {run['events_posted']:,} of "
            f"{run['events_offered']:,}, {run['posts_failed']} failed)",
            f"p95 ≤ {TARGETS['desk_visible_p95_s']:.0f} s, 95 % posted" if at_target else "",
            verdict(visible) if at_target else "",
        ))  # fmt: skip
    return rows


def print_table(rows):
    headers = ("phase", "figure", "value", "target", "result")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(5)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    print()


# --- Main -------------------------------------------------------------------------------------
def start_web(env, port, workers, threads=1):
    # Threads: gunicorn's gthread workers, which keep connections alive between requests.
    web = Service(
        "gunicorn",
        [
            BIN / "gunicorn", "config.wsgi:application", "--workers", workers,
            *(["--threads", threads] if threads > 1 else ["--worker-class", "sync"]),
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ],
        {**env, "BENCH_BASELINES": "1"},
    )  # fmt: skip
    _wait(lambda: _port_open(port), 30, "gunicorn")
    return web


def start_fake_graph(env, port, latency):
    graph = Service(
        "fake-graph",
        [BIN / "python", "manage.py", "run_fake_graph", "--port", port, "--latency", latency],
        env,
    )
    _wait(lambda: _port_open(port), 30, "the fake Graph API")
    return graph


def start_worker(name, env, *, pool, queues=None, concurrency=1):
    """A Celery worker; without `queues` it consumes every queue (config/settings.py)."""
    worker = Service(
        name,
        [
            BIN / "celery", "-A", "config", "worker", "--pool", pool,
            "--concurrency", concurrency, "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "--hostname", f"{name}@%h",
            *(["--queues", queues] if queues else []),
        ],
        env,
    )  # fmt: skip
    worker.wait_for("ready.")
    return worker


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run (10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk concurrency (16)")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per target (2)")
    parser.add_argument("--events", type=int, default=3000, help="processing burst (3000)")
    parser.add_argument("--customers", type=int, default=300, help="of the burst (300)")
    parser.add_argument(
        "--pool",
        choices=["prefork", "solo"],
        default="prefork",
        help="the worker's pool, one process executing tasks either way (prefork)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the web workers during the webhook runs and the worker during the burst",
    )
    phases = ["ingest", "processing", "desktop", "queues", "desk", "pacing", "embedded"]
    parser.add_argument("--skip", action="append", default=[], choices=phases)
    parser.add_argument("--only", choices=phases, help="run this phase alone")
    parser.add_argument(
        "--agents", default="100,500,1000,2000", help="desk: simulated agents per run"
    )
    parser.add_argument("--desk-seconds", type=int, default=20, help="desk: each run (20)")
    parser.add_argument("--desk-rate", type=float, default=100, help="desk: events/s (100)")
    parser.add_argument("--desk-campaigns", type=int, default=10, help="desk: campaigns (10)")
    parser.add_argument(
        "--desk-customers", type=int, default=200,
        help="desk: customers writing (200: each writes every 2 s at 100 events/s)",
    )  # fmt: skip
    parser.add_argument(
        "--desk-web-workers", type=int, default=2 * (os.cpu_count() or 1),
        help="desk: gunicorn sync workers (2 x cores)",
    )  # fmt: skip
    parser.add_argument(
        "--desk-web-threads", type=int, default=1,
        help="desk: threads per gunicorn worker (1: sync workers; more: gthread, keep-alive)",
    )  # fmt: skip
    parser.add_argument(
        "--slow-graph-ms", type=int, default=300, help="queues: the slow Graph API's latency"
    )
    parser.add_argument(
        "--pacing-replies", type=int, default=2000, help="pacing: replies at 300/s (2000)"
    )
    parser.add_argument(
        "--pacing-low-rate", type=float, default=20.0,
        help="pacing: the limit of the paced and control rounds, below the workers' pace (20/s; "
        "0: no such rounds)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.only:
        args.skip = [phase for phase in phases if phase != args.only]
    return args


def main():
    args = parse_args()
    started = time.monotonic()
    # Everything shares the machine's cores: another test run meanwhile lowers every figure.
    load_at_start = os.getloadavg()[0]
    if load_at_start > 0.5:
        print(f"Note: load average {load_at_start:.2f} before the run; figures may be low.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    ensure_services()

    graph_port, web_port = _free_port(), _free_port()
    env = {**os.environ, **bench_environment(graph_port=graph_port)}
    os.environ.update(env)  # this process seeds and reads the same database
    shutil.rmtree(env["VAR_DIR"], ignore_errors=True)
    recreate_database()
    flush_broker()

    import django

    django.setup()
    prepare_schema()

    services = []
    results = {}
    profiler = Profiler(args.profile)
    try:
        graph = start_fake_graph(env, graph_port, 0)
        services.append(graph)
        page = seed_bench_page()

        web = start_web(env, web_port, args.workers)
        services.append(web)
        base_url = f"http://127.0.0.1:{web_port}"

        if "ingest" not in args.skip:
            print(f"Ingest: wrk -t2 -c{args.connections} -d{args.seconds}s, -w {args.workers}")
            results["ingest"] = bench_ingest(
                base_url,
                page,
                seconds=args.seconds,
                connections=args.connections,
                rounds=args.rounds,
                web=web,
                profiler=profiler,
            )
        if {"processing", "queues", "desk"} - set(args.skip):
            # The periodic sweeps run in a process of their own, as in production.
            Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
            beat = Service(
                "beat",
                [BIN / "celery", "-A", "config", "beat", "--loglevel", "INFO",
                 "--schedule", str(Path(env["VAR_DIR"]) / "celerybeat-schedule")],
                env,
            )  # fmt: skip
            services.append(beat)
        if "processing" not in args.skip:
            print(f"Processing: one Celery worker process ({args.pool} pool, concurrency 1)")
            worker = start_worker("worker", env, pool=args.pool)
            services.append(worker)
            results["processing"] = bench_processing(
                base_url,
                page,
                events=args.events,
                customers=args.customers,
                timeout=240,
                worker=worker,
                profiler=profiler,
            )
            worker.stop()
        workers = []
        if {"queues", "desk"} - set(args.skip):
            # The layout of "Running at scale": deliveries apart from what waits on Graph.
            workers = [
                start_worker("worker-deliveries", env, pool=args.pool, queues="deliveries,celery"),
                start_worker("worker-graph", env, pool=args.pool, queues="profiles,sends,sweeps",
                             concurrency=2),
            ]  # fmt: skip
            services.extend(workers)
        if "queues" not in args.skip:
            results["queues"] = {}
            for latency_ms in (0, args.slow_graph_ms):
                graph.stop()
                graph = start_fake_graph(env, graph_port, latency_ms / 1000)
                services.append(graph)
                print(f"Queues: burst with Graph answering in +{latency_ms} ms, 2 workers…")
                results["queues"][latency_ms] = bench_processing(
                    base_url,
                    page,
                    events=args.events,
                    customers=args.customers,
                    timeout=240,
                    worker=workers[0],
                    profiler=profiler,
                )["burst"]
                results["queues"][latency_ms]["drain"] = bench_drain(
                    base_url,
                    page,
                    events=args.events,
                    customers=args.customers,
                    timeout=240,
                    worker_name=workers[0].name,
                )
            graph.stop()
            graph = start_fake_graph(env, graph_port, 0)
            services.append(graph)
        if "desk" not in args.skip:
            from bench.desk import bench_desk_load, bench_unchanged_polls

            if args.desk_web_workers != args.workers or args.desk_web_threads > 1:
                # Polls wait on the database and Redis more than they compute: "Running at
                # scale" gives the web 2 x cores sync workers.
                web.stop()
                web = start_web(env, web_port, args.desk_web_workers, args.desk_web_threads)
                services.append(web)

            print("Desk: unchanged list polls, wrk -c16, 10 s…", flush=True)
            results["desk_unchanged"] = bench_unchanged_polls(
                base_url, page, results_dir=RESULTS, run_wrk=run_wrk
            )
            print(f"  {results['desk_unchanged']}", flush=True)
            results["desk"] = []
            for agents in [int(n) for n in args.agents.split(",")]:
                print(f"Desk: {agents} agents, {args.desk_rate:.0f} events/s, "
                      f"{args.desk_seconds} s…", flush=True)  # fmt: skip
                results["desk"].append(
                    bench_desk_load(
                        base_url,
                        page,
                        agents=agents,
                        seconds=args.desk_seconds,
                        rate=args.desk_rate,
                        campaigns=args.desk_campaigns,
                        customers=args.desk_customers,
                    )
                )
                print(f"  {results['desk'][-1]}", flush=True)
        if "pacing" not in args.skip:
            from bench.pacing import bench_pacing

            for worker in workers:  # the phase's own workers take the "sends" queue
                worker.stop()
            print("Pacing: replies from 50 agents, one page, Graph enforcing its limit", flush=True)
            results["pacing"] = bench_pacing(
                env,
                page,
                start_worker=partial(start_worker, pool=args.pool),
                replies=args.pacing_replies,
                low_rate=args.pacing_low_rate,
            )
            print(f"  {results['pacing']}", flush=True)
    finally:
        for service in reversed(services):
            service.stop()
    if "desktop" not in args.skip:
        print("Desktop: Django test client, in-process")
        results["desktop"] = bench_desktop()
    if "embedded" not in args.skip:
        from bench.embedded import run_embedded_line

        print("Embedded: make run's layout on SQLite and the filesystem broker…", flush=True)
        results["embedded"] = run_embedded_line()

    results["machine"] = machine_info(args.workers, args.pool)
    results["machine"]["load_average_at_start"] = round(load_at_start, 2)
    results["settings"] = vars(args)
    results["targets"] = TARGETS
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    rows = report_rows(results) if {"ingest", "processing", "desktop"} <= set(results) else []
    rows += queue_rows(results.get("queues")) + desk_rows(results.get("desk"))
    if unchanged := results.get("desk_unchanged"):
        rows.insert(len(rows) - 2 * len(results.get("desk", [])), (
            "desk",
            "unchanged list poll (204), 1 000 contacts, wrk -c16",
            f"{unchanged['req_per_s']:,.0f} req/s, p50 {unchanged['p50_ms']:.1f} / "
            f"p99 {unchanged['p99_ms']:.1f} ms, answers before / after: "
            f"{unchanged['status_before_and_after']}",
            "(was 116 req/s, p50 136 ms)",
            "",
        ))  # fmt: skip
    rows += pacing_rows(results.get("pacing"), verdict)
    from bench.embedded import embedded_rows  # bench.embedded imports this module

    rows += embedded_rows(results.get("embedded"))
    if rows:
        print_table(rows)
    m = results["machine"]
    print(f"Machine: {m['nproc']} cores {m['cpu']}, {m['ram_gib']} GiB RAM, PostgreSQL "
          f"{m['postgresql']}, Redis {m['redis']}, gunicorn {m['gunicorn']}")  # fmt: skip
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"Figures in {(RESULTS / 'latest.json').relative_to(ROOT)}; "
          f"logs in {LOGS.relative_to(ROOT)}/; {results['elapsed_s']:.0f} s in all.")  # fmt: skip


if __name__ == "__main__":
    main()
