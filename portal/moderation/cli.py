"""`flask moderation cluster DRAFT_ID`: group near-duplicate comments into campaigns."""

import time

import click
from flask.cli import AppGroup

from portal.consultations.models import Draft
from portal.extensions import db
from portal.moderation.jobs import cluster_and_store

cli = AppGroup("moderation", help="Comment moderation.")


@cli.command("cluster")
@click.argument("draft_id", type=int)
@click.option("--threshold", type=float, default=None, help="Similarity threshold (0–1).")
def cluster_command(draft_id, threshold):
    """Recompute the campaigns (near-duplicate clusters) of draft DRAFT_ID and store them."""
    draft = db.session.get(Draft, draft_id)
    if draft is None:
        raise click.UsageError(f"No draft with id {draft_id}.")
    started = time.perf_counter()
    # Synchronous here, but like the job: read in a snapshot, take the lock only to store.
    campaigns = cluster_and_store(db.session, None, draft_id, threshold=threshold)
    db.session.commit()
    members = sum(c.size for c in campaigns)
    click.echo(
        f"Draft {draft_id}: {len(campaigns)} campaign(s) covering {members} comment(s) "
        f"in {time.perf_counter() - started:.1f} s."
    )
