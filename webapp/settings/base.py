"""Settings shared by every environment. Environment-specific modules import * from here.

Everything configurable comes from one ``environ.Env``; defaults are the embedded, serverless
set-up (SQLite and a filesystem broker under ``var/``) so a fresh checkout runs as is.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("TRIALMARK_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    env.read_env(str(env_file))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

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
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "annotation",
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
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'trialmark.sqlite3'}")}
if not env.str("DATABASE_URL", default=""):
    # The embedded default keeps its SQLite file (and broker folders) under var/.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Keep server connections open between requests: opening one costs a PostgreSQL backend fork,
    # which under 20 concurrent annotators was the largest share of each request's time.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Prepared statements: psycopg prepares a query on a connection once it has run it this many times,
    # so PostgreSQL stops planning it anew. Planning was most of the database's CPU on the annotation hot
    # paths (1.3-1.6 ms per queue or queue-hint query, executing them 0.1-0.4 ms). They need server-side
    # parameter binding. 0 turns both off, as a transaction-pooling pgbouncer in front requires.
    _prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=2)
    if _prepare_threshold > 0:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": _prepare_threshold}
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the timeout waits out short write locks.
    # Transactions begin IMMEDIATE, taking the write lock up front: a deferred one that read first and
    # then wrote failed at once with "database is locked" whenever another connection had written in the
    # meantime (SQLite cannot wait there: its snapshot is stale), so annotators saving at the same moment
    # got errors instead of waiting their turn.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# How long a sentence handed out by the queue stays reserved for its annotator (0: no reservations, so
# annotators working at the same time may be given the same sentence).
TRIALMARK_QUEUE_RESERVE_MINUTES = env.int("TRIALMARK_QUEUE_RESERVE_MINUTES", default=30)
# Uploads: the limits apply to the whole request and are checked again per file by the importer.
TRIALMARK_MAX_UPLOAD_MB = env.int("TRIALMARK_MAX_UPLOAD_MB", default=200)
TRIALMARK_MAX_UPLOAD_FILES = env.int("TRIALMARK_MAX_UPLOAD_FILES", default=20000)
DATA_UPLOAD_MAX_MEMORY_SIZE = TRIALMARK_MAX_UPLOAD_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = TRIALMARK_MAX_UPLOAD_FILES
# Finished imports' uploads and UI exports' zips are deleted after this many days (0: kept forever).
# Alert webhooks may only reach public addresses unless this is on (an internal chat server, tests).
TRIALMARK_WEBHOOK_ALLOW_PRIVATE = env.bool("TRIALMARK_WEBHOOK_ALLOW_PRIVATE", default=False)
TRIALMARK_FILE_RETENTION_DAYS = env.int("TRIALMARK_FILE_RETENTION_DAYS", default=30)

# Models: artifacts live under this root; the encoder is a Hugging Face name or a local directory.
TRIALMARK_MODEL_ROOT = Path(env.str("TRIALMARK_MODEL_ROOT", default=str(VAR_DIR / "models")))
TRIALMARK_ENCODER = env.str("TRIALMARK_ENCODER", default="")  # empty: the packaged MiniLM-L6
# Fewest optimizer steps a training takes: a small gold set gets more epochs (``min_steps`` of the model
# config, which a project's Model config can set itself; 0: the configured epochs only).
TRIALMARK_MIN_TRAIN_STEPS = env.int("TRIALMARK_MIN_TRAIN_STEPS", default=200)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotation.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    # ?format= names the corpus format of an export, not a renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TrialMark API",
    "DESCRIPTION": "Entity and relation annotation of clinical-trial eligibility criteria.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: the embedded default is kombu's filesystem transport under var/, which needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"worker.tasks.train_*": {"queue": "gpu"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
