"""Background jobs: long work (tallies, clustering, large exports) runs off the request.

    from portal.jobs import job, enqueue

    @job("budgeting.results")
    def compute(payload: dict, progress) -> dict | None:
        progress(0, 3, "reading ballots")
        ...

    job_row = enqueue(db.session, "budgeting.results", {"cycle_id": 7}, actor=current_user)
    db.session.commit()  # the task reaches the queue only now

The queue is huey: a SQLite file in the instance folder by default (no extra server), Redis
when JOBS_REDIS_URL is set. `flask --app wsgi jobs worker` runs a worker in the foreground.
With JOBS_IMMEDIATE (TestingConfig) a job runs in-process right after the commit.
This package imports no capability; capabilities register their handlers with `@job`.
"""

from portal.jobs.queue import REGISTRY, enqueue, init_app, job, run_job

__all__ = ["REGISTRY", "enqueue", "init_app", "job", "run_job"]
