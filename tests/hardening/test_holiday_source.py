"""The working-day calendar against a maintained source: python-holidays' Kazakhstan calendar
(holidays changed by law, Kurban Ait, decreed day-off transfers and working weekend days).

The shipped file must agree with it day by day for every year it covers; years after the file
are taken from it, so deadlines stay right once the file runs out.
"""

from datetime import date, timedelta

import holidays
import pytest

from portal.consultations import calendar as cal


def _days(year):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize("year", cal.load_calendar().covered_years())
def test_the_data_file_agrees_with_python_holidays(year):
    source = holidays.country_holidays("KZ", years=year)
    ours = cal.load_calendar()
    wrong = [
        f"{day} {day:%a}: file says {'working' if ours.is_working_day(day) else 'off'}, "
        f"python-holidays says {source.get(day) or 'working'}"
        for day in _days(year)
        if ours.is_working_day(day) != source.is_working_day(day)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("year", [2028, 2029, 2030])
def test_years_after_the_file_come_from_python_holidays(year):
    assert year > max(cal.covered_years())
    source = holidays.country_holidays("KZ", years=year)
    ours = cal.load_calendar()
    assert [d for d in _days(year) if ours.is_working_day(d) != source.is_working_day(d)] == []


def test_decreed_transfers_are_in_both():
    # 2025: Sunday 5 January worked for Friday 3 January off (government decree).
    source = holidays.country_holidays("KZ", years=2025)
    assert date(2025, 1, 5) in source.weekend_workdays and date(2025, 1, 3) in source
    assert cal.is_working_day(date(2025, 1, 5)) and not cal.is_working_day(date(2025, 1, 3))


def test_a_deadline_in_2028_skips_nauryz_and_names_it():
    # Nauryz 21–23 March 2028 (Tuesday to Thursday) are days off.
    assert cal.add_working_days(date(2028, 3, 20), 1) == date(2028, 3, 24)
    assert cal.day_off(date(2028, 3, 22)).name_ru == "Наурыз мейрамы"
    assert cal.day_off(date(2028, 3, 22)).name_kk
