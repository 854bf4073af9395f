"""Backups of a whole instance: the database and every uploaded file, in one .tar.gz.

The database part is taken while the site runs: SQLite through its online backup API (a
consistent copy page by page, writers keep working), PostgreSQL through `pg_dump` (one
snapshot transaction). Uploads are read through the configured storage, so a backup of an
S3-backed instance holds its photos too. `restore` writes both into an EMPTY instance.

Archive layout: manifest.json, database.sqlite or database.pgdump, uploads/<storage key>.
"""

import datetime as dt
import glob
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

import sqlalchemy as sa

FORMAT = 1
# Tables that an empty instance may already hold (reference data and the schema version).
REFERENCE_TABLES = {"alembic_version", "region", "district"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def find_pg_tool(name):
    """pg_dump / pg_restore: $PG_BIN, then PATH, then the newest /usr/lib/postgresql/*/bin."""
    candidates = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]) / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates.extend(Path(p) / name for p in versions)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise BackupError(f"{name} not found: install PostgreSQL's client tools or set PG_BIN.")


def _pg_args(url):
    """libpq options and environment for a SQLAlchemy URL (the password via PGPASSWORD)."""
    url = sa.engine.make_url(url)
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(command, env=None):
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[:2000]}")


def _revision(engine):
    with engine.connect() as connection:
        try:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.DBAPIError:
            return None


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def create_backup(engine, storage, path):
    """Write a backup of the database behind `engine` and of `storage` to `path`."""
    path = Path(path)
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {dialect}.")
    keys = storage.list_keys()
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dialect": dialect,
        "revision": _revision(engine),
        "uploads": len(keys),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tynda-backup-") as work:
        if dialect == "sqlite":
            database = Path(work) / "database.sqlite"
            _sqlite_copy(engine.url.database, database)
        else:
            database = Path(work) / "database.pgdump"
            args, env = _pg_args(engine.url)
            _run(
                [
                    find_pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    str(database),
                    *args,
                ],
                env,
            )
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
            archive.add(database, arcname=database.name)
            for key in keys:
                data = storage.read(key)
                if data is not None:
                    _add_bytes(archive, f"uploads/{key}", data)
        os.replace(partial, path)  # never leave a half-written backup under the real name
    return manifest


def _sqlite_copy(source, target):
    """SQLite's online backup API: a consistent copy while other connections keep writing."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def is_empty(engine):
    """True if no table other than reference data holds a row."""
    inspector = sa.inspect(engine)
    with engine.connect() as connection:
        for table in inspector.get_table_names():
            if table in REFERENCE_TABLES:
                continue
            quoted = engine.dialect.identifier_preparer.quote(table)
            if connection.execute(sa.text(f"SELECT 1 FROM {quoted} LIMIT 1")).first():  # noqa: S608
                return False
    return True


def read_manifest(path):
    try:
        with tarfile.open(path, "r:gz") as archive:
            return json.load(archive.extractfile("manifest.json"))
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError, AttributeError) as error:
        raise BackupError(f"{path} is not a Tynda backup ({error}).") from None


def restore_backup(engine, storage, path, *, force=False):
    """Restore the backup at `path` into the (empty) database and storage; return its manifest."""
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    dialect = engine.dialect.name
    if manifest["dialect"] != dialect:
        raise BackupError(
            f"This backup is of a {manifest['dialect']} database; DATABASE_URL points to "
            f"{dialect}. Restore it into the same kind of database."
        )
    if not force and not is_empty(engine):
        raise BackupError(
            "The target instance already holds data. Restore into an empty database "
            "(or pass --force to replace it)."
        )
    with (
        tempfile.TemporaryDirectory(prefix="tynda-restore-") as work,
        tarfile.open(path, "r:gz") as archive,
    ):
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        name = "database.sqlite" if dialect == "sqlite" else "database.pgdump"
        if name not in members:
            raise BackupError(f"The backup has no {name}.")
        database = Path(work) / name
        database.write_bytes(archive.extractfile(members[name]).read())
        engine.dispose()  # no pooled connection may keep the old database open
        if dialect == "sqlite":
            _sqlite_copy(str(database), engine.url.database)
        else:
            args, env = _pg_args(engine.url)
            _run(
                [
                    find_pg_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    *args,
                    str(database),
                ],
                env,
            )
        for member_name, member in members.items():
            if member_name.startswith("uploads/"):
                key = member_name[len("uploads/") :]
                storage.save(key, archive.extractfile(member).read())
    return manifest
