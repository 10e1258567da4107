"""`make prod-check`: the production install, run and checked the way the README deploys it.

In a new temporary folder: a fresh `git clone` of HEAD; a fresh virtualenv with the production
lock (requirements.txt, no dev extras) and `pip install --no-deps .`; DEBUG=0 with made-up
SECRET_KEY, ALLOWED_HOSTS and FIELD_ENCRYPTION_KEY; a PostgreSQL database of its own
(`prod_check`, dropped and created again) and Redis db 9 (flushed); `migrate`, `collectstatic`;
then gunicorn, a Celery worker and Celery beat started with the commands of the README's
"Running at scale" table, behind a pretend TLS proxy (BEHIND_TLS_PROXY=1, X-Forwarded-Proto),
and the fake Graph API (`manage.py run_fake_graph`) in place of Facebook.

It prints each check with its outcome; the first that fails stops the run with a non-zero exit,
the check and the logs of the processes. Every process is stopped at the end, the database
dropped and the folder removed (PROD_CHECK_KEEP=1 keeps both to look at). Needs git, psql,
redis-cli, PostgreSQL and Redis on 127.0.0.1 (as `.ci/run` starts them) and PyPI. Standard
library only: it runs before the virtualenv exists.
"""

import base64
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "prod_check"
REDIS_DB = 9
CORES = 1  # what the README's `<cores>` placeholders become here
# The recorded customer message posted to the webhook (tests/fixtures/messenger/01_*.json).
RECORDED_PAYLOAD = "01"
RECORDED_PSID = "6512345678901234"
CONTACT_DEADLINE_SECONDS = 10
STOP_GRACE_SECONDS = 20


class CheckFailed(Exception):
    def __init__(self, check, detail=""):
        super().__init__(check)
        self.check, self.detail = check, detail


def ok(what):
    print(f"  ok    {what}", flush=True)


def step(what):
    print(f"-- {what}", flush=True)


def run(args, *, check_name, cwd=None, env=None, timeout=600):
    """Run a command to its end; its output is shown only if it fails."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise CheckFailed(
            check_name,
            f"$ {shlex.join(str(a) for a in args)}\nexit {result.returncode}\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}",
        )
    return result.stdout


# --- Processes -------------------------------------------------------------------------------
class Service:
    """A long-running child in its own process group, its output in <folder>/logs/<name>.log."""

    def __init__(self, name, args, *, cwd, env, logs):
        self.name = name
        self.args = [str(a) for a in args]
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise CheckFailed(f"{self.name} starts", f"it exited with {self.popen.returncode}")
            if text in self.log():
                return
            time.sleep(0.2)
        raise CheckFailed(f"{self.name} starts", f"no {text!r} in its output after {timeout} s")

    def stop(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readme_commands(readme):
    """The web, worker and beat commands of the README's "Running at scale" table, with its
    `<N x cores>` placeholders filled in (CORES here)."""
    section = readme.split("## Running at scale", 1)[-1].split("\n## ", 1)[0]
    commands = {}
    for process in ("web", "worker", "beat"):
        row = re.search(rf"^\| {process} \| `([^`]+)`", section, re.MULTILINE)
        if not row:
            raise CheckFailed("README", f'no `{process}` command in "Running at scale"')
        command = re.sub(  # the README writes a multiplication sign
            r"<(\d+) (?:x|\u00d7) cores>", lambda m: str(int(m.group(1)) * CORES), row.group(1)
        )
        command = command.replace("<cores>", str(CORES))
        if "<" in command:
            raise CheckFailed("README", f"a placeholder this check can't fill: {command}")
        commands[process] = shlex.split(command)
    return commands


# --- HTTP, as the TLS proxy in front of gunicorn would send it --------------------------------
PROXIED = {"X-Forwarded-Proto": "https"}


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def text(self):
        return self.body.decode(errors="replace")


def request(port, method, path, *, headers=None, body=None):
    """One request, redirects not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Response(response.status, response.msg, response.read())
    finally:
        conn.close()


def expect(check, condition, detail):
    if not condition:
        raise CheckFailed(check, detail)
    ok(check)


