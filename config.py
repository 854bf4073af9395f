"""Configuration classes for Tynda.

`create_app` takes one of these classes (or a dict of overrides). Everything that differs
between machines comes from the environment: SECRET_KEY, DATABASE_URL, IIN_HMAC_KEY.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _database_url(default_file):
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres://"):
        # Heroku-style URLs name the old driver; we ship psycopg 3.
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    return url or f"sqlite:///{INSTANCE_DIR / default_file}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    # Keyed hash of IINs; separate from SECRET_KEY so rotating cookies keeps accounts.
    IIN_HMAC_KEY = os.environ.get("IIN_HMAC_KEY")
    # Keyed pseudonyms of voters on ballot rows; kept out of the database so a copy of it
    # cannot tell how anyone voted. Never change it while a vote is open.
    BALLOT_KEY = os.environ.get("BALLOT_KEY")
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
    LOGIN_THROTTLE_ATTEMPTS = 5
    LOGIN_THROTTLE_WINDOW = 15 * 60
    PAGE_SIZE = 20
    TESTING = False
    # Argon2id at OWASP's minimum (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1.
    # About 40 ms a hash on one core, so a burst of sign-ins cannot starve voting; the
    # library default (64 MiB, t=3, p=4) took 110-170 ms. Old hashes are rehashed at login.
    ARGON2_PARAMS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
    # Background jobs (portal/jobs): huey on a SQLite file in the instance folder, or on
    # Redis when JOBS_REDIS_URL is set (several machines, heavier load).
    JOBS_REDIS_URL = os.environ.get("JOBS_REDIS_URL")
    JOBS_SQLITE_PATH = os.environ.get("JOBS_SQLITE_PATH")
    # True: a job runs in-process right after the commit that queued it (no worker).
    JOBS_IMMEDIATE = False


class DevelopmentConfig(Config):
    DEBUG = False  # the Werkzeug debugger would show tracebacks; keep errors as pages


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"
    IIN_HMAC_KEY = "testing-iin-key"
    BALLOT_KEY = "testing-ballot-key"
    SQLALCHEMY_DATABASE_URI = _database_url("tynda-test.sqlite")
    # Cheap Argon2 so hundreds of test sign-ups stay fast; production keeps the defaults.
    ARGON2_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    # Jobs run in-process after the commit; tests that need a real worker start one.
    JOBS_IMMEDIATE = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    SECRET_KEY = os.environ.get("SECRET_KEY")

    @classmethod
    def check(cls):
        if not cls.SECRET_KEY:
            raise RuntimeError("ProductionConfig needs SECRET_KEY in the environment")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
