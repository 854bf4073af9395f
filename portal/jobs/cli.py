"""`flask jobs …`: run a worker, check that workers answer, hand stuck jobs over again."""

import time

import click
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import enqueue, hand_over, job, recover, recover_and_hand_over

cli = AppGroup("jobs", help="Background jobs (huey).")


@job("jobs.ping")
def ping(payload, progress):
    """A job that only reports progress: proves a worker runs jobs end to end."""
    steps = int(payload.get("steps", 3))
    pause = float(payload.get("pause", 0))  # seconds per step: a job that takes a while
    for step in range(steps):
        progress(step, steps, "ping")
        time.sleep(pause)
    return {"pong": steps}


@cli.command("worker")
@click.option("--workers", default=1, show_default=True, help="Worker threads.")
def worker_command(workers):
    """Run a job worker in the foreground (stop it with Ctrl+C or SIGTERM)."""
    huey = current_app.extensions["huey"]
    if huey.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is set: jobs run in-process, no worker needed")
    click.echo(f"Tynda job worker: {workers} thread(s) on {huey.storage.__class__.__name__}")
    # Jobs left running by a worker that died are queued again now and, while this worker
    # runs, each minute (the periodic task `tynda.recover_jobs`).
    recovered = recover_and_hand_over()
    if recovered:
        click.echo(f"{len(recovered)} interrupted job(s) queued again")
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


@cli.command("ping")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait.")
def ping_command(timeout):
    """Queue a ping job and wait until a worker has done it."""
    row = enqueue(db.session, "jobs.ping", {"steps": 3})
    db.session.commit()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        status = db.session.get(Job, row.id).status
        db.session.rollback()  # end the read transaction so the worker can write
        if status in ("done", "failed"):
            click.echo(f"job {row.id}: {status}")
            if status == "failed":
                raise SystemExit(1)
            return
        time.sleep(0.2)
    raise click.ClickException(f"job {row.id} not done after {timeout} s: is a worker running?")


@cli.command("requeue")
def requeue_command():
    """Hand every queued job to the queue again (after the queue's storage was lost), with
    the running ones whose worker died (their lease ran out)."""
    recover(db.session)
    db.session.commit()
    ids = db.session.scalars(db.select(Job.id).where(Job.status == "queued")).all()
    db.session.rollback()
    hand_over(ids)
    click.echo(f"{len(ids)} job(s) handed to the queue")
