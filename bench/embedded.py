"""The embedded default measured: `make run`'s layout on SQLite and the filesystem broker.

`python bench/embedded.py` (or the `embedded` phase of `bench/run.py`) starts, in a fresh
VAR_DIR under /tmp, the processes scripts/run-dev.sh starts, with its settings: `runserver`
with DEBUG on (which also serves the sandbox's fake Graph API), one Celery worker
(`--concurrency 2`, every queue) and beat, with no DATABASE_URL and no CELERY_BROKER_URL, so
the database is the SQLite file and the broker a folder. Then, with every process running, as a
small team's machine would:

- webhook req/s and p50/p99: `wrk -t2 -c16` posting pre-signed bodies (bench/run.py's);
- processing events/s: a burst of events from new customers posted at once, timed until every
  message is stored and every profile fetched (bench/run.py's processing phase);
- "database is locked": counted in every process's output (must be 0).

Prints the figures as JSON on the last line (`EMBEDDED_JSON {...}`) for bench/run.py.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/embedded.py` puts bench/, not the project, first
    sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402

# A fresh folder each run, as a first `make run` has.
VAR_DIR = Path(tempfile.gettempdir()) / "campaign-bench-embedded"
LOCKED = "database is locked"
TARGETS = {"database_locked": 0}
# Settings that would take the app off the embedded defaults (or off the sandbox) if inherited:
# bench/run.py's production-like ones among them (DEBUG=0, SANDBOX=0, fast sweeps…).
NOT_INHERITED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "CELERY_BROKER_FOLDER",
    *run.bench_environment(graph_port=0),
)


def embedded_environment(port):
    """What `make run` gives its processes: .env's DEBUG=1 and the in-app sandbox on `port`."""
    environment = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "VAR_DIR": str(VAR_DIR),
            "GRAPH_API_URL": f"http://127.0.0.1:{port}/sandbox/graph/v25.0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


