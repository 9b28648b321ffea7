"""Days and times in English, Swahili and Sheng, resolved against a fixed local `now`."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from actions.dates import (
    DateSpan,
    format_day,
    format_moment,
    format_time,
    parse_date,
    parse_time,
    swahili_hour,
)
from kit.clock import local_now

NAIROBI = ZoneInfo("Africa/Nairobi")
# Wednesday 18 November 2026, 09:30 in Nairobi.
NOW = datetime(2026, 11, 18, 9, 30, tzinfo=NAIROBI)


def day(d: int, month: int = 11, year: int = 2026) -> DateSpan:
    return DateSpan(date(year, month, d), date(year, month, d))


@pytest.mark.parametrize("text, expected", [
    ("leo", day(18)), ("today", day(18)), ("Leo jioni", day(18)), ("tonight", day(18)),
    ("kesho", day(19)), ("tomorrow", day(19)), ("tmrw", day(19)), ("tomoro", day(19)),
    ("kesho kutwa", day(20)), ("keshokutwa", day(20)), ("day after tomorrow", day(20)),
    ("jana", day(17)),
])
def test_relative_days(text, expected):
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("text, expected", [
    ("Jumatatu", day(23)), ("jumanne", day(24)), ("jumatano", day(18)), ("alhamisi", day(19)),
    ("ijumaa", day(20)), ("jumamosi", day(21)), ("juma mosi", day(21)), ("jumaa tatu", day(23)),
    ("jumapili", day(22)),
    ("monday", day(23)), ("mon", day(23)), ("Tuesday", day(24)), ("thurs", day(19)),
    ("friday", day(20)), ("on sunday", day(22)), ("this saturday", day(21)),
    ("sato", day(21)), ("satoo", day(21)), ("sande", day(22)), ("sunday", day(22)),
])
def test_weekdays_in_three_languages_are_the_next_occurrence(text, expected):
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("text, expected", [
    ("next friday", day(20)), ("Ijumaa ijayo", day(20)),
    # Today's own name is today; with "next" it is a week on.
    ("wednesday", day(18)), ("next wednesday", day(25)), ("jumatano ijayo", day(25)),
])
def test_next_weekday(text, expected):
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("text, expected", [
    ("jumatatu ya wiki ijayo", day(23)), ("friday next week", day(27)),
    ("ijumaa wiki ijayo", day(27)), ("wednesday next week", day(25)),
    ("in 2 days", day(20)), ("baada ya siku tatu", day(21)), ("in three days", day(21)),
])
def test_a_day_of_next_week_and_days_from_now(text, expected):
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("text, first, last", [
    ("wiki ijayo", date(2026, 11, 23), date(2026, 11, 29)),
    ("next week", date(2026, 11, 23), date(2026, 11, 29)),
    ("this week", date(2026, 11, 18), date(2026, 11, 22)),
    ("wiki hii", date(2026, 11, 18), date(2026, 11, 22)),
    ("this weekend", date(2026, 11, 21), date(2026, 11, 22)),
    ("wikendi", date(2026, 11, 21), date(2026, 11, 22)),
])
def test_weeks_and_weekends_are_spans(text, first, last):
    found = parse_date(text, NOW)
    assert (found.first, found.last) == (first, last)
    assert not found.single


def test_a_weekend_asked_on_sunday_is_today():
    sunday = datetime(2026, 11, 22, 8, 0, tzinfo=NAIROBI)
    assert parse_date("this weekend", sunday) == day(22)


@pytest.mark.parametrize("text, expected", [
    ("15th", day(15, 12)),  # the 15th has passed this month: next month
    ("the 20th", day(20)), ("20th", day(20)), ("tarehe 20", day(20)), ("tarehe 18", day(18)),
    ("15/12", day(15, 12)), ("15-12", day(15, 12)), ("15/12/2026", day(15, 12)),
    ("5/1", day(5, 1, 2027)),  # 5 January: next year
    ("15 dec", day(15, 12)), ("15th December", day(15, 12)), ("december 20th", day(20, 12)),
    ("25th december", day(25, 12)), ("dec 15", day(15, 12)), ("20 desemba", day(20, 12)),
    ("tarehe 3 januari", day(3, 1, 2027)), ("2026-12-01", day(1, 12)),
])
def test_calendar_dates(text, expected):
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "hello", "15", "31/02", "saa nne", "10am", "size 42"])
def test_not_a_date(text):
    assert parse_date(text, NOW) is None


def test_day_in_month_that_does_not_exist_this_month_rolls_over():
    january_end = datetime(2027, 1, 31, 12, 0, tzinfo=NAIROBI)
    assert parse_date("the 30th", january_end) == day(30, 3, 2027)  # no 30 February


@pytest.mark.parametrize("text, hour, minute", [
    ("10am", 10, 0), ("10 am", 10, 0), ("10:30", 10, 30), ("10.30", 10, 30), ("3pm", 15, 0),
    ("3:30 pm", 15, 30), ("3:30 p.m.", 15, 30), ("12pm", 12, 0), ("12am", 0, 0), ("14:00", 14, 0),
    ("noon", 12, 0), ("half past ten", 10, 30), ("quarter to four", 15, 45),
    ("10 oclock", 10, 0), ("at 4", 16, 0), ("at 9", 9, 0), ("7 in the evening", 19, 0),
    ("10 in the morning", 10, 0), ("saa 10am", 10, 0), ("tomorrow at 2pm", 14, 0),
])
def test_english_clock_times(text, hour, minute):
    assert parse_time(text, NOW) == parse_time_exact(hour, minute)


def parse_time_exact(hour, minute):
    from actions.dates import exact
    return exact(hour, minute)


@pytest.mark.parametrize("text, hour, minute", [
    ("saa nne asubuhi", 10, 0), ("saa moja asubuhi", 7, 0), ("saa sita mchana", 12, 0),
    ("saa saba mchana", 13, 0), ("saa nane mchana", 14, 0), ("saa tisa alasiri", 15, 0),
    ("saa kumi jioni", 16, 0), ("saa kumi na mbili jioni", 18, 0), ("saa moja usiku", 19, 0),
    ("saa mbili usiku", 20, 0), ("saa sita usiku", 0, 0), ("saa kumi alfajiri", 4, 0),
    ("saa kumi na mbili asubuhi", 6, 0),
    # No part of day: a business hour.
    ("saa tatu", 9, 0), ("saa nne", 10, 0), ("saa 4", 10, 0), ("saa kumi", 16, 0),
    ("saa tisa", 15, 0), ("saa mbili", 8, 0), ("kesho saa tatu", 9, 0),
    # The part of day decides: saa tatu usiku is 9 pm, not 9 am.
    ("saa tatu usiku", 21, 0), ("saa 4 asubuhi", 10, 0), ("saa 2 usiku", 20, 0),
    # Minutes.
    ("saa tatu na nusu", 9, 30), ("saa nne na robo asubuhi", 10, 15),
    ("saa tano kasoro robo", 10, 45), ("saa nne na dakika 10", 10, 10), ("saa 4:30", 10, 30),
    # A 24-hour clock after "saa" stays as written.
    ("saa 14:30", 14, 30),
])
def test_swahili_hours_count_from_sunrise(text, hour, minute):
    assert parse_time(text, NOW) == parse_time_exact(hour, minute)


@pytest.mark.parametrize("text, start, end", [
    ("asubuhi", time(6), time(12)), ("morning", time(6), time(12)),
    ("in the morning", time(6), time(12)), ("mchana", time(12), time(16)),
    ("afternoon", time(12), time(17)), ("this afternoon", time(12), time(17)),
    ("jioni", time(16), time(20)), ("evening", time(16), time(20)),
    ("usiku", time(19), time(23, 59)), ("after 4", time(16), time(23, 59)),
    ("after 4pm", time(16), time(23, 59)), ("baada ya saa nane", time(14), time(23, 59)),
    ("before 11am", time(6), time(11)),
])
def test_parts_of_day_are_ranges(text, start, end):
    found = parse_time(text, NOW)
    assert (found.start, found.end, found.exact) == (start, end, False)


def test_right_now_is_the_next_two_hours_and_needs_a_clock():
    found = parse_time("saa hii", NOW)
    assert (found.start, found.end, found.exact) == (time(9, 30), time(11, 30), False)
    assert parse_time("right now", None) is None


@pytest.mark.parametrize("text", ["", "kesho", "size 42", "the 15th", "15/12", "2 pairs",
                                  "saa ngapi?"])
def test_not_a_time(text):
    assert parse_time(text, NOW) is None


def test_a_range_contains_its_times_and_an_exact_time_only_itself():
    assert parse_time("asubuhi", NOW).contains(time(9))
    assert not parse_time("asubuhi", NOW).contains(time(12))
    assert parse_time("after 4", NOW).contains(time(23, 59))
    assert parse_time("10am", NOW).contains(time(10)) and not parse_time("10am").contains(time(11))


@pytest.mark.parametrize("number, part, hour", [
    (1, None, 7), (6, None, 12), (12, None, 18), (4, "asubuhi", 10), (9, "alasiri", 15),
    (2, "usiku", 20), (8, "usiku", 2),
])
def test_swahili_hour_rule(number, part, hour):
    assert swahili_hour(number, part) == hour


@pytest.mark.parametrize("moment, language, text", [
    (datetime(2026, 11, 21, 10, 0), "sw", "Jumamosi 21/11 saa nne asubuhi (10:00)"),
    (datetime(2026, 11, 21, 10, 0), "sheng", "Jumamosi 21/11 saa nne asubuhi (10:00)"),
    (datetime(2026, 11, 21, 10, 0), "en", "Sat 21/11, 10:00 am"),
    (datetime(2026, 11, 23, 15, 30), "sw", "Jumatatu 23/11 saa tisa na nusu alasiri (15:30)"),
    (datetime(2026, 11, 23, 15, 30), "en", "Mon 23/11, 3:30 pm"),
    (datetime(2026, 11, 22, 12, 0), "sw", "Jumapili 22/11 saa sita mchana (12:00)"),
    (datetime(2026, 11, 22, 20, 0), "sw", "Jumapili 22/11 saa mbili usiku (20:00)"),
    (datetime(2026, 11, 22, 17, 45), "sw",
     "Jumapili 22/11 saa kumi na mbili kasoro robo jioni (17:45)"),
])
def test_moments_are_shown_in_the_customers_language(moment, language, text):
    assert format_moment(moment, language) == text


def test_every_formatted_swahili_time_parses_back_to_itself():
    for hour in range(6, 22):
        for minute in (0, 15, 30):
            shown = format_time(time(hour, minute), "sw")
            assert parse_time(shown.split(" (")[0], NOW) == parse_time_exact(hour, minute), shown


def test_format_day_and_local_now():
    assert format_day(date(2026, 11, 20), "en") == "Fri 20/11"
    assert format_day(date(2026, 11, 20), None) == "Fri 20/11"
    utc = datetime(2026, 11, 18, 22, 30, tzinfo=ZoneInfo("UTC"))
    assert local_now("Africa/Nairobi", utc).date() == date(2026, 11, 19)
    assert local_now("Not/AZone", utc).utcoffset().total_seconds() == 3 * 3600
