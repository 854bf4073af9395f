"""Time zones from the pinned `tzdata` package. Pure: no Flask.

Kazakhstan moved to UTC+5 on 1 March 2024; system tz databases older than 2024a still say
UTC+6 for Asia/Almaty, and `ZoneInfo(key)` prefers the system's files. Loading from the
package pinned in requirements.txt gives every machine the same answer.
"""

import importlib.resources
from functools import cache
from zoneinfo import ZoneInfo

KAZAKHSTAN = "Asia/Almaty"


@cache
def zone(key: str = KAZAKHSTAN) -> ZoneInfo:
    """The zone `key` as the pinned tzdata package defines it."""
    with importlib.resources.files("tzdata.zoneinfo").joinpath(key).open("rb") as handle:
        return ZoneInfo.from_file(handle, key=key)
