"""The audit log: one append-only, hash-chained record of every privileged action.

Capabilities call `record(session, actor, action, target=..., details=..., region_code=...)`;
this package imports no capability.
"""

from portal.audit.services import code_of, record

__all__ = ["code_of", "record"]
