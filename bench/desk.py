"""The desk under load (`make bench`, or alone: `python bench/run.py --only desk`).

N simulated agents, each with a session of its own, poll their desk every 1.5 s (with jitter) as
the real page does: one request with the tokens of the contact list and of the one conversation
they keep open (agent_desktop.desk_polls; a 204 when neither changed, else what changed), while
customers' messages arrive through the real webhook at a steady rate. Reported for each N: poll
p50/p99 and event → visible (from the post of a message to the first poll answer, in the desk
that has that customer's conversation open, whose conversation shows it).

The agents are asyncio tasks speaking plain HTTP/1.1 (no async HTTP client is installed; the
sync gunicorn workers close every connection anyway), in CLIENT_PROCESSES processes: a single
loop with a thousand agents writes its requests late, and a sync worker waits for them. The
layout: `campaigns` campaigns, agents spread over them round-robin;
the bench page's campaign (the first) receives every event, the others are quiet. Everything
shares the machine's two cores with gunicorn, PostgreSQL, Redis, the worker and the poster.
"""

import asyncio
import json
import random
import re
import threading
import time

from bench.bodies import encode_like_facebook, signature_headers
from bench.fixtures import BENCH_PAGE

POLL_SECONDS = 1.5
PREFIX = "/desktop/"  # agent_desktop's URLs (config/urls.py)
PSID_BASE = 7_100_000_000_000_000
REQUEST_TIMEOUT = 10  # seconds: a poll not answered by then is an error
CLIENT_PROCESSES = 4  # the agents' asyncio loops (run_agents)
MARK = re.compile(rb"desk-bench-ev-(\d+)-")
LIST_TOKEN = re.compile(rb'"list_fp": "([^"]+)"')
CONVERSATION_TOKEN = re.compile(rb'"conversation_fp": "([^"]+)"')
PANE = b'id="messages-pane"'  # where the conversation starts in a poll's answer
LIST = b'id="contact-list"'  # an answer that brings the list


