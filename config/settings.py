"""Settings, all read from the environment (see the settings table in the README).

Development defaults apply only when DEBUG is on; production (DEBUG=0) refuses to start
without a real SECRET_KEY, ALLOWED_HOSTS and FIELD_ENCRYPTION_KEY.
"""

import base64
import contextlib
import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# A local .env (made by `make setup`, ignored by git) holds development values; the real
# environment wins over it.
environ.Env.read_env(BASE_DIR / ".env")
# Runtime files of the embedded defaults: SQLite database, broker queue, media.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core ------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)


def _dev_default(name, value):
    """A development default, refused in production so a deploy can't run on it by mistake."""
    if DEBUG:
        return value
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")


SECRET_KEY = env.str("SECRET_KEY", default=None) or _dev_default(
    "SECRET_KEY", "dev-only-secret-key-do-not-use-in-production-0123456789abcdef"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=None) or _dev_default(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
# A TLS-terminating proxy in front of the app sets X-Forwarded-Proto and X-Forwarded-For; they
# are trusted only when this says so (a client can send them too).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
# Agents' uploads and kept profile pictures are served by the app with a fixed type and a
# sandboxing policy (agent_desktop.media). MEDIA_ORIGIN (e.g. https://media.support.example.com,
# another host name of this app behind the same proxy) serves them from an origin of their own,
# by signed links, and nothing else; its host name is allowed with ALLOWED_HOSTS.
MEDIA_ORIGIN = env.str("MEDIA_ORIGIN", default="").rstrip("/")
if MEDIA_ORIGIN:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, urlsplit(MEDIA_ORIGIN).hostname]
# Origin used to build absolute webhook URLs when the request host is not the public one
# (behind a tunnel or a proxy). Empty: use the request's own origin.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if PUBLIC_BASE_URL and PUBLIC_BASE_URL not in CSRF_TRUSTED_ORIGINS:
    CSRF_TRUSTED_ORIGINS.append(PUBLIC_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "campaigns",
    "messenger",
    "agent_desktop",
    "webchat",
    "reports",
    "config.apps.ProjectConfig",  # the project's own system checks (config/checks.py)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are served by the app itself (gunicorn alone serves /static/), before the
    # middleware below spends anything on them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "agent_desktop.middleware.MediaOriginMiddleware",
    # The desk's unchanged polls: a 204 from the cache, without the middleware below.
    "agent_desktop.middleware.UnchangedDeskPollMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "campaigns.context_processors.roles",
            ],
        },
    },
]

# --- Database: SQLite by default, PostgreSQL through DATABASE_URL ----------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web server and a worker write at once: WAL lets readers go on during a write, the busy
    # timeout waits instead of failing with "database is locked", and IMMEDIATE transactions take
    # the write lock up front so two writers never deadlock upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
        ),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login rate limiting (django-axes): 5 failed logins for one username from one IP address lock
# that pair out for 15 minutes; the login form says so (config.auth.lockout_response). Counted
# in the database, so every web process sees the same count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.auth.lockout_response"
# The address counted: the one our TLS proxy saw when BEHIND_TLS_PROXY, else the connection's.
AXES_CLIENT_IP_CALLABLE = "config.auth.client_ip_address"
# An invitation link (campaigns.invitations) works once, for 72 hours.
PASSWORD_RESET_TIMEOUT = 72 * 3600
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- E-mail: invitations. EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587;
# without it, development prints mails on the console and production uses an SMTP server on
# localhost:25.
if "EMAIL_URL" in os.environ:
    globals().update(env.email_url("EMAIL_URL"))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Campaign Builder <noreply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- I18n, static ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
# Production (DEBUG=0) serves what `manage.py collectstatic` gathered into STATIC_ROOT, under
# hashed names that browsers may keep forever, with gzip copies (WhiteNoise picks one per
# request). Development and the tests serve static/ as it is: nothing to collect.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if DEBUG:  # WhiteNoise warns at every start about a missing STATIC_ROOT; nothing is collected
    STATIC_ROOT.mkdir(exist_ok=True)

# --- Secrets at rest -------------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation: put the new key first,
# run `manage.py rotate_secrets`, then drop the old one).
_DEV_FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"campaign-builder-dev").digest())
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", default=None) or _dev_default(
    "FIELD_ENCRYPTION_KEY", [_DEV_FIELD_KEY.decode()]
)

