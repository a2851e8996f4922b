"""The referral status machine of api/referrals/workflow.yaml, checked when it is loaded."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

WORKFLOW_FILE = Path(__file__).with_name("workflow.yaml")


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: dict[str, Label]
    open: frozenset[str]
    transitions: dict[str, tuple[str, ...]]
    reason_required: frozenset[str]
    provider_required: frozenset[str]
    provider_kinds: tuple[str, ...]

    @model_validator(mode="after")
    def _known_statuses(self) -> "Workflow":
        known = set(self.statuses)
        named = {*self.open, *self.transitions, *self.reason_required, *self.provider_required,
                 *(to for moves in self.transitions.values() for to in moves)}
        if named - known:
            raise ValueError(f"unknown statuses: {', '.join(sorted(named - known))}")
        if set(self.transitions) != known:
            raise ValueError("transitions must list every status once")
        return self

    def status_label(self, status: str) -> Label:
        """The label of a referral status in both languages."""
        return self.statuses[status]


@lru_cache(maxsize=1)
def workflow() -> Workflow:
    return Workflow.model_validate(yaml.safe_load(WORKFLOW_FILE.read_text(encoding="utf-8")))
