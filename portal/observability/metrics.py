"""Prometheus metrics. Counters live in this process (or in PROMETHEUS_MULTIPROC_DIR when
gunicorn runs several workers, see portal/deploy/gunicorn.conf.py); gauges that describe the
whole site (jobs by status, queue length) are read from the database and queue per scrape."""

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "tynda_http_requests_total",
    "HTTP requests answered, by method, route pattern and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "tynda_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
BALLOTS = Counter(
    "tynda_ballots_cast_total",
    "Ballots stored (committed), by channel (online, paper).",
    ["channel"],
    registry=REGISTRY,
)


def observe_request(method, route, status, seconds):
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def ballot_cast(channel):
    BALLOTS.labels(channel).inc()


def _process_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class SiteCollector:
    """Gauges read at scrape time: jobs by status and the queue's length."""

    def __init__(self, jobs_by_status, queue_length):
        self.jobs_by_status = jobs_by_status
        self.queue_length = queue_length

    def collect(self):
        jobs = GaugeMetricFamily("tynda_jobs", "Background jobs by status.", labels=["status"])
        for status, count in sorted(self.jobs_by_status.items()):
            jobs.add_metric([status], count)
        yield jobs
        if self.queue_length is not None:
            yield GaugeMetricFamily(
                "tynda_job_queue_length", "Tasks waiting in the job queue.", value=self.queue_length
            )


def exposition(jobs_by_status, queue_length):
    """The text a Prometheus server scrapes."""
    site = CollectorRegistry()
    site.register(SiteCollector(jobs_by_status, queue_length))
    return generate_latest(_process_registry()) + generate_latest(site)
