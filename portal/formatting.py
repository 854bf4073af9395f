"""One formatter for money, numbers, dates and times in the reader's language (Babel).

Templates use the Jinja filters registered by `init_app`; charts, JavaScript and exports call
the functions. Stored times are naive UTC; people see them in Kazakhstan's single time zone.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from babel import dates, numbers
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.timezones import zone

# The one name of the time zone shown to people (Kazakhstan has one zone since March 2024).
TIME_ZONE_NAME = _l("Kazakhstan time")
DASH = "—"


def _locale(locale=None):
    return str(locale or get_locale() or "kk")


def _decimal(value):
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return value


def number(value, locale=None):
    """A number with the locale's digit grouping and decimal sign; at most two decimals, and
    none for whole amounts (stored shares such as "1500000.00" read «1 500 000»)."""
    value = _decimal(value)
    if value is None:
        return DASH
    return numbers.format_decimal(value, format="#,##0.##", locale=_locale(locale))


def money(value, locale=None):
    """Tenge with the locale's grouping: «1 500 000 ₸» (kk, ru), "1,500,000 ₸" (en)."""
    text = number(value, locale)
    return text if text == DASH else text + "\u00a0₸"


def group_symbol(locale=None):
    """The digit-group separator of the locale (for scripts that format numbers)."""
    return numbers.get_group_symbol(_locale(locale))


def percent(value, locale=None, digits=1):
    """A share 0..1 as a percentage in the locale's style."""
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "\u00a0%"
    return numbers.format_decimal(value * 100, format=pattern, locale=_locale(locale))


def _aware(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def when(value, fmt="medium", locale=None):
    """A stored naive-UTC datetime as local date and 24-hour time, one style everywhere:
    «15 мая 2026 г., 21:00», "May 15, 2026, 21:00" ("long" and "full" spell the date out)."""
    if value is None:
        return DASH
    local = _aware(value).astimezone(zone())
    return f"{day(local.date(), fmt, locale)}, {local:%H:%M}"


def day(value, fmt="medium", locale=None):
    """A date, or the local date of a stored naive-UTC datetime; "short" and "medium" give
    the same abbreviated month ("yMMMd"), "long" and "full" Babel's spelled-out forms."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = _aware(value).astimezone(zone()).date()
    if fmt in ("short", "medium"):
        return dates.format_skeleton("yMMMd", value, locale=_locale(locale))
    return dates.format_date(value, fmt, locale=_locale(locale))


def local_date(value):
    """The local calendar date of a stored naive-UTC datetime."""
    return _aware(value).astimezone(zone()).date()


def init_app(app):
    """Register the filters; Flask-Babel's date filters are replaced so every date in every
    template goes through the pinned time zone (call after Flask-Babel's init_app)."""
    app.jinja_env.filters.update(
        money=money,
        number=number,
        percent=percent,
        when=when,
        day=day,
        datetimeformat=when,
        dateformat=day,
    )
    app.jinja_env.globals.update(TIME_ZONE_NAME=TIME_ZONE_NAME, group_symbol=group_symbol)
