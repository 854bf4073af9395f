"""Working days in Kazakhstan and the instants that open and close a consultation.

Working days are Monday to Friday minus the days off in `data/holidays_kz.csv` (see the README
beside it); years the file does not cover come from python-holidays' Kazakhstan calendar, which
tests/hardening/test_holiday_source.py also holds the file to. A `fixed` holiday that falls on
a Saturday or Sunday moves its day off to the next working day after the holiday (Labour
Code); `religious` and `lunar` days off never move; `transfer` rows add a day off and
`workday` rows make a weekend day a working day.

Counting (the usual legal rule: a term starts on the day after the event):

- `add_working_days(d, n)` is the n-th working day after d; d itself is not counted.
- `working_days_between(a, b)` counts working days in (a, b], so
  `working_days_between(d, add_working_days(d, n)) == n`.

Instants are aware datetimes in UTC; calendar dates are local dates in Asia/Almaty (UTC+5 since
1 March 2024). The zone is read from the pinned `tzdata` package, not the system's files, which
may predate the 2024 change. A period is a half-open interval: open means `start <= now < end`,
and `end` is local midnight at the end of the last day, so the last day is open up to its very
last microsecond and closed at 00:00:00 of the next day. Show people the last day
(`last_open_day(end)`), "until 23:59", never the raw end.

- discussion end: the end of the 10th working day after the local date of the start;
- answer deadline: the end of the 15th working day after the last day of the discussion
  (the day it closed), as for appeals under the Administrative Procedural Code (art. 76).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from portal import timezones

__all__ = [
    "DEFAULT_ANSWER_WORKING_DAYS",
    "DEFAULT_DISCUSSION_WORKING_DAYS",
    "LOCAL_TZ",
    "CalendarDataError",
    "DayOff",
    "WorkingCalendar",
    "add_working_days",
    "answer_deadline",
    "covered_years",
    "day_off",
    "discussion_end",
    "end_of_local_day",
    "extend_discussion",
    "is_open",
    "is_working_day",
    "last_open_day",
    "load_calendar",
    "local_date",
    "working_days_between",
]

DEFAULT_DISCUSSION_WORKING_DAYS = 10
DEFAULT_ANSWER_WORKING_DAYS = 15
HOLIDAYS_CSV = Path(__file__).parent / "data" / "holidays_kz.csv"
KINDS = ("fixed", "religious", "lunar", "transfer", "workday")
_ONE_MICROSECOND = timedelta(microseconds=1)


LOCAL_TZ = timezones.zone(timezones.KAZAKHSTAN)


class CalendarDataError(ValueError):
    """The holiday file is malformed; the message names the row."""


@dataclass(frozen=True)
class DayOff:
    """A day off (or, for kind "workday", a working weekend day) with its names."""

    day: date
    name_en: str
    name_ru: str
    name_kk: str
    kind: str  # one of KINDS, or "moved" for a day off moved from a weekend holiday


class WorkingCalendar:
    """Working days computed from holiday rows; build it once and reuse it."""

    def __init__(self, rows: Iterable[DayOff]):
        self._rows = {row.day: row for row in rows}
        self._years = sorted({day.year for day in self._rows})
        self._by_year: dict[int, dict[date, DayOff]] = {}

    def covered_years(self) -> list[int]:
        """Years that have rows in the data (lunar dates and transfers known)."""
        return list(self._years)

    def day_off(self, day: date) -> DayOff | None:
        """The day off on `day` (a holiday, moved or transferred day), or None."""
        entry = self._year(day.year).get(day)
        return None if entry is None or entry.kind == "workday" else entry

    def is_working_day(self, day: date) -> bool:
        """True on Monday–Friday that are not days off, and on weekend days made working."""
        entry = self._year(day.year).get(day)
        if entry is not None:
            return entry.kind == "workday"
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted); n=0 gives start."""
        if n < 0:
            raise ValueError(f"n must be 0 or more, got {n}")
        day = start
        while n:
            day += timedelta(days=1)
            n -= self.is_working_day(day)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        days = (a + timedelta(days=i) for i in range(1, (b - a).days + 1))
        return sum(self.is_working_day(day) for day in days)

    def _year(self, year: int) -> dict[date, DayOff]:
        """All special days of a year, with weekend holidays moved; computed once."""
        if year not in self._by_year:
            self._by_year[year] = self._compute_year(year)
        return self._by_year[year]

    def _compute_year(self, year: int) -> dict[date, DayOff]:
        rows = [row for row in self._rows.values() if row.day.year == year]
        if not rows and self._years:
            rows = self._fallback_rows(year)
        days = {row.day: row for row in rows}
        for row in sorted(rows, key=lambda r: r.day):
            if row.kind == "fixed" and row.day.weekday() >= 5:
                moved = self._next_free_weekday(row.day, days)
                days[moved] = DayOff(moved, row.name_en, row.name_ru, row.name_kk, "moved")
        return days

    def _fallback_rows(self, year: int) -> list[DayOff]:
        """Days off of a year not in the data file, from python-holidays' Kazakhstan calendar.

        That calendar is maintained (holidays changed by law, Kurban Ait dates, decreed day-off
        transfers and working weekend days), so deadlines stay right after the file runs out.
        Its days already include the days moved off weekends: they are not moved again.
        """
        return source_rows(year)

    @staticmethod
    def _next_free_weekday(holiday: date, days: dict[date, DayOff]) -> date:
        """The first Monday–Friday after `holiday` that is not already a day off."""
        day = holiday + timedelta(days=1)
        while day.weekday() >= 5 or day in days:
            day += timedelta(days=1)
        return day


