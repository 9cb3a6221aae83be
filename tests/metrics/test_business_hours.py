"""BusinessCalendar: the docs/metrics.md §4.4 table, DST, holidays, overrides, properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.lib.business_hours import ALWAYS_OPEN, BusinessCalendar, calendar_for

WEEKDAYS_9_5 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
NY = BusinessCalendar("America/New_York", WEEKDAYS_9_5, ["2025-11-27", "2025-12-25"], name="NY-9-5")


def t(text):
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2025-10-31T16:30:00-04:00", "2025-11-03T09:15:00-05:00", 2700),  # T-108 across DST
        ("2025-10-28T17:00:00-04:00", "2025-10-29T09:00:00-04:00", 0),  # 17:00 outside, 09:00 inside
        ("2025-10-24T18:30:00-04:00", "2025-10-27T09:30:00-04:00", 1800),  # T-102 weekend
        ("2025-11-26T16:00:00-05:00", "2025-11-28T10:00:00-05:00", 7200),  # T-109 holiday
        ("2025-10-30T15:00:00-04:00", "2025-11-03T11:00:00-05:00", 43200),  # T-104 on-hold over DST
        ("2025-10-28T14:00:00-04:00", "2025-10-30T10:30:00-04:00", 45000),  # T-103 full resolution
        ("2025-11-01T10:00:00-04:00", "2025-11-02T10:00:00-05:00", 0),  # weekend only
        ("2025-11-03T08:00:00-05:00", "2025-11-03T08:59:59-05:00", 0),  # before opening
        ("2025-11-03T17:00:00-05:00", "2025-11-03T23:00:00-05:00", 0),  # after closing
        ("2025-11-03T12:00:00-05:00", "2025-11-03T12:00:00-05:00", 0),  # empty
        ("2025-11-03T12:00:00-05:00", "2025-11-03T11:00:00-05:00", 0),  # reversed
    ],
)
def test_biz_seconds_table(a, b, expected):
    assert NY.seconds(t(a), t(b)) == expected


@pytest.mark.parametrize(
    ("a", "secs", "expected"),
    [
        ("2025-11-03T16:00:00-05:00", 14400, "2025-11-04T17:00:00+00:00"),  # T-105 breach
        ("2025-11-03T16:00:00-05:00", 3600, "2025-11-03T22:00:00+00:00"),  # stays at 17:00
        ("2025-11-01T10:00:00-04:00", 60, "2025-11-03T14:01:00+00:00"),  # Saturday -> Monday
        ("2025-11-26T16:00:00-05:00", 7200, "2025-11-28T15:00:00+00:00"),  # skips the holiday
        ("2025-10-29T15:30:00-04:00", 14400, "2025-10-30T15:30:00+00:00"),  # T-104 first reply
        ("2025-11-03T10:00:00-05:00", 0, "2025-11-03T15:00:00+00:00"),  # zero
    ],
)
def test_biz_add_table(a, secs, expected):
    assert NY.add(t(a), secs) == t(expected)


def test_dst_spring_forward_day_is_full_length():
    """2025-03-09 is 23 h long; 09:00-17:00 local is still 8 business hours."""
    cal = BusinessCalendar("America/New_York", {"sun": [["00:00", "24:00"]]})
    day = cal.seconds(t("2025-03-09T00:00:00-05:00"), t("2025-03-10T00:00:00-04:00"))
    assert day == 23 * 3600
    fall = cal.seconds(t("2025-11-02T00:00:00-04:00"), t("2025-11-03T00:00:00-05:00"))
    assert fall == 25 * 3600
    nine_five = BusinessCalendar("America/New_York", {"sun": [["09:00", "17:00"]]})
    assert nine_five.seconds(t("2025-03-09T00:00:00-05:00"), t("2025-03-10T00:00:00-04:00")) == 8 * 3600


def test_holiday_is_a_local_date_not_utc():
    """Thanksgiving closes 2025-11-27 local: 19:00 EST on the 26th is 00:00Z on the 27th and still counts."""
    cal = BusinessCalendar("America/New_York", {d: [["00:00", "24:00"]] for d in ("wed", "thu")}, ["2025-11-27"])
    assert cal.seconds(t("2025-11-26T19:00:00-05:00"), t("2025-11-27T05:00:00+00:00")) == 5 * 3600


def test_override_replaces_the_day_and_can_open_a_holiday():
    cal = BusinessCalendar(
        "America/New_York",
        WEEKDAYS_9_5,
        ["2025-12-25", "2025-12-26"],
        [{"date": "2025-12-24", "hours": [["09:00", "13:00"]]}, {"date": "2025-12-26", "hours": [["10:00", "12:00"]]}],
    )
    assert cal.seconds(t("2025-12-24T00:00:00-05:00"), t("2025-12-25T00:00:00-05:00")) == 4 * 3600
    assert cal.seconds(t("2025-12-25T00:00:00-05:00"), t("2025-12-26T00:00:00-05:00")) == 0
    assert cal.seconds(t("2025-12-26T00:00:00-05:00"), t("2025-12-27T00:00:00-05:00")) == 2 * 3600
    assert cal.add(t("2025-12-24T12:00:00-05:00"), 3600) == t("2025-12-24T13:00:00-05:00")
    assert cal.add(t("2025-12-24T12:00:00-05:00"), 3601) == t("2025-12-26T10:00:01-05:00")


def test_split_day_and_weekend_hours():
    cal = BusinessCalendar(
        "Europe/Paris", {"mon": [["13:00", "17:00"], ["08:00", "12:00"]], "sat": [["10:00", "11:00"]]}
    )
    assert cal.seconds(t("2025-11-03T00:00:00+01:00"), t("2025-11-04T00:00:00+01:00")) == 8 * 3600
    assert cal.add(t("2025-11-03T11:30:00+01:00"), 3600) == t("2025-11-03T13:30:00+01:00")
    assert cal.seconds(t("2025-11-08T00:00:00+01:00"), t("2025-11-09T00:00:00+01:00")) == 3600


def test_far_queries_grow_the_materialised_range():
    """Twelve years: 626 weeks of 40 h minus the two weekday holidays of 2025."""
    a, b = t("2019-01-07T09:00:00-05:00"), t("2031-01-06T09:00:00-05:00")
    weeks = (b - a).days // 7
    assert weeks == 626
    total = NY.seconds(a, b)
    assert total == weeks * 5 * 8 * 3600 - 2 * 8 * 3600
    # The inverse lands on the last business instant, Fri 2031-01-03 17:00 EST.
    assert NY.add(a, total) == t("2031-01-03T17:00:00-05:00")


def test_always_open_and_calendar_for_none():
    assert calendar_for(None) is ALWAYS_OPEN
    a = t("2025-11-01T10:00:00-04:00")
    assert ALWAYS_OPEN.seconds(a, a + timedelta(hours=30)) == 30 * 3600
    assert ALWAYS_OPEN.add(a, 90) == a + timedelta(seconds=90)


def test_from_model_reads_calendar_row_fields():
    class Row:
        name = "r"
        timezone = "America/New_York"
        hours = WEEKDAYS_9_5
        holidays = ["2025-11-27"]
        overrides = [{"date": "2025-11-28", "hours": []}]

    cal = calendar_for(Row())
    assert cal.seconds(t("2025-11-26T16:00:00-05:00"), t("2025-12-01T10:00:00-05:00")) == 7200


instants = st.integers(
    min_value=int(t("2024-01-01T00:00:00+00:00").timestamp()), max_value=int(t("2026-12-31T00:00:00+00:00").timestamp())
).map(lambda s: datetime.fromtimestamp(s, tz=UTC))
TZ_CALS = [
    NY,
    BusinessCalendar("Europe/London", {"mon": [["00:30", "02:30"]], "sun": [["00:00", "03:00"]]}, ["2025-03-30"]),
    BusinessCalendar("Australia/Lord_Howe", {d: [["01:00", "23:00"]] for d in ("sat", "sun", "mon")}),
]


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants, c=instants, which=st.integers(0, len(TZ_CALS) - 1))
def test_additivity(a, b, c, which):
    cal = TZ_CALS[which]
    a, b, c = sorted((a, b, c))
    assert cal.seconds(a, c) == pytest.approx(cal.seconds(a, b) + cal.seconds(b, c), abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(a=instants, secs=st.integers(0, 90 * 24 * 3600), which=st.integers(0, len(TZ_CALS) - 1))
def test_add_is_the_inverse_of_seconds(a, secs, which):
    cal = TZ_CALS[which]
    end = cal.add(a, secs)
    assert end >= a
    assert cal.seconds(a, end) == pytest.approx(secs, abs=1e-6)
    if secs > 0:
        # earliest: one second earlier the clock has not reached the target
        assert cal.seconds(a, end - timedelta(seconds=1)) < secs


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants)
def test_matches_per_minute_brute_force(a, b):
    """Closed form == counting minutes whose local wall time is in hours (NY 9-5)."""
    a = a.replace(second=0)
    b = a + (b - a) % timedelta(days=9)
    b = b.replace(second=0)
    minutes = 0
    cur = a
    while cur < b:
        local = cur.astimezone(NY.zone)
        if (
            local.weekday() < 5
            and 9 <= local.hour < 17
            and local.date().isoformat() not in ("2025-11-27", "2025-12-25")
        ):
            minutes += 1
        cur += timedelta(minutes=1)
    assert NY.seconds(a, b) == minutes * 60


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants, which=st.integers(0, len(TZ_CALS) - 1))
def test_seconds_ts_is_exactly_the_difference_of_cum(a, b, which):
    """`seconds_ts` (its `cum` inlined for the rebuild's speed) is bit for bit `cum(b) - cum(a)`."""
    cal = TZ_CALS[which]
    x, y = sorted((a.timestamp(), b.timestamp()))
    got = cal.seconds_ts(x, y)  # first: it materialises both instants (cum's origin is then fixed)
    assert got == (cal.cum(y) - cal.cum(x) if y > x else 0.0)
    assert cal.seconds_ts(x + 0.5, y) == (cal.cum(y) - cal.cum(x + 0.5) if y > x + 0.5 else 0.0)