# --- Seeding ----------------------------------------------------------------------------------
def seed_agents(page, *, agents, campaigns, customers):
    """`agents` users with a logged-in session each, over `campaigns` campaigns (the page's and
    quiet ones); each agent keeps one conversation open. Returns [(session key, contact id,
    psid or None, (list token, conversation token))]: the psid is that of a bench customer for
    agents of the page's campaign."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone

    from agent_desktop import desk_versions
    from agent_desktop.models import Contact
    from campaigns.models import Campaign, Person
    from messenger import setup as page_setup

    busy = page.entry_point.campaign
    quiet = []
    for n in range(1, campaigns):
        campaign = Campaign.objects.create(name=f"Quiet campaign {n}")
        entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Page")
        contact = Contact.objects.create(
            entry_point=entry_point,
            channel="messenger",
            external_id=f"9{n:015d}",
            first_name="Quiet",
            last_message_at=timezone.now(),
            last_message_preview="nothing new",
        )
        quiet.append((campaign, contact))
    psids = [str(PSID_BASE + n) for n in range(customers)]
    Contact.objects.bulk_create(
        (
            Contact(entry_point=page.entry_point, channel="messenger", external_id=psid)
            for psid in psids
        ),
        ignore_conflicts=True,  # the customers of an earlier run are the same
    )
    busy_contacts = list(
        Contact.objects.filter(entry_point=page.entry_point, external_id__in=psids).order_by(
            "external_id"
        )
    )
    password = make_password("desk-bench-only")
    existing = User.objects.filter(username__startswith="desk-bench-").count()
    users = User.objects.bulk_create(
        User(username=f"desk-bench-{existing + i}", password=password) for i in range(agents)
    )
    # Their Person rows, as their first desk would have made them.
    Person.objects.bulk_create((Person(user=user) for user in users), ignore_conflicts=True)
    memberships = []
    for i, user in enumerate(users):
        group = i % campaigns
        if group == 0:
            busy.agents.add(user)
            index = (i // campaigns) % customers
            memberships.append((user, busy_contacts[index], psids[index]))
        else:
            campaign, contact = quiet[group - 1]
            campaign.agents.add(user)
            memberships.append((user, contact, None))
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    agents_out = []
    for user, contact, psid in memberships:  # after every membership: the tokens are current
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        # The desk is open already: the agent holds the tokens of what it shows (the server
        # computes the same from the same cache), so the run measures polls, not first loads.
        view = desk_versions.viewer(user)
        tokens = (
            desk_versions.list_token(view, {}),
            desk_versions.conversation_token(view, contact.pk, {}),
        )
        agents_out.append((session.session_key, contact.pk, psid, tokens))
    return agents_out


# --- Events -----------------------------------------------------------------------------------
def event_bodies(page, *, psids, count, start=0):
    """`count` one-message bodies, each from one of `psids` at random (the same draw each run),
    marked with its number."""
    out = []
    clock = int(time.time() * 1000)
    draw = random.Random(start)
    for n in range(start, start + count):
        psid = draw.choice(psids)
        item = {
            "sender": {"id": psid},
            "recipient": {"id": page.page_id},
            "timestamp": clock + n,
            "message": {"mid": f"m_desk_bench_{n}_{clock}", "text": f"desk-bench-ev-{n}-"},
        }
        payload = {"object": "page", "entry": [{"id": page.page_id, "time": clock + n,
                                                "messaging": [item]}]}  # fmt: skip
        body = encode_like_facebook(payload)
        out.append((n, body, signature_headers(body, BENCH_PAGE["app_secret"])))
    return out


def post_events(url, bodies, *, rate, posted, failed, stop):
    """Post `bodies` at `rate`/s from 4 threads; `posted[n]` = when event n was posted (and
    answered 200), `failed` the others (refused or timed out: the server was overloaded)."""
    import requests

    def run(share):
        session = requests.Session()
        for slot, (n, body, headers) in share:
            delay = slot - time.time()
            if delay > 0:
                time.sleep(delay)
            if stop.is_set():
                return
            at = time.time()
            try:
                answer = session.post(url, data=body, headers=headers, timeout=30)
            except OSError:
                failed.append(n)
                continue
            if answer.status_code == 200:
                posted[n] = at
            else:
                failed.append(n)

    start = time.time() + 0.2
    slots = [(start + i / rate, b) for i, b in enumerate(bodies)]
    threads = [threading.Thread(target=run, args=(slots[k::4],), daemon=True) for k in range(4)]
    for thread in threads:
        thread.start()
    return threads


# --- Agents -----------------------------------------------------------------------------------
async def _get(port, path, cookie):
    """One GET; (status, body, seconds). Given up after REQUEST_TIMEOUT (raises TimeoutError)."""
    return await asyncio.wait_for(_get_once(port, path, cookie), REQUEST_TIMEOUT)


async def _get_once(port, path, cookie):
    began = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n"
        "HX-Request: true\r\nConnection: close\r\n\r\n".encode()
    )
    raw = await reader.read(-1)
    writer.close()
    status = int(raw[9:12]) if raw[:5] == b"HTTP/" else 0
    return status, raw, time.perf_counter() - began


async def _agent(port, cookie, contact_id, tokens, until, results, seen):
    list_fp, conversation_fp = tokens
    await asyncio.sleep(random.uniform(0, POLL_SECONDS))
    while time.time() < until:
        next_at = time.time() + POLL_SECONDS * random.uniform(0.9, 1.1)
        path = f"{PREFIX}poll/?list_fp={list_fp}&contact={contact_id}"
        path += f"&conversation_fp={conversation_fp}"
        try:
            status, raw, took = await _get(port, path, cookie)
            results.append((status, took, LIST in raw, PANE in raw))
            if status == 200:
                now = time.time()
                if PANE in raw:  # the conversation changed: only what it shows counts
                    for mark in MARK.findall(raw[raw.index(PANE) :]):
                        seen.setdefault((cookie, int(mark)), now)
                if found := LIST_TOKEN.search(raw):
                    list_fp = found.group(1).decode()
                if found := CONVERSATION_TOKEN.search(raw):
                    conversation_fp = found.group(1).decode()
        except (OSError, TimeoutError):  # counted as errors, not in the latencies
            results.append((0, 0.0, False, False))
        await asyncio.sleep(max(0.0, next_at - time.time()))


def run_agents(port, agents, *, seconds):
    """Every agent polling for `seconds`, spread over CLIENT_PROCESSES processes: one asyncio
    loop with a thousand agents falls behind, and a sync gunicorn worker then waits for a
    request the client was slow to write (in production a buffering proxy reads it first; the
    agents' browsers are on other machines). Returns (results, seen) of all of them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    until = time.time() + seconds
    shares = [agents[k::CLIENT_PROCESSES] for k in range(CLIENT_PROCESSES)]
    results, seen = [], {}
    # Forked: the children use sockets only, never the parent's database connection.
    with ProcessPoolExecutor(len(shares), mp_context=multiprocessing.get_context("fork")) as pool:
        for share_results, share_seen in pool.map(_run_share, [port] * len(shares), shares,
                                                  [until] * len(shares)):  # fmt: skip
            results.extend(share_results)
            seen.update(share_seen)
    return results, seen


def _run_share(port, agents, until):
    results, seen = [], {}

    async def main():
        await asyncio.gather(
            *(
                _agent(port, cookie, contact, tokens, until, results, seen)
                for cookie, contact, _, tokens in agents
            )
        )

    asyncio.run(main())
    return results, seen


# --- Unchanged polls, as the issue measured them (wrk, 16 connections) ------------------------
WRK_POLL_LUA = r"""
wrk.headers["Cookie"] = "sessionid=%(cookie)s"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"errors":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def bench_unchanged_polls(base_url, page, *, results_dir, run_wrk, seconds=10):
    """req/s of an unchanged list poll (the 204) with 1 000 contacts in the agent's campaign,
    no events meanwhile: the figure the issue started from (116 polls/s, p50 136 ms)."""
    import requests
    from django.contrib.auth.models import User

    from agent_desktop import desk_versions

    ((cookie, _, _, _),) = seed_agents(page, agents=1, campaigns=1, customers=1000)
    user = User.objects.filter(username__startswith="desk-bench-").latest("pk")
    # A token also names a time slot (desk_versions.REFRESH_SECONDS): start in a fresh one,
    # so every request of the run is the same unchanged poll.
    left = desk_versions.REFRESH_SECONDS - (
        (time.time() + user.pk * 7.919) % desk_versions.REFRESH_SECONDS
    )
    if left < seconds + 6:
        time.sleep(left + 0.5)
    token = desk_versions.list_token(desk_versions.viewer(user), {})
    script = results_dir / "wrk_poll.lua"
    script.write_text(WRK_POLL_LUA % {"cookie": cookie})
    url = f"{base_url}{PREFIX}list/?fp={token}"
    statuses = [requests.get(url, cookies={"sessionid": cookie}, timeout=10).status_code]
    run_wrk(url, script, seconds=2, connections=16)  # warm up
    figures = run_wrk(url, script, seconds=seconds, connections=16)
    statuses.append(requests.get(url, cookies={"sessionid": cookie}, timeout=10).status_code)
    figures["status_before_and_after"] = statuses  # 204 both: every request was unchanged
    return figures


# --- One load ---------------------------------------------------------------------------------
def bench_desk_load(base_url, page, *, agents, seconds, rate, campaigns, customers):
    """One run with `agents` agents (seeded now) and `rate` events/s for `seconds`."""
    from messenger.setup import webhook_path

    port = int(base_url.rsplit(":", 1)[1])
    seeded = seed_agents(page, agents=agents, campaigns=campaigns, customers=customers)
    psids = [str(PSID_BASE + n) for n in range(customers)]
    watchers = {}
    for cookie, _, psid, _ in seeded:
        if psid:
            watchers.setdefault(psid, []).append(cookie)
    start = bench_desk_load.events_sent
    bodies = event_bodies(page, psids=psids, count=int(rate * seconds), start=start)
    bench_desk_load.events_sent += len(bodies)
    posted, failed, stop = {}, [], threading.Event()
    threads = post_events(f"{base_url}{webhook_path(page)}", bodies, rate=rate, posted=posted,
                          failed=failed, stop=stop)  # fmt: skip
    results, seen = run_agents(port, seeded, seconds=seconds + 3)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    figures = _figures(agents, results, seen, posted, bodies, watchers, seconds)
    figures["events_offered"], figures["posts_failed"] = len(bodies), len(failed)
    return figures


bench_desk_load.events_sent = 0


def _figures(agents, results, seen, posted, bodies, watchers, seconds):
    times = sorted(took * 1000 for status, took, *_ in results if status)
    unchanged = sorted(took * 1000 for status, took, *_ in results if status == 204)
    rendered = sorted(took * 1000 for status, took, *_ in results if status == 200)
    statuses = [status for status, *_ in results]
    delays, missed = [], 0
    psid_of = {n: json.loads(body)["entry"][0]["messaging"][0]["sender"]["id"]
               for n, body, _ in bodies}  # fmt: skip
    for n, at in posted.items():
        for cookie in watchers.get(psid_of[n], []):
            shown = seen.get((cookie, n))
            if shown is None:
                missed += 1
            else:
                delays.append(shown - at)
    delays.sort()
    return {
        "agents": agents,
        "polls": len(results),
        "polls_per_s": len(results) / (seconds + 3),
        "unchanged_share": statuses.count(204) / max(1, len(statuses)),
        # What the answers that were not 204 drew: the list, the conversation (or both).
        "list_answers_per_s": sum(1 for *_, listed, _ in results if listed) / (seconds + 3),
        "conversation_answers_per_s": sum(1 for *_, pane in results if pane) / (seconds + 3),
        "errors": sum(1 for s in statuses if s not in (200, 204)),
        "poll_p50_ms": _pct(times, 50),
        "poll_p99_ms": _pct(times, 99),
        "poll_204_p50_ms": _pct(unchanged, 50),
        "poll_204_p99_ms": _pct(unchanged, 99),
        "poll_200_p50_ms": _pct(rendered, 50),
        "poll_200_p99_ms": _pct(rendered, 99),
        "events_posted": len(posted),
        "visible_p50_s": _pct(delays, 50),
        "visible_p95_s": _pct(delays, 95),
        "not_seen_in_time": missed,
    }


def _pct(values, p):
    if not values:
        return None
    return values[min(len(values) - 1, int(len(values) * p / 100))]
