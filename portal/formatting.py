"""One formatter for money, numbers, dates and times in the reader's language (Babel).

Templates use the Jinja filters registered by `init_app`; charts, JavaScript and exports call
the functions. Stored times are naive UTC; people see them in Kazakhstan's single time zone.
"""

import datetime as dt

from babel import dates, numbers
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.timezones import zone

# The one name of the time zone shown to people (Kazakhstan has one zone since March 2024).
TIME_ZONE_NAME = _l("Kazakhstan time")
DASH = "—"


def _locale(locale=None):
    return str(locale or get_locale() or "kk")


def number(value, locale=None):
    """An integer or decimal with the locale's digit grouping and decimal sign."""
    if value is None:
        return DASH
    return numbers.format_decimal(value, locale=_locale(locale))


def money(value, locale=None):
    """Whole tenge with the locale's grouping: «1 500 000 ₸» (kk, ru), "1,500,000 ₸" (en)."""
    if value is None:
        return DASH
    return number(int(round(value)), locale) + "\u00a0₸"


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
    """A stored naive-UTC datetime as local date and time."""
    if value is None:
        return DASH
    return dates.format_datetime(_aware(value), fmt, tzinfo=zone(), locale=_locale(locale))


def day(value, fmt="long", locale=None):
    """A date, or the local date of a stored naive-UTC datetime."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = _aware(value).astimezone(zone()).date()
    return dates.format_date(value, fmt, locale=_locale(locale))


def local_date(value):
    """The local calendar date of a stored naive-UTC datetime."""
    return _aware(value).astimezone(zone()).date()


def init_app(app):
    app.jinja_env.filters.update(money=money, number=number, percent=percent, when=when, day=day)
    app.jinja_env.globals.update(TIME_ZONE_NAME=TIME_ZONE_NAME)