# --- Facebook / Messenger --------------------------------------------------------------------
GRAPH_API_URL = env.str("GRAPH_API_URL", default="https://graph.facebook.com/v25.0").rstrip("/")
GRAPH_API_TIMEOUT = env.float("GRAPH_API_TIMEOUT", default=10.0)
WEBHOOK_PATH_PREFIX = "messenger"
# The sandbox (a fake Graph API served at /sandbox/graph/ and a customer simulator) is on in
# development and off in production. Point GRAPH_API_URL at <origin>/sandbox/graph/v25.0 to use it.
SANDBOX = env.bool("SANDBOX", default=DEBUG)
# SANDBOX=1 with DEBUG=0 fails the system checks (config.E001) unless this says it is meant.
SANDBOX_IN_PRODUCTION = env.bool("SANDBOX_IN_PRODUCTION", default=False)
# Media (profile pictures downloaded, attachments the agent's browser loads) come only from these
# hosts over https (a leading dot: any subdomain), or from below the sandbox's fake Graph API when
# GRAPH_API_URL is not Facebook's (config.remote_urls).
FACEBOOK_MEDIA_HOSTS = env.list(
    "FACEBOOK_MEDIA_HOSTS", default=[".fbcdn.net", ".fbsbx.com", ".facebook.com"]
)

# --- Website chat (webchat) --------------------------------------------------------------
# The sample shop page that embeds the demo widget (`make run` serves it); the builder links to
# it when the sandbox is on. Empty: no link.
WEBCHAT_SAMPLE_PAGE_URL = env.str(
    "WEBCHAT_SAMPLE_PAGE_URL", default="http://127.0.0.1:8001/" if DEBUG else ""
)
# Rate limits of the visitor API, per minute (webchat.throttle): messages per visitor, messages
# and new sessions per client address, and other calls (polls, typing, read) per visitor.
WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR = env.int(
    "WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR", default=20
)
WEBCHAT_MESSAGES_PER_MINUTE_PER_ADDRESS = env.int(
    "WEBCHAT_MESSAGES_PER_MINUTE_PER_ADDRESS", default=60
)
WEBCHAT_SESSIONS_PER_MINUTE_PER_ADDRESS = env.int(
    "WEBCHAT_SESSIONS_PER_MINUTE_PER_ADDRESS", default=10
)
WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR = env.int("WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR", default=240)
# The rate limits count in Django's cache: the default keeps the counts in each process; with
# several web processes set CACHE_URL=redis://host:6379/1 so they share one count.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}


def desk_cache(cache_url, broker_url, var_dir):
    """Where the desk's change tokens live (agent_desktop.desk_versions). Every process (web,
    worker) must see the same tokens, or a desk would miss a change: CACHE_URL when it names
    Redis, else the Redis of the broker, else files under VAR_DIR (the embedded defaults)."""
    for url in (cache_url, broker_url):
        if url.startswith(("redis://", "rediss://")):
            return {"BACKEND": "config.redis_cache.ReusedClientRedisCache", "LOCATION": url}
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(var_dir / "desk-cache"),
        "OPTIONS": {"MAX_ENTRIES": 100_000},  # a token culled is only made again: never stale
    }


# --- Celery: an embedded broker (files under var/) unless CELERY_BROKER_URL is set -----------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CACHES["desk"] = desk_cache(env.str("CACHE_URL", default=""), CELERY_BROKER_URL, VAR_DIR)
# Sessions are read from that shared cache and kept in the database: the desk's unchanged polls
# (agent_desktop.desk_versions.poll_viewer) are answered with no query at all. Every process
# must see a session ended elsewhere (campaigns.team.sessions_end), so never a per-process cache.
SESSION_ENGINE = "config.sessions"  # Django's cached_db, read from the database when Redis is not
SESSION_CACHE_ALIAS = "desk"
# Desks that show the same contact list share its rows for this long (agent_desktop.desk_lists):
# a busy campaign's list is drawn once per this many seconds, not once per desk; 0 shares none.
DESK_LIST_SHARE_SECONDS = env.float("DESK_LIST_SHARE_SECONDS", default=2.0)

