"""The referral status machine of api/referrals/workflow.yaml, checked when it is loaded."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

WORKFLOW_FILE = Path(__file__).with_name("workflow.yaml")


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str


class ReasonLabel(Label):
    system: bool = False


class Side(str, Enum):
    """Who makes a move: the household's station (its caseworker, its town's supervisor) or the provider."""

    station = "station"
    provider = "provider"


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: dict[str, Label]
    open: frozenset[str]
    returned: frozenset[str]
    moves: dict[str, dict[str, Side]]
    reason_required: frozenset[str]
    provider_required: frozenset[str]
    outcome_required: frozenset[str]
    due_days: dict[str, int]
    schedule_in: frozenset[str]
    deliveries_in: frozenset[str]
    feedback_in: frozenset[str]
    outcomes: dict[str, Label]
    reasons: dict[str, dict[str, ReasonLabel]]
    provider_kinds: dict[str, Label]

    @model_validator(mode="after")
    def _consistent(self) -> "Workflow":
        known = set(self.statuses)
        named = {*self.open, *self.returned, *self.moves, *self.reason_required, *self.provider_required,
                 *self.outcome_required, *self.due_days, *self.schedule_in, *self.deliveries_in, *self.feedback_in,
                 *self.reasons, *(to for moves in self.moves.values() for to in moves)}
        if named - known:
            raise ValueError(f"unknown statuses: {', '.join(sorted(named - known))}")
        if set(self.moves) != known:
            raise ValueError("moves must list every status once")
        if set(self.due_days) != set(self.open):
            raise ValueError("due_days must give every open status, and only those, its days")
        if set(self.reasons) != set(self.reason_required):
            raise ValueError("reasons must list the reasons of every status that needs one")
        if any(self.moves[status] for status in known - self.open):
            raise ValueError("a closed status has no moves")
        if any(days < 1 for days in self.due_days.values()):
            raise ValueError("due_days must be at least 1")
        return self

    def status_label(self, status: str) -> Label:
        """The label of a referral status in both languages."""
        return self.statuses[status]

    def allowed(self, status: str) -> tuple[str, ...]:
        """The statuses a referral in `status` may move to, whoever moves it."""
        return tuple(self.moves.get(status, {}))

    def due_at(self, status: str, moved_at: datetime) -> datetime | None:
        """When a referral that moved (in any way) at `moved_at` and is now in `status` is overdue; None once
        it is closed."""
        days = self.due_days.get(status)
        return None if days is None else moved_at + timedelta(days=days)


@lru_cache(maxsize=1)
def workflow() -> Workflow:
    return Workflow.model_validate(yaml.safe_load(WORKFLOW_FILE.read_text(encoding="utf-8")))
