"""Where uploaded files live: one interface, two backends.

`LocalStorage` keeps files under a directory (the instance folder by default); `S3Storage`
keeps them in an S3-compatible bucket so several app hosts share them. Both store bytes
under a key such as "budget/3f2a….jpg". STORAGE_BACKEND picks one ("local" or "s3").

Files written during a database transaction are removed again if that transaction is rolled
back (`save_in_session`): a refused third photo leaves no orphaned first and second photo.
This package imports no capability.
"""

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.storage.local import LocalStorage

PENDING = "tynda.storage.pending"
COMMITTED = "tynda.storage.committed"


def get_storage(app=None):
    """The storage of the current (or given) app, made once from its config."""
    from flask import current_app

    app = app or current_app
    storage = app.extensions.get("tynda.storage")
    if storage is None:
        storage = make_storage(app.config, app.instance_path)
        app.extensions["tynda.storage"] = storage
    return storage


def make_storage(config, instance_path):
    backend = config.get("STORAGE_BACKEND") or "local"
    if backend == "local":
        root = config.get("STORAGE_DIR") or f"{instance_path}/uploads"
        return LocalStorage(root)
    if backend == "s3":
        from portal.storage.s3 import S3Storage

        return S3Storage(
            bucket=config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION") or "us-east-1",
            access_key=config.get("S3_ACCESS_KEY_ID"),
            secret_key=config.get("S3_SECRET_ACCESS_KEY"),
            prefix=config.get("S3_PREFIX") or "",
        )
    raise RuntimeError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")


def save_in_session(session, storage, key, data, content_type):
    """Store a file that belongs to rows of `session`: it is removed if they are rolled back."""
    storage.save(key, data, content_type)
    session.info.setdefault(PENDING, []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _commit_seen(session):
    session.info[COMMITTED] = True


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session, previous_transaction):
    if not previous_transaction.nested:
        _remove_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session, transaction):
    if transaction.parent is not None:
        return
    if session.info.pop(COMMITTED, False):
        session.info.pop(PENDING, None)  # the rows are stored: keep their files
    else:
        _remove_pending(session)  # closed without a commit (an error page, a teardown)


def _remove_pending(session):
    for storage, key in session.info.pop(PENDING, []):
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - cleaning up must not hide the original error
            logging.getLogger(__name__).exception("could not remove %s", key)
