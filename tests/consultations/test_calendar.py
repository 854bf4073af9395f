"""Tests of working days in Kazakhstan and of the discussion and answer instants."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.consultations import calendar as cal
from portal.consultations.calendar import (
    CalendarDataError,
    add_working_days,
    answer_deadline,
    discussion_end,
    extend_discussion,
    is_open,
    is_working_day,
    last_open_day,
    load_calendar,
    local_date,
    working_days_between,
)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# Days off as published for 2025, weekend moves included (five-day week).
DAYS_OFF_2025 = [
    "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-07", "2025-03-10", "2025-03-21",
    "2025-03-24", "2025-03-25", "2025-05-01", "2025-05-07", "2025-05-09", "2025-06-06",
    "2025-07-07", "2025-09-01", "2025-10-27", "2025-12-16",
]  # fmt: skip


def test_2025_weekday_days_off_match_the_published_calendar():
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    off = [d.isoformat() for d in days if d.weekday() < 5 and not is_working_day(d)]
    assert off == DAYS_OFF_2025


def test_2025_working_sunday_from_the_transfer_order():
    assert is_working_day(date(2025, 1, 5))  # Sunday worked, day off moved to Friday 3 January
    assert not is_working_day(date(2025, 1, 3))


@pytest.mark.parametrize(
    "day, working",
    [
        (date(2024, 1, 8), True),  # 7 Jan 2024 was a Sunday: religious days off never move
        (date(2024, 3, 25), False),  # Nauryz 23 Mar 2024 on Saturday, moved to Monday
        (date(2024, 5, 4), True),  # Saturday made working ...
        (date(2024, 5, 8), False),  # ... for Wednesday 8 May
        (date(2024, 6, 17), True),  # Kurban Ait 2024 was Sunday 16 June (muftiate): no day off
        (date(2024, 7, 8), False),  # Capital Day 6 Jul 2024 on Saturday
        (date(2026, 3, 24), False),  # Nauryz 2026: Sat 21 and Sun 22 moved to Tue 24 ...
        (date(2026, 3, 25), False),  # ... and Wed 25
        (date(2026, 3, 26), True),
        (date(2026, 5, 11), False),  # Victory Day 2026 on Saturday
        (date(2026, 5, 27), False),  # Kurban Ait 2026
        (date(2026, 5, 28), True),
        (date(2026, 5, 30), False),  # plain Saturday
    ],
)
def test_known_days(day, working):
    assert is_working_day(day) is working


def test_day_off_names_the_holiday_in_three_languages():
    moved = cal.day_off(date(2025, 3, 24))
    assert (moved.kind, moved.name_en, moved.name_ru) == ("moved", "Nauryz", "Наурыз мейрамы")
    assert cal.day_off(date(2025, 6, 6)).name_kk == "Құрбан айт (бірінші күні)"
    assert cal.day_off(date(2025, 1, 5)) is None  # a working Sunday is no day off
    assert cal.day_off(date(2025, 6, 4)) is None


def test_years_without_data_fall_back_to_fixed_holidays():
    assert 2027 in cal.covered_years()
    assert not is_working_day(date(2030, 12, 16))  # Monday, Independence Day
    assert not is_working_day(date(2030, 1, 7))
    assert is_working_day(date(2030, 12, 17))


def test_add_working_days_skips_weekends_and_holidays():
    # Thursday 20 March 2025: Fri 21 and Mon–Tue 24–25 are Nauryz days off.
    assert add_working_days(date(2025, 3, 20), 1) == date(2025, 3, 26)
    assert add_working_days(date(2025, 3, 20), 0) == date(2025, 3, 20)
    assert add_working_days(date(2025, 6, 2), 10) == date(2025, 6, 17)  # Kurban Ait 6 June
    with pytest.raises(ValueError, match="n must be 0 or more"):
        add_working_days(date(2025, 1, 1), -1)


def test_working_days_between_is_signed_and_excludes_the_start():
    assert working_days_between(date(2025, 6, 2), date(2025, 6, 17)) == 10
    assert working_days_between(date(2025, 6, 17), date(2025, 6, 2)) == -10
    assert working_days_between(date(2025, 6, 7), date(2025, 6, 8)) == 0


_days = st.dates(min_value=date(2023, 6, 1), max_value=date(2028, 6, 30))


@settings(deadline=None, max_examples=200)
@given(_days, st.integers(min_value=1, max_value=60))
def test_add_working_days_lands_on_working_day_and_inverts_counting(start, n):
    end = add_working_days(start, n)
    assert is_working_day(end)
    assert end > start
    assert working_days_between(start, end) == n
    assert add_working_days(start, n + 1) > end


@settings(deadline=None, max_examples=100)
@given(_days, _days, st.integers(min_value=0, max_value=30))
def test_add_working_days_is_monotone_in_the_start(a, b, n):
    if a <= b:
        assert add_working_days(a, n) <= add_working_days(b, n)


def test_local_time_is_utc_plus_five():
    assert local_date(utc(2025, 3, 20, 18, 59, 59)) == date(2025, 3, 20)
    assert local_date(utc(2025, 3, 20, 19, 0, 0)) == date(2025, 3, 21)
    assert cal.LOCAL_TZ.utcoffset(datetime(2025, 1, 1)) == timedelta(hours=5)
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2025, 1, 1))


def test_discussion_end_is_local_midnight_after_the_tenth_working_day():
    start = utc(2025, 6, 2, 4, 0)  # Monday 2 June 09:00 local
    end = discussion_end(start)
    # Tenth working day after 2 June is Tuesday 17 June (6 June is Kurban Ait).
    assert end == utc(2025, 6, 17, 19, 0)  # 18 June 00:00 local
    assert last_open_day(end) == date(2025, 6, 17)


def test_one_second_matters_at_the_end_of_the_period():
    start = utc(2025, 6, 2, 4, 0)
    end = discussion_end(start)
    assert is_open(start, end, end - timedelta(seconds=1))
    assert not is_open(start, end, end)
    assert not is_open(start, end, start - timedelta(seconds=1))
    assert is_open(start, end, start)


def test_start_late_in_the_evening_uses_the_local_date():
    # 19:30 UTC on Sunday 1 June is already Monday 2 June in Kazakhstan.
    assert discussion_end(utc(2025, 6, 1, 19, 30)) == utc(2025, 6, 17, 19, 0)


def test_extension_counts_from_the_current_last_day():
    end = discussion_end(utc(2025, 6, 2, 4, 0))
    new_end = extend_discussion(end, 5)
    assert last_open_day(new_end) == date(2025, 6, 24)
    with pytest.raises(ValueError):
        extend_discussion(end, 0)


def test_answer_deadline_is_fifteen_working_days_after_the_last_open_day():
    end = utc(2025, 6, 17, 19, 0)  # discussion open through 17 June
    deadline = answer_deadline(end)
    assert last_open_day(deadline) == date(2025, 7, 9)  # 7 July is Capital Day (moved)
    assert working_days_between(date(2025, 6, 17), last_open_day(deadline)) == 15
    # Closing early in the afternoon counts that day as the last one.
    assert answer_deadline(utc(2025, 6, 17, 9, 0)) == deadline


def test_malformed_data_file_is_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("date,name_en,name_ru,name_kk,kind\n2025-01-01,A,Б,В,holiday\n")
    with pytest.raises(CalendarDataError, match="line 2: kind 'holiday'"):
        load_calendar(path)
    path.write_text("date,name_en,name_ru,name_kk,kind\n2025-02-30,A,Б,В,fixed\n")
    with pytest.raises(CalendarDataError, match="bad or missing date"):
        load_calendar(path)
    path.write_text("date,name_en,name_ru,name_kk,kind\n" + "2025-01-01,A,Б,В,fixed\n" * 2)
    with pytest.raises(CalendarDataError, match="listed twice"):
        load_calendar(path)


def test_shipped_data_file_covers_2024_to_2027_with_kurban_ait():
    calendar = load_calendar()
    assert calendar.covered_years() == [2024, 2025, 2026, 2027]
    lunar = [date(2024, 6, 16), date(2025, 6, 6), date(2026, 5, 27), date(2027, 5, 16)]
    assert all(calendar.day_off(d).kind == "lunar" for d in lunar)
