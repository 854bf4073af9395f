"""JSON log lines (python-json-logger) that carry the request id of the request they are in."""

import logging
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter

LOGGER = "portal"
_HANDLER_NAME = "tynda-stderr"
access_log = logging.getLogger("portal.access")


class RequestIdFilter(logging.Filter):
    """Adds request_id (or None outside a request) to every record."""

    def filter(self, record):
        record.request_id = getattr(g, "request_id", None) if has_request_context() else None
        return True


def formatter(kind):
    if kind == "text":
        return logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


def configure(app):
    """One stderr handler on the "portal" logger (Flask's app.logger), in the chosen format."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    from flask.logging import default_handler

    logger.removeHandler(default_handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(app.config.get("LOG_FORMAT", "json")))
    logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if app.config.get("TESTING"):
        handler.setLevel(logging.WARNING)  # keep test output readable; records still propagate


def access(method, route, path, status, seconds):
    access_log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "request_id": getattr(g, "request_id", None),
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )
