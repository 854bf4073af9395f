"""Moderation work that runs as a background job: finding campaigns among a draft's comments.

Clustering 100,000 comments takes tens of seconds, so the campaigns page queues a job.
The comments are read in a snapshot (SQLite: a deferred transaction), clustered with no
lock held, and only replacing the campaigns takes the write lock.
"""

from flask_babel import lazy_gettext as _l

from portal import database
from portal.accounts.models import User
from portal.consultations.models import Draft
from portal.extensions import db
from portal.jobs import job
from portal.moderation import services

CLUSTER_JOB = "moderation.cluster"


def cluster_and_store(session, user_id, draft_id, threshold=None, progress=None):
    """Cluster in a read snapshot, then store under the write lock; the caller commits.
    `user_id` None is the command line."""

    def step(done, message):
        if progress is not None:
            progress(done, 3, message)

    step(0, "reading comments")
    database.start_read(session)
    user = session.get(User, user_id) if user_id is not None else None
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise LookupError(f"no draft {draft_id}")
    step(1, "clustering")
    groups, count = services.find_campaigns(session, user, draft, threshold=threshold)
    step(2, "storing campaigns")
    database.start_write(session)
    user = session.get(User, user_id) if user_id is not None else None
    draft = session.get(Draft, draft_id)
    return services.store_campaigns(session, user, draft, groups, count)


@job(CLUSTER_JOB, label=_l("Finding campaigns"))
def cluster_job(payload, progress):
    """payload: {"draft_id", "user_id"}."""
    campaigns = cluster_and_store(
        db.session, payload["user_id"], payload["draft_id"], progress=progress
    )
    return {"draft_id": payload["draft_id"], "campaigns": len(campaigns)}
