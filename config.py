"""Configuration classes for Tynda.

`create_app` takes one of these classes (or a dict of overrides). Everything that differs
between machines comes from the environment: SECRET_KEY, IIN_HMAC_KEY, RECEIPT_KEY,
DATABASE_URL and the storage, logging and metrics settings.
"""

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _database_url(default_file):
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres://"):
        # Heroku-style URLs name the old driver; we ship psycopg 3.
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    return url or f"sqlite:///{INSTANCE_DIR / default_file}"


def flag(name, default):
    """An on/off setting from the environment: 1/true/yes/on or 0/false/no/off, in any case;
    unset or empty is `default`. Anything else stops the start with the setting's name (a
    typo must not quietly turn TLS or group commit off)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, not {value!r}")


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    # Keyed hash of IINs; separate from SECRET_KEY so rotating cookies keeps accounts.
    IIN_HMAC_KEY = os.environ.get("IIN_HMAC_KEY")
    # Keyed pseudonyms of voters on ballot rows; kept out of the database so a copy of it
    # cannot tell how anyone voted. Never change it while a vote is open.
    BALLOT_KEY = os.environ.get("BALLOT_KEY")
    # Signs ballot receipts; like IIN_HMAC_KEY it must outlive any SECRET_KEY rotation.
    RECEIPT_KEY = os.environ.get("RECEIPT_KEY") or os.environ.get("BUDGET_RECEIPT_SECRET")
    # The public address of the API for openapi.json; relative "/api/v1" when unset.
    API_BASE_URL = os.environ.get("API_BASE_URL")
    HSTS = False
    # Logs: "json" (one object per line, with the request id) or "text".
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # /metrics: for this Bearer token, administrators, or direct loopback connections.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN")
    # Uploads: "local" (STORAGE_DIR, default instance/uploads) or "s3" (an S3-compatible bucket).
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    STORAGE_DIR = os.environ.get("STORAGE_DIR")
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")
    S3_REGION = os.environ.get("S3_REGION")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")
    SQLALCHEMY_DATABASE_URI = _database_url("tynda.sqlite")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    LANGUAGES = ("kk", "ru", "en")
    BABEL_DEFAULT_LOCALE = "kk"
    BABEL_DEFAULT_TIMEZONE = "Asia/Almaty"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; long forms stay valid
    # Failed sign-ins: an account locks after this many failures in the window (from any
    # address); an address that failed this often (any accounts) is slowed down, never locked.
    LOGIN_THROTTLE_ATTEMPTS = 5
    LOGIN_THROTTLE_WINDOW = 15 * 60
    LOGIN_ADDRESS_ATTEMPTS = 20
    LOGIN_ADDRESS_DELAY_MAX = 3.0  # seconds
    # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Flask-Limiter: memory:// on one host; redis://host:6379/1 shares counters between hosts.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_REGISTER = "10/hour"
    RATELIMIT_COMMENT = "30/hour"
    RATELIMIT_REPORT = "30/hour"
    RATELIMIT_DRAFT_VOTE = "30/hour"
    RATELIMIT_PROPOSAL = "10/hour"
    RATELIMIT_RECEIPT = "30/minute"
    RATELIMIT_API = "300/minute"
    RATELIMIT_MAIL = "5/hour"  # password-reset and confirmation mails asked for per address
    PAGE_SIZE = 20
    # Sign-in through an OpenID Connect provider (eGov or the akimat's); off without a client id.
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER")
    OIDC_METADATA_URL = os.environ.get("OIDC_METADATA_URL")
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID")
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET")
    OIDC_IIN_CLAIM = os.environ.get("OIDC_IIN_CLAIM", "iin")
    OIDC_VERIFIES_RESIDENCE = flag("OIDC_VERIFIES_RESIDENCE", False)
    OIDC_NAME = os.environ.get("OIDC_NAME", "eGov")
    # Outgoing mail. Without MAIL_SERVER (development) mail is written to instance/mail/.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = flag("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Tynda <no-reply@tynda.kz>")
    MAIL_FOLDER = None
    # The portal's public address, for links in mail sent from the CLI or a job.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    TESTING = False
    # Argon2id at one of OWASP's equivalent minimums (Password Storage Cheat Sheet lists
    # m=46/19/12/9/7 MiB with t=1/2/3/4/5, p=1): 7 MiB, t=5 is the cheapest in CPU here
    # (bench/argon2_params.py: 15 ms against 18.5 ms for 19 MiB, t=2), so a burst of
    # sign-ins takes less from voting. Hashes with other parameters are rehashed at login.
    ARGON2_PARAMS = {"time_cost": 5, "memory_cost": 7 * 1024, "parallelism": 1}
    # Background jobs (portal/jobs): huey on a SQLite file in the instance folder, or on
    # Redis when JOBS_REDIS_URL is set (several machines, heavier load).
    JOBS_REDIS_URL = os.environ.get("JOBS_REDIS_URL")
    JOBS_SQLITE_PATH = os.environ.get("JOBS_SQLITE_PATH")
    # True: a job runs in-process right after the commit that queued it (no worker).
    JOBS_IMMEDIATE = False
    # A worker writes a running job's heartbeat every JOBS_HEARTBEAT seconds; a job silent
    # for JOBS_LEASE seconds lost its worker and is queued again (portal/jobs/queue.py).
    # The lease allows for beats delayed behind a long SQLite write lock.
    JOBS_HEARTBEAT = float(os.environ.get("JOBS_HEARTBEAT", "10"))
    JOBS_LEASE = float(os.environ.get("JOBS_LEASE", "120"))
    # Staff CSV/JSON/.pb exports of up to this many rows stream from the request; bigger
    # ones, and every XLSX/SQLite file, are built by a job (portal/exports/jobs.py).
    EXPORT_STREAM_ROWS = int(os.environ.get("EXPORT_STREAM_ROWS", "20000"))
    # SQLite: online ballots that arrive together are written by the process's writer thread
    # in one transaction with one commit (portal/group_commit.py): one disk flush and one
    # turn of the write lock for all of them. Not on PostgreSQL: its transactions run in
    # parallel and share WAL flushes by themselves, and one writer thread per process was
    # slower there (BENCHMARKS.md, "Group commit"); its writer is the machine's (below).
    BALLOT_GROUP_COMMIT = flag("BALLOT_GROUP_COMMIT", True)
    # The Unix socket of the machine's one ballot writer process (`flask --app wsgi
    # budgeting ballot-writer`), which then writes every worker's ballots in shared commits,
    # on either database; while none answers there each worker writes its own (SQLite: its
    # writer thread). Unset: the workers' threads on SQLite, each request on PostgreSQL.
    BALLOT_WRITER_SOCKET = os.environ.get("BALLOT_WRITER_SOCKET")


class DevelopmentConfig(Config):
    DEBUG = False  # the Werkzeug debugger would show tracebacks; keep errors as pages


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"
    IIN_HMAC_KEY = "testing-iin-key"
    BALLOT_KEY = "testing-ballot-key"
    RECEIPT_KEY = "testing-receipt-key"
    SQLALCHEMY_DATABASE_URI = _database_url("tynda-test.sqlite")
    # Cheap Argon2 so hundreds of test sign-ups stay fast; production keeps the defaults.
    ARGON2_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    # Mail of tests without an SMTP server goes to a temporary folder, not instance/.
    MAIL_FOLDER = str(Path(tempfile.gettempdir()) / "tynda-test-mail")
    # Every test client shares 127.0.0.1: generous limits here, tight ones in the limit tests.
    RATELIMIT_REGISTER = RATELIMIT_COMMENT = RATELIMIT_REPORT = "10000/minute"
    RATELIMIT_DRAFT_VOTE = RATELIMIT_PROPOSAL = RATELIMIT_RECEIPT = "10000/minute"
    RATELIMIT_API = RATELIMIT_MAIL = "10000/minute"
    LOGIN_THROTTLE_ATTEMPTS = 5
    LOGIN_ADDRESS_DELAY_MAX = 0.2
    # Jobs run in-process after the commit; tests that need a real worker start one.
    JOBS_IMMEDIATE = True
    # Tests run inside one rolled-back transaction that a writer thread's own connection
    # cannot see (or would wait for): ballots commit in the request; the group writer is
    # tested on committed databases (tests/budgeting/test_group_commit.py).
    BALLOT_GROUP_COMMIT = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    HSTS = True  # production is served over TLS only (behind the proxy)
    SECRET_KEY = os.environ.get("SECRET_KEY")
    KEYS = ("SECRET_KEY", "IIN_HMAC_KEY", "RECEIPT_KEY", "BALLOT_KEY")
    MIN_KEY_LENGTH = 16

    @classmethod
    def check(cls):
        """Refuse to start without four distinct keys, saying exactly what to set."""
        how = (
            "Set SECRET_KEY, IIN_HMAC_KEY, RECEIPT_KEY and BALLOT_KEY in the environment to four "
            f"different random values of at least {cls.MIN_KEY_LENGTH} characters, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`. Keep IIN_HMAC_KEY, "
            "RECEIPT_KEY and BALLOT_KEY forever: changing them orphans accounts, ballot receipts "
            "and voters' ballots."
        )
        values = {name: getattr(cls, name, None) for name in cls.KEYS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise RuntimeError(f"Production needs {', '.join(missing)}. {how}")
        short = [name for name, value in values.items() if len(value) < cls.MIN_KEY_LENGTH]
        if short:
            raise RuntimeError(f"{', '.join(short)} too short. {how}")
        if len(set(values.values())) < len(values):
            raise RuntimeError(f"The keys {', '.join(cls.KEYS)} must differ. {how}")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