def start_layout(env, port):
    """runserver, a worker and beat, started as scripts/run-dev.sh starts them."""
    web = run.Service("embedded-runserver", [run.BIN / "python", "manage.py", "runserver",
                                             f"127.0.0.1:{port}"], env)  # fmt: skip
    worker = run.Service(
        "embedded-worker",
        [
            run.BIN / "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        env,
    )  # fmt: skip
    beat = run.Service("embedded-beat", [run.BIN / "celery", "-A", "config", "beat",
                                         "--loglevel", "INFO"], env)  # fmt: skip
    services = [web, worker, beat]
    run._wait(lambda: run._port_open(port), 60, "runserver")
    worker.wait_for("ready.")
    return services


def locked_errors(services):
    """How many times "database is locked" appears in the processes' output."""
    return {s.name: s.log_path.read_text(errors="replace").count(LOCKED) for s in services}


def bench_embedded(*, seconds, connections, events, customers):
    port = run._free_port()
    env = embedded_environment(port)
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    VAR_DIR.mkdir(parents=True)
    os.environ.clear()
    os.environ.update(env)  # this process seeds and counts in the same SQLite file
    # `make run` migrates first, in its own process.
    subprocess.run([run.BIN / "python", "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                   env=env, check=True)  # fmt: skip

    import django

    django.setup()
    from django.conf import settings

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings.CELERY_BROKER_URL.startswith("filesystem://")

    services = start_layout(env, port)
    try:
        page = run.seed_bench_page()  # its credentials are checked against runserver's sandbox
        from messenger.setup import webhook_path

        base_url = f"http://127.0.0.1:{port}"
        bodies = run.signed_bodies(
            count=4000, page_id=page.page_id, app_secret=run.BENCH_PAGE["app_secret"],
            customers=2000,
        )  # fmt: skip
        script = run.write_wrk_script(bodies)
        url = f"{base_url}{webhook_path(page)}"
        print(f"Embedded: webhook, wrk -t2 -c{connections} -d{seconds}s on runserver…", flush=True)
        run.run_wrk(url, script, seconds=2, connections=connections)  # warm up
        ingest = run.run_wrk(url, script, seconds=seconds, connections=connections)
        _wait_for_idle_worker(timeout=300)
        print(f"Embedded: processing, a burst of {events} events…", flush=True)
        processing = run.bench_processing(base_url, page, events=events, customers=customers,
                                          timeout=300, worker=services[1],
                                          profiler=run.Profiler(False))  # fmt: skip
    finally:
        for service in reversed(services):
            service.stop()
    from messenger.models import WebhookDelivery

    locked = locked_errors(services)
    return {
        "layout": "runserver (DEBUG=1), 1 worker --concurrency 2, beat; SQLite + filesystem",
        "webhook": ingest,
        "processing": processing,
        "deliveries_stored": WebhookDelivery.objects.count(),
        "database_locked": sum(locked.values()),
        "database_locked_by_process": locked,
        "logs": [str(s.log_path.relative_to(ROOT)) for s in services],
    }


def _wait_for_idle_worker(*, timeout):
    """Until the worker has applied every delivery the wrk run stored."""
    from messenger.models import WebhookDelivery

    run._wait(
        lambda: not WebhookDelivery.objects.filter(status="received").exists(),
        timeout,
        "the worker to apply the deliveries posted by wrk",
    )


def embedded_rows(result):
    """Rows for bench/run.py's table."""
    if not result:
        return []
    hook, burst = result["webhook"], result["processing"]["burst"]
    steady = result["processing"]["steady"]
    phase = "embedded"
    return [
        (
            phase,
            "SQLite + filesystem broker (make run): webhook req/s, p50 / p99",
            f"{hook['req_per_s']:,.0f} req/s, {hook['p50_ms']:.1f} / {hook['p99_ms']:.1f} ms, "
            f"{hook['non_2xx']} non-2xx, {hook['socket_errors']} socket errors",
            "(runserver, worker busy)",
            "",
        ),
        (
            phase,
            f"burst: {burst['events']} events → events/s (stored + profiles)",
            f"{burst['events_per_s']:,.0f} events/s ({burst['seconds']:.1f} s)",
            "",
            "",
        ),
        (
            phase,
            f"steady {steady['offered_events_per_s']:.0f} events/s: post → stored p50 / p95",
            f"{steady['latency_p50_ms']:,.0f} / {steady['latency_p95_ms']:,.0f} ms",
            "",
            "",
        ),
        (
            phase,
            '"database is locked" in the processes\' output; left waiting / failed',
            f"{result['database_locked']}; {steady['deliveries_waiting']} / "
            f"{steady['deliveries_failed']}",
            "0; 0 / 0",
            run.verdict(
                result["database_locked"] == TARGETS["database_locked"]
                and steady["deliveries_waiting"] == 0
                and steady["deliveries_failed"] == 0
            ),
        ),
    ]


def run_embedded_line():
    """The line from a process of its own (its Django settings are not the bench's): for
    bench/run.py, whose process is set up on PostgreSQL already."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("EMBEDDED_JSON ")), None)
    if line is None:
        raise RuntimeError(f"bench/embedded.py failed:\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    return json.loads(line.removeprefix("EMBEDDED_JSON "))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="the wrk run (10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk concurrency (16)")
    parser.add_argument("--events", type=int, default=3000, help="processing burst (3000)")
    parser.add_argument("--customers", type=int, default=300, help="of the burst (300)")
    parser.add_argument("--quiet", action="store_true", help="no table (for bench/run.py)")
    args = parser.parse_args()
    run.RESULTS.mkdir(parents=True, exist_ok=True)
    run.LOGS.mkdir(parents=True, exist_ok=True)
    if not shutil.which("wrk"):
        run._apt_install("wrk")
    started = time.monotonic()
    result = bench_embedded(
        seconds=args.seconds,
        connections=args.connections,
        events=args.events,
        customers=args.customers,
    )
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["load_average_at_end"] = round(os.getloadavg()[0], 2)
    if not args.quiet:
        run.print_table(embedded_rows(result))
        (run.RESULTS / "embedded.json").write_text(json.dumps(result, indent=2, default=str))
    print("EMBEDDED_JSON " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