# --- Run inside the fresh install (manage.py shell -c), through the product's own services ----
SEED = """
import json
from campaigns.models import Campaign
from messenger import setup as page_setup
from messenger.sandbox.demo import DEMO_PAGE

campaign = Campaign.objects.create(name="Production check")
entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Checked page")
check = page_setup.facebook_page_save_credentials(
    page=entry_point.facebook_page,
    app_id=DEMO_PAGE["app_id"],
    app_secret=DEMO_PAGE["app_secret"],
    page_access_token=DEMO_PAGE["access_token"],
)
assert check.ok, check.message
page = page_setup.facebook_page_generate_webhook(page=entry_point.facebook_page)
print(json.dumps({"entry_point": entry_point.pk, "webhook_path": page_setup.webhook_path(page)}))
"""

# A recorded body, as Facebook encodes and signs it with the page's App Secret.
SIGNED_RECORDED_BODY = f"""
import json
from messenger.sandbox.demo import DEMO_PAGE
from messenger.sandbox.facebook_webhooks import encode_like_facebook, signature_headers
from tests.fixtures import messenger_payload

body = encode_like_facebook(messenger_payload("{RECORDED_PAYLOAD}"))
headers = signature_headers(body, DEMO_PAGE["app_secret"])
print(json.dumps({{"body": body.decode("ascii"), "headers": headers}}))
"""


