"""gunicorn settings for Tynda: `gunicorn -c portal/deploy/gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_BIND, GUNICORN_WORKERS,
GUNICORN_THREADS, GUNICORN_TIMEOUT). The app writes its own JSON access lines (with the
request id), so gunicorn's access log is off and its error log goes to stderr (journald).
"""

import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threads serve slow clients cheaply; processes use the cores. 2 per core is a safe start.
workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2))
worker_class = "gthread"
# 16 threads: a sign-in waiting for a password hash (portal/accounts/hashing.py) holds its
# thread, and a burst of sign-ins must leave threads free for ballots.
threads = int(os.environ.get("GUNICORN_THREADS", 16))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))  # long work runs as a job, not here
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# Header limits: a request line or header bigger than this is refused before the app runs.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Only the local TLS proxy may set X-Forwarded-*; the app's ProxyFix (TRUSTED_PROXIES) reads them.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "tynda-web"

# Prometheus counters of all workers are summed from files in this directory (/metrics).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tynda-metrics-")


def on_starting(server):
    """Start with an empty metrics directory: old workers' files would be counted again."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