# --- Send API pacing (messenger.pacing) -------------------------------------------------------
# Meta takes about 300 Send API calls a second per page for text, 10 for audio and video: every
# worker takes its turn from one bucket per page, so sends are spaced instead of refused.
MESSENGER_SEND_RATE_TEXT = env.float("MESSENGER_SEND_RATE_TEXT", default=300.0)
MESSENGER_SEND_RATE_MEDIA = env.float("MESSENGER_SEND_RATE_MEDIA", default=10.0)
# A send whose turn is further away than this goes back to the queue (a countdown) instead of
# holding a worker asleep.
MESSENGER_SEND_MAX_WAIT_SECONDS = env.float("MESSENGER_SEND_MAX_WAIT_SECONDS", default=1.0)
# The bucket lives in the desk's Redis when there is one (shared by every worker), else in the
# database (a row per page and kind).
MESSENGER_SEND_PACING_REDIS_URL = (
    CACHES["desk"]["LOCATION"] if CACHES["desk"]["BACKEND"].endswith("RedisCache") else ""
)


def filesystem_broker_options(folder):
    """kombu's filesystem transport: the embedded broker, a folder shared by web and worker."""
    folder = Path(folder)
    for name in ("queue", "processed", "control"):
        with contextlib.suppress(OSError):  # unwritable: enqueueing fails, the sweep catches up
            (folder / name).mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        _create_exchange_tables(folder / "control")
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        "polling_interval": 0.25,
    }


def _create_exchange_tables(control):
    """Write Celery's exchange tables whole before any process binds a queue.

    kombu's filesystem transport creates a missing table by opening it empty and then writing it:
    a process that reads it in between (a worker starting while beat or a web process publishes)
    finds an empty file and dies on a JSON error. A table that exists is always updated under a
    lock, so each is created here in one step (written aside, then linked in if still absent).
    """
    tables = {
        "celery": [["celery", "", "celery"]],
        "celery.pidbox": [],
        "reply.celery.pidbox": [],
        "celeryev": [],
    }
    for exchange, bindings in tables.items():
        target = control / f"{exchange}.exchange"
        if target.exists():
            continue
        aside = control / f".{exchange}.{os.getpid()}.new"
        aside.write_text(json.dumps(bindings))
        with contextlib.suppress(FileExistsError):
            os.link(aside, target)
        aside.unlink()