# Russian names of the holidays python-holidays names in English and Kazakh only.
_RUSSIAN = {
    "New Year's Day": "Новый год",
    "Orthodox Christmas": "Православное Рождество",
    "International Women's Day": "Международный женский день",
    "Constitution Day": "День Конституции",
    "Nowruz Holiday": "Наурыз мейрамы",
    "Kazakhstan's People Solidarity Holiday": "Праздник единства народа Казахстана",
    "Defender of the Fatherland Day": "День защитника Отечества",
    "Victory Day": "День Победы",
    "Eid al-Adha": "Курбан айт",
    "Capital Day": "День столицы",
    "Republic Day": "День Республики",
    "Independence Day": "День Независимости",
}


def source_rows(year: int) -> list[DayOff]:
    """One year of days off (and working weekend days) from python-holidays' KZ calendar."""
    import holidays

    english = holidays.country_holidays("KZ", years=year, language="en_US")
    kazakh = holidays.country_holidays("KZ", years=year, language="kk")
    rows = []
    for day, name in sorted(english.items()):
        base = name.replace(" (observed)", "").replace(" (estimated)", "")
        russian = _RUSSIAN.get(base, name)
        if "(observed)" in name:
            russian += " (перенесённый выходной)"
        rows.append(DayOff(day, name, russian, kazakh.get(day, name), "transfer"))
    for day in sorted(d for d in english.weekend_workdays if d.year == year):
        rows.append(
            DayOff(day, "Working weekend day", "Рабочий выходной", "Жұмыс демалысы", "workday")
        )
    return rows


def load_calendar(path: Path | str = HOLIDAYS_CSV) -> WorkingCalendar:
    """Read a holiday CSV (columns date,name_en,name_ru,name_kk,kind) into a calendar."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [_parse_row(line_no, row) for line_no, row in enumerate(csv.DictReader(handle), 2)]
    _check_unique(rows)
    return WorkingCalendar(rows)


def _parse_row(line_no: int, row: dict[str, str]) -> DayOff:
    try:
        day = date.fromisoformat(row["date"].strip())
    except (KeyError, AttributeError, ValueError):
        message = f"line {line_no}: bad or missing date {row.get('date')!r}"
        raise CalendarDataError(message) from None
    kind = (row.get("kind") or "").strip()
    if kind not in KINDS:
        raise CalendarDataError(f"line {line_no}: kind {kind!r} is not one of {', '.join(KINDS)}")
    names = [(row.get(key) or "").strip() for key in ("name_en", "name_ru", "name_kk")]
    if not all(names):
        raise CalendarDataError(f"line {line_no}: name_en, name_ru and name_kk are required")
    return DayOff(day, *names, kind)


def _check_unique(rows: list[DayOff]) -> None:
    seen: set[date] = set()
    for row in rows:
        if row.day in seen:
            raise CalendarDataError(f"{row.day} is listed twice")
        seen.add(row.day)


@cache
def _default() -> WorkingCalendar:
    return load_calendar()


def is_working_day(day: date) -> bool:
    """True if `day` is a working day in Kazakhstan (five-day week)."""
    return _default().is_working_day(day)


def add_working_days(start_date: date, n: int) -> date:
    """The n-th working day after start_date (start_date not counted)."""
    return _default().add_working_days(start_date, n)


def working_days_between(a: date, b: date) -> int:
    """Working days in (a, b]."""
    return _default().working_days_between(a, b)


def day_off(day: date) -> DayOff | None:
    """The holiday, moved or transferred day off on `day`, for display."""
    return _default().day_off(day)


def covered_years() -> list[int]:
    """Years fully described by the data file."""
    return _default().covered_years()


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got a naive one")


def local_date(instant: datetime) -> date:
    """The calendar date in Kazakhstan at an aware instant."""
    _require_aware(instant, "instant")
    return instant.astimezone(LOCAL_TZ).date()


def end_of_local_day(day: date) -> datetime:
    """Local midnight after `day`, in UTC: the exclusive end of that day."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)
    return midnight.astimezone(UTC)


def last_open_day(end: datetime) -> date:
    """The last local date on which a period ending (exclusively) at `end` is open."""
    return local_date(end - _ONE_MICROSECOND)


def discussion_end(
    start: datetime,
    working_days: int = DEFAULT_DISCUSSION_WORKING_DAYS,
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """Exclusive end of a discussion opening at `start`: end of its last working day."""
    if working_days < 1:
        raise ValueError("a discussion lasts at least one working day")
    calendar = calendar or _default()
    return end_of_local_day(calendar.add_working_days(local_date(start), working_days))


def extend_discussion(
    end: datetime, working_days: int, calendar: WorkingCalendar | None = None
) -> datetime:
    """A new exclusive end, `working_days` working days after the current last day."""
    if working_days < 1:
        raise ValueError("an extension adds at least one working day")
    calendar = calendar or _default()
    return end_of_local_day(calendar.add_working_days(last_open_day(end), working_days))


def answer_deadline(
    closed_at: datetime,
    working_days: int = DEFAULT_ANSWER_WORKING_DAYS,
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """Exclusive deadline to answer comments of a discussion that closed at `closed_at`.

    `closed_at` is the period's end (or the moment staff closed it early). The day of closing is
    the last day the discussion was open, so a close at local midnight belongs to the day before.
    """
    calendar = calendar or _default()
    return end_of_local_day(calendar.add_working_days(last_open_day(closed_at), working_days))


def is_open(start: datetime, end: datetime, now: datetime) -> bool:
    """True while start <= now < end (all aware instants)."""
    for value, name in ((start, "start"), (end, "end"), (now, "now")):
        _require_aware(value, name)
    return start <= now < end