# --- The check -------------------------------------------------------------------------------
class ProdCheck:
    def __init__(self, folder):
        self.folder = folder
        self.app = folder / "app"
        self.venv = folder / "venv"
        self.logs = folder / "logs"
        self.logs.mkdir()
        self.services = []
        self.web_port = free_port()
        self.graph_port = free_port()
        self.env = {
            "PATH": f"{self.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            # Nothing of the run outside its folder (gunicorn keeps a control socket in HOME).
            "HOME": str(folder),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            # Production settings, made up for this run.
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "GRAPH_API_URL": f"http://127.0.0.1:{self.graph_port}/v25.0",
            # gunicorn speaks plain HTTP to the TLS proxy, which says the client used https.
            "BEHIND_TLS_PROXY": "1",
        }

    def manage(self, *args, check_name):
        return run(
            [self.venv / "bin" / "python", "manage.py", *args],
            cwd=self.app,
            env=self.env,
            check_name=check_name,
        )

    def start(self, name, args, ready_text=None):
        service = Service(name, args, cwd=self.app, env=self.env, logs=self.logs)
        self.services.append(service)
        print(f"  start {name}: {shlex.join(service.args)}", flush=True)
        if ready_text:
            service.wait_for(ready_text)
        return service

    def wait_for_worker(self, worker, timeout=90):
        """Until the worker answers a ping through the broker (at its default log level it
        prints nothing when ready)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.popen.poll() is not None:
                raise CheckFailed("worker starts", f"it exited with {worker.popen.returncode}")
            ping = subprocess.run(
                ["celery", "-A", "config", "inspect", "ping", "--timeout", "2"],
                cwd=self.app,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if ping.returncode == 0:
                ok("the worker answers `celery -A config inspect ping`")
                return
        raise CheckFailed("worker starts", f"no answer to inspect ping after {timeout} s")

    def stop_services(self):
        for service in reversed(self.services):
            service.stop()

    def print_logs(self):
        for service in self.services:
            print(f"\n---- {service.name} ({service.log_path}), last lines:")
            print("\n".join(service.log().splitlines()[-60:]))

    # Steps, in order.
    def clone(self):
        head = run(["git", "-C", ROOT, "rev-parse", "HEAD"], check_name="git").strip()
        dirty = run(["git", "-C", ROOT, "status", "--porcelain"], check_name="git").strip()
        step(f"fresh clone of HEAD {head[:12]} into {self.app}")
        if dirty:
            print("  note  uncommitted changes are not part of HEAD and are not checked")
        run(["git", "clone", "--quiet", ROOT, self.app], check_name="git clone")
        run(["git", "-C", self.app, "checkout", "--quiet", "--detach", head], check_name="git")

    def install(self):
        step("fresh virtualenv: the production lock (requirements.txt), then the project")
        bin_ = self.venv / "bin"
        run([sys.executable, "-m", "venv", self.venv], check_name="virtualenv")
        run(
            [bin_ / "pip", "install", "--quiet", "--require-hashes", "-r", "requirements.txt"],
            cwd=self.app,
            check_name="pip install --require-hashes -r requirements.txt",
        )
        run(
            [bin_ / "pip", "install", "--quiet", "--no-deps", "."],
            cwd=self.app,
            check_name="pip install --no-deps .",
        )
        # pyproject.toml's dependencies (and theirs) are all there: the lock lacks none.
        run([bin_ / "pip", "check"], check_name="pip check")
        ok("pip check: every dependency of pyproject.toml is installed from the lock")
        dev_tools = [
            name
            for name in ("pytest", "ruff", "playwright", "uv")
            if subprocess.run([bin_ / "pip", "show", name], capture_output=True).returncode == 0
        ]
        expect("no dev extra installed", not dev_tools, f"installed: {dev_tools}")

    def prepare(self):
        step(f"database {DB_NAME} (dropped and created), Redis db {REDIS_DB} (flushed)")
        run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check_name="PostgreSQL runs")
        drop_database()
        psql(f'CREATE DATABASE "{DB_NAME}"')
        flush_redis()
        step("migrate, collectstatic")
        self.manage("migrate", "--noinput", check_name="migrate")
        collected = self.manage("collectstatic", "--noinput", check_name="collectstatic")
        ok(f"collectstatic: {collected.strip().splitlines()[-1]}")

    def check_deploy(self):
        step("manage.py check --deploy --fail-level WARNING")
        self.manage("check", "--deploy", "--fail-level", "WARNING", check_name="check --deploy")
        ok("check --deploy: no warning, no error")

    def start_services(self):
        step('the fake Graph API, then web, worker and beat as README "Running at scale" says')
        commands = readme_commands((self.app / "README.md").read_text())
        python = self.venv / "bin" / "python"
        self.start(
            "fake-graph",
            [python, "manage.py", "run_fake_graph", "--port", self.graph_port],
            "Fake Graph API at",
        )
        # Only the address is added: loopback and a free port.
        self.start(
            "web", [*commands["web"], "--bind", f"127.0.0.1:{self.web_port}"], "Booting worker"
        )
        self.wait_for_worker(self.start("worker", commands["worker"]))
        self.start("beat", commands["beat"], "is starting.")

    def check_tls_proxy(self):
        step("HTTPS through the TLS proxy (SECURE_SSL_REDIRECT on, BEHIND_TLS_PROXY=1)")
        plain = request(self.web_port, "GET", "/login/")
        target = f"https://127.0.0.1:{self.web_port}/login/"
        expect(
            f"plain http://…/login/ is redirected to {target}",
            plain.status == 301 and plain.headers.get("Location") == target,
            f"{plain.status} Location={plain.headers.get('Location')}",
        )
        proxied = request(self.web_port, "GET", "/login/", headers=PROXIED)
        expect(
            "the same request from the proxy (X-Forwarded-Proto: https) answers 200: "
            "redirected once, no loop",
            proxied.status == 200,
            f"{proxied.status} Location={proxied.headers.get('Location')}",
        )
        return proxied

    def check_static(self, login):
        step("static files served by the app (WhiteNoise)")
        link = re.search(r'<link rel="stylesheet" href="([^"]+)"', login.text())
        href = link.group(1) if link else ""
        expect(
            f"the login page links its CSS under a hashed name: {href}",
            re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", href),
            f"stylesheet link: {href or 'none'}",
        )
        css = request(self.web_port, "GET", href, headers={**PROXIED, "Accept-Encoding": "gzip"})
        expect(
            "the CSS answers 200, text/css, gzipped",
            css.status == 200
            and css.headers.get("Content-Type", "").startswith("text/css")
            and css.headers.get("Content-Encoding") == "gzip",
            f"{css.status} {css.headers.get('Content-Type')} "
            f"Content-Encoding={css.headers.get('Content-Encoding')}",
        )
        # The website chat's embed snippet names the widget by its own name, not a hashed one,
        # so snippets pasted into websites survive deploys.
        widget = request(self.web_port, "GET", "/static/webchat/widget.js", headers=PROXIED)
        expect(
            "the website chat widget answers 200 under its own name, as JavaScript",
            widget.status == 200
            and "javascript" in widget.headers.get("Content-Type", "")
            and b"data-widget-key" in widget.body,
            f"{widget.status} {widget.headers.get('Content-Type')}",
        )

    def check_no_sandbox(self):
        step("no sandbox in production")
        sandbox = request(self.web_port, "GET", "/sandbox/", headers=PROXIED)
        expect("/sandbox/ answers 404", sandbox.status == 404, f"{sandbox.status}")

    def check_webhook_to_api(self):
        step("a signed webhook post becomes a contact in the REST API")
        seeded = json.loads(
            self.manage("shell", "-c", SEED, check_name="seed").strip().splitlines()[-1]
        )
        # Not the webhook path: its key is what lets a post in.
        ok(
            f"a campaign and a Facebook Page entry point (id {seeded['entry_point']}), "
            "credentials checked with the fake Graph API, webhook made"
        )
        self.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            "prod-check",
            "--email",
            "prod-check@example.com",
            check_name="createsuperuser",
        )
        created = self.manage("drf_create_token", "prod-check", check_name="drf_create_token")
        token = re.search(r"Generated token (\w+)", created).group(1)
        signed = json.loads(
            self.manage("shell", "-c", SIGNED_RECORDED_BODY, check_name="sign").splitlines()[-1]
        )

        posted_at = time.monotonic()
        posted = request(
            self.web_port,
            "POST",
            seeded["webhook_path"],
            headers={**signed["headers"], **PROXIED},
            body=signed["body"].encode("ascii"),
        )
        expect(
            f"the recorded body {RECORDED_PAYLOAD}, signed with the App Secret, answers 200",
            posted.status == 200,
            f"{posted.status} {posted.text()[:500]}",
        )
        api_headers = {**PROXIED, "Authorization": f"Token {token}"}
        contact, answer = None, None
        while contact is None and time.monotonic() - posted_at < CONTACT_DEADLINE_SECONDS:
            answer = request(self.web_port, "GET", "/api/contacts/", headers=api_headers)
            if answer.status == 200:
                contact = next(
                    (
                        c
                        for c in json.loads(answer.body)["results"]
                        if c["external_id"] == RECORDED_PSID
                        and c["entry_point"] == seeded["entry_point"]
                    ),
                    None,
                )
            if contact is None:
                time.sleep(0.2)
        waited = time.monotonic() - posted_at
        expect(
            f"GET /api/contacts/ (token auth) lists contact {RECORDED_PSID} after {waited:.1f} s "
            f"(at most {CONTACT_DEADLINE_SECONDS} s), last message "
            f"{contact and contact['last_message_preview']!r}",
            contact is not None and contact["last_message_preview"],
            f"last answer: {answer and answer.status} {answer and answer.text()[:500]}",
        )

    def check_services_still_run(self):
        exited = [
            f"{s.name} ({s.popen.returncode})" for s in self.services if s.popen.poll() is not None
        ]
        expect(
            f"{', '.join(s.name for s in self.services)} still run after the checks",
            not exited,
            f"exited: {exited}",
        )


def psql(sql):
    run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check_name="psql",
    )


def drop_database():
    psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def flush_redis():
    run(["redis-cli", "-h", "127.0.0.1", "-n", REDIS_DB, "flushdb"], check_name="Redis")


def main():
    # Ctrl+C, or CI stopping the job, still stops every process and cleans up (finally, below).
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: sys.exit(128 + signum))
    keep = os.environ.get("PROD_CHECK_KEEP") == "1"
    folder = Path(tempfile.mkdtemp(prefix="prod-check-"))
    started = time.monotonic()
    check = ProdCheck(folder)
    print(f"== prod-check in {folder}", flush=True)
    failed = None
    try:
        check.clone()
        check.install()
        check.prepare()
        check.check_deploy()
        check.start_services()
        login = check.check_tls_proxy()
        check.check_static(login)
        check.check_no_sandbox()
        check.check_webhook_to_api()
        check.check_services_still_run()
    except CheckFailed as failure:
        failed = failure
    except Exception:  # a bug of this script or a refused connection: fail the same loud way
        failed = CheckFailed("unexpected error", traceback.format_exc())
    finally:
        check.stop_services()
        if failed:
            print(f"\n  FAIL  {failed.check}\n{failed.detail}", flush=True)
            check.print_logs()
        if keep:
            print(f"\nkept: {folder} and database {DB_NAME} (PROD_CHECK_KEEP=1)")
        else:
            try:
                drop_database()
                flush_redis()
            except CheckFailed as failure:
                print(f"could not clean up: {failure.detail}")
            shutil.rmtree(folder, ignore_errors=True)
    if failed:
        print(f"\n== prod-check FAILED: {failed.check}")
        return 1
    print(f"\n== prod-check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
