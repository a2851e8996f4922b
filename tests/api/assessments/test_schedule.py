"""The re-assessment schedule's month arithmetic."""

from datetime import date

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from api.assessments.schedule import add_months, schedule


def test_month_ends_are_kept_within_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 8, 31), 3) == date(2026, 11, 30)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)
    assert add_months(date(2026, 12, 31), 12) == date(2027, 12, 31)
    assert add_months(date(2026, 3, 1), 0) == date(2026, 3, 1)


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(0, 60))
def test_months_are_added_as_dateutil_and_pandas_add_them(day, months):
    assert add_months(day, months) == day + relativedelta(months=months)
    assert add_months(day, months) == (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


@given(st.lists(st.tuples(st.dates(date(2000, 1, 1), date(2060, 12, 31)),
                          st.sampled_from(["none", "light", "moderate", "severe", "unknown"]),
                          st.booleans()), min_size=1, max_size=20))
def test_one_due_date_and_many_agree(rows):
    rules = schedule()
    days, tiers, provisional = zip(*rows)
    many = rules.due_dates(pd.Series(days), np.array(tiers), np.array(provisional))
    assert list(many) == [rules.due_on(d, t, p) for d, t, p in rows]