CELERY_BROKER_FOLDER = env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "celery-broker"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(CELERY_BROKER_FOLDER)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
# Queues that do not hold each other up: a slow Graph API slows profile fetches and sends, never
# the storing of webhook deliveries; sweeps never wait behind a burst. A worker started without
# -Q consumes every queue below (make run, the tests); production runs one worker pool per queue
# (README, "Running at scale"). Tasks not routed here (new ones) go to "celery".
CELERY_TASK_DEFAULT_QUEUE = "celery"
TASK_QUEUE_NAMES = ("deliveries", "profiles", "sends", "sweeps", "celery")
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in TASK_QUEUE_NAMES]
CELERY_TASK_ROUTES = {
    "messenger.tasks.process_delivery": {"queue": "deliveries"},
    "messenger.tasks.process_deliveries": {"queue": "deliveries"},
    "messenger.tasks.fetch_profiles": {"queue": "profiles"},
    "messenger.tasks.send_message": {"queue": "sends"},
    "messenger.tasks.send_typing_on": {"queue": "sends"},
    "messenger.tasks.send_mark_seen": {"queue": "sends"},
    "messenger.tasks.sweep_unsent_messages": {"queue": "sweeps"},
    "messenger.tasks.sweep_stale_deliveries": {"queue": "sweeps"},
    "messenger.tasks.sweep_missing_profiles": {"queue": "sweeps"},
    "messenger.tasks.check_all_tokens": {"queue": "sweeps"},
    "messenger.tasks.check_for_gaps": {"queue": "sweeps"},
    "messenger.tasks.recover_page": {"queue": "sweeps"},
    "agent_desktop.tasks.wake_snoozed_contacts": {"queue": "sweeps"},
    "agent_desktop.tasks.assign_waiting_contacts": {"queue": "sweeps"},
    "campaigns.tasks.prune_audit_log": {"queue": "sweeps"},
    "reports.tasks.roll_message_days": {"queue": "sweeps"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a worker that dies mid-task leaves it to be run again;
# every task is idempotent for that reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The webhook enqueues after storing; with the broker down it must fail fast, not hang: the
# periodic sweep enqueues what could not be.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
# Deliveries still unprocessed this long after they arrived are enqueued again by the sweep.
DELIVERY_SWEEP_AFTER_SECONDS = env.int("DELIVERY_SWEEP_AFTER_SECONDS", default=120)
# The most deliveries a worker applies in one transaction (messenger.processing.process_deliveries).
# Batches only fill when deliveries wait; then each costs about 20 statements whatever its size,
# and 250 stored a backlog twice as fast as 100 (bench/run.py, queues: drain).
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=250)
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-deliveries": {
        "task": "messenger.tasks.sweep_stale_deliveries",
        "schedule": env.float("DELIVERY_SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    # Replies queued while the broker was down, and sends whose outcome stayed unknown.
    "sweep-unsent-messages": {
        "task": "messenger.tasks.sweep_unsent_messages",
        "schedule": 60.0,
    },
    # Profiles whose first fetch was lost (broker down, worker died), every 10 minutes.
    "sweep-missing-profiles": {
        "task": "messenger.tasks.sweep_missing_profiles",
        "schedule": 600.0,
    },
    # Snoozed conversations whose time has come are open again.
    "wake-snoozed-contacts": {
        "task": "agent_desktop.tasks.wake_snoozed_contacts",
        "schedule": env.float("SNOOZE_WAKE_INTERVAL_SECONDS", default=60.0),
    },
    # Conversations waiting in campaigns that assign automatically (missed by a dead worker…).
    "assign-waiting-contacts": {
        "task": "agent_desktop.tasks.assign_waiting_contacts",
        "schedule": env.float("ASSIGN_SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    # Token lifecycle: validity, pages_messaging and expiry of every page's token, daily.
    "check-all-tokens": {
        "task": "messenger.tasks.check_all_tokens",
        "schedule": 24 * 3600.0,
    },
    # Pages Facebook unsubscribed (after an hour of failed deliveries) are subscribed again and
    # their missed messages fetched (messenger.recovery).
    "check-for-gaps": {
        "task": "messenger.tasks.check_for_gaps",
        "schedule": env.float("GAP_CHECK_INTERVAL_SECONDS", default=300.0),
    },
    # Reports count long periods' messages from daily totals (reports.rollup).
    "roll-message-days": {
        "task": "reports.tasks.roll_message_days",
        "schedule": 300.0,
    },
    # The audit log keeps a year (campaigns.audit.KEEP_FOR): older entries go, daily.
    "prune-audit-log": {
        "task": "campaigns.tasks.prune_audit_log",
        "schedule": 24 * 3600.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an unauthenticated API call then gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Campaign Builder API",
    "DESCRIPTION": "Campaigns, Facebook Page entry points and their webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema maps every endpoint: only for logged-in users and tokens, like the API itself.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several models have a "kind" and a "status": name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "ContactStatusEnum": "agent_desktop.models.Contact.Status",
        "MessageKindEnum": "agent_desktop.models.Message.Kind",
        "MessageStatusEnum": "agent_desktop.models.Message.Status",
        "PresenceEnum": "campaigns.models.Person.Presence",
    },
}

# --- Logging: one line per event, never a secret (secrets are never passed to a logger) ------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "redact_secrets": {"()": "config.logging.RedactSecrets"},
        "one_line_per_refused_webhook": {"()": "config.logging.OneLinePerRefusedWebhook"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["redact_secrets"],
        },
        "server": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["one_line_per_refused_webhook"]},
        # The dev server's access log, with tokens in quoted URLs blanked out.
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}

# --- Production hardening (what `check --deploy` asks for) -----------------------------------
# Content-Security-Policy (config.middleware): scripts and styles only from our static files, no
# eval, no framing. Pictures and media only from us and FACEBOOK_MEDIA_HOSTS over https.
_MEDIA_SOURCES = [
    source
    for host in FACEBOOK_MEDIA_HOSTS
    for source in (
        [f"https://{host.lstrip('.')}", f"https://*.{host.lstrip('.')}"]
        if host.startswith(".")
        else [f"https://{host}"]
    )
]
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "img-src": ["'self'", *_MEDIA_SOURCES],
    "media-src": ["'self'", *_MEDIA_SOURCES],
    "style-src": ["'self'"],
    "script-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    # Both reach beyond this app (every subdomain; browsers' built-in lists, which take months
    # to leave), so they are the operator's decision, off unless set.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # `check --deploy` warns while they are off (W005, W021); off is our deliberate default, so
    # each warning is silenced only while its setting is off. Preload lists accept a site only
    # with includeSubDomains, so W005 speaks again when preload is asked for without it.
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS or SECURE_HSTS_PRELOAD else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]
    # Behind a TLS-terminating proxy: it says whether the client used https (without this the
    # app sees plain http from the proxy and redirects every request again, a loop), and it
    # appends the client's address to X-Forwarded-For (login rate limiting keys on it). The
    # proxy must overwrite X-Forwarded-Proto, never pass on the client's own.
    if BEHIND_TLS_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
