"""Real processes for integration and browser tests: Celery workers, a web server, a private
Redis. A pytest plugin (see tests/conftest.py).

They run with the test settings against the test database (a file for SQLite, the test
database for PostgreSQL) and the session's fake Graph API, all handed over by environment.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "test-artifacts" / "logs"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout=30.0, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")


def database_url_of_tests():
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


class Process:
    """A child process whose output goes to a log file under test-artifacts/logs/."""

    def __init__(self, name, args, env):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text, timeout=40):
        def seen():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log()[-3000:]}")
            return text in self.log()

        wait_until(seen, timeout=timeout, message=f"{text!r} in {self.name}'s output")

    def stop(self, sig=signal.SIGTERM):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


@pytest.fixture
def process_env(fake_graph, settings):
    """The environment for child processes: test settings, test database, the fake Graph API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=database_url_of_tests(),
        TEST_GRAPH_API_URL=fake_graph.url,
        TEST_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONUNBUFFERED="1",
    )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        env["CELERY_BROKER_FOLDER"] = str(
            Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).parent
        )
    return env


@pytest.fixture
def start_worker(process_env, request):
    """Start a Celery worker (`beat=True` also runs the periodic sweep); stopped after the test."""
    started = []
    _purge_test_broker(process_env)

    def start(*, concurrency=2, beat=False, env=None, name="worker", loglevel="INFO", queues=""):
        """`queues`: the -Q of one of "Running at scale"'s workers; empty: every queue."""
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            loglevel,
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ]
        if beat:
            args += ["--beat", "--schedule", str(LOGS / f"{name}-beat-schedule")]
        if queues:
            args += ["--queues", queues]
        process = Process(f"{request.node.name}-{name}", args, {**process_env, **(env or {})})
        started.append(process)
        process.wait_for_output("ready.")
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_web(process_env, request):
    """Start the app in its own process (Django's server), with extra environment; returns the
    Process, its address in `url`."""
    started = []

    def start(*, env=None):
        port = free_port()
        args = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        process = Process(f"{request.node.name}-web", args, {**process_env, **(env or {})})
        process.url = f"http://127.0.0.1:{port}"
        started.append(process)
        wait_until(lambda: port_open(port), timeout=30, message="the web server")
        return process

    yield start
    for process in started:
        process.stop()


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _purge_test_broker(env):
    if env.get("CELERY_BROKER_FOLDER"):
        shutil.rmtree(Path(env["CELERY_BROKER_FOLDER"]) / "queue", ignore_errors=True)
        (Path(env["CELERY_BROKER_FOLDER"]) / "queue").mkdir(parents=True, exist_ok=True)
    else:
        from config.celery import app

        app.control.purge()


class PrivateRedis:
    """A Redis server of the test's own, to stop and start without touching anyone else's."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), timeout=10, message="redis-server")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server not installed (apt-get install -y redis-server)")
    redis = PrivateRedis()
    yield redis
    redis.stop()
