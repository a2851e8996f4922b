"""The workflow tables of api/data/workflows.yaml: referral transitions, re-assessment schedule, exits."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import yaml

WORKFLOWS_FILE = Path(__file__).resolve().parent.parent / "data" / "workflows.yaml"


class Label(NamedTuple):
    zh: str
    en: str


@dataclass(frozen=True)
class Workflows:
    status_labels: dict[str, Label]
    open_statuses: frozenset[str]
    transitions: dict[str, tuple[str, ...]]
    reason_required: frozenset[str]
    months_by_tier: dict[str, int]
    default_months: int
    low_completeness_months: int
    exit_reasons: tuple[str, ...]
    provider_kinds: tuple[str, ...]

    def status_label(self, status: str) -> Label:
        """The label of a referral status in both languages."""
        return self.status_labels[status]

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
def workflows() -> Workflows:
    data = yaml.safe_load(WORKFLOWS_FILE.read_text(encoding="utf-8"))
    referrals, schedule = data["referrals"], data["reassessment"]
    return Workflows(
        status_labels={status: Label(label["zh"], label["en"]) for status, label in referrals["statuses"].items()},
        open_statuses=frozenset(referrals["open"]),
        transitions={k: tuple(v) for k, v in referrals["transitions"].items()},
        reason_required=frozenset(referrals["reason_required"]),
        months_by_tier=dict(schedule["months_by_tier"]), default_months=int(schedule["default_months"]),
        low_completeness_months=int(schedule["low_completeness_months"]),
        exit_reasons=tuple(data["exit_reasons"]), provider_kinds=tuple(data["provider_kinds"]))
