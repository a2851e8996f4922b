"""The re-assessment schedule of api/assessments/schedule.yaml: when a household's next assessment is due."""

from __future__ import annotations

import calendar
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

SCHEDULE_FILE = Path(__file__).with_name("schedule.yaml")


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    months_by_tier: dict[str, int] = Field(description="months until due, by the latest assessment's tier")
    default_months: int = Field(ge=1)
    low_completeness_months: int = Field(ge=1, description="at most this soon after a provisional result")

    def months_until_due(self, tier: str, provisional: bool) -> int:
        months = self.months_by_tier.get(tier, self.default_months)
        return min(months, self.low_completeness_months) if provisional else months

    def due_on(self, assessed_on: date, tier: str, provisional: bool) -> date:
        """When the next assessment is due: by the tier's schedule, sooner when the result was provisional."""
        return add_months(assessed_on, self.months_until_due(tier, provisional))

    def due_dates(self, assessed_on: pd.Series, tiers: np.ndarray, provisional: np.ndarray) -> np.ndarray:
        """`due_on` for many assessments at once (one vectorised month shift per distinct interval)."""
        months = np.array([self.months_by_tier.get(t, self.default_months) for t in tiers], dtype=np.int64) \
            if len(tiers) else np.zeros(0, dtype=np.int64)
        months = np.where(provisional, np.minimum(months, self.low_completeness_months), months)
        dates = pd.to_datetime(pd.Series(assessed_on)).reset_index(drop=True)
        due = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns]")
        for value in np.unique(months):
            chosen = months == value
            due[chosen] = dates[chosen] + pd.DateOffset(months=int(value))
        return due.dt.date.to_numpy()


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; a day the target month lacks becomes its last (31 January + 1 = 28 or 29
    February)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=1)
def schedule() -> Schedule:
    return Schedule.model_validate(yaml.safe_load(SCHEDULE_FILE.read_text(encoding="utf-8")))
