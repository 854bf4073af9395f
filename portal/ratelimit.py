"""Rate limits the views share: who is counted, how much, and the 429 answer.

Limits come from the configuration (`RATELIMIT_*` strings such as "20/hour") so operators and
tests can change them. Signed-in actions count per account; anonymous ones per client
address, which ProxyFix makes the real address behind `TRUSTED_PROXIES` proxies.
"""

import math
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.extensions import limiter


def account_or_address():
    """Signed-in people are counted per account (carrier NAT shares addresses)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{get_remote_address()}"


def limit(setting, *, per="address", methods=("POST",)):
    """Decorator: apply the limit named by config key `setting` to a view or blueprint."""
    key_func = account_or_address if per == "account" else get_remote_address
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=key_func,
        methods=list(methods) if methods else None,
        scope=setting,
    )


def retry_after():
    """Seconds until the limit that refused the current request frees a slot (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def client_address():
    return request.remote_addr or ""
