"""Request bodies and responses of the discovery routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import Day, Strict, View


class Refused(View):
    file: str
    row: int = Field(description="the row's number in the file (the header is row 1)")
    column: str
    code: str
    message_zh: str
    message_en: str


class Matching(View):
    matched_by_id_number: int
    matched_by_name_to_confirm: int
    candidates_new: int
    candidates_updated: int


class ImportReport(View):
    source: str
    file_name: str
    rows: int
    added: int = Field(description="new records; 0 when every row was loaded before")
    already_known: int
    refused: list[Refused]
    matching: Matching | None = Field(description="what matching did after the import; null when nothing was added")


class SourceColumns(View):
    id_number: str
    name: str
    birth_date: str
    town: str
    recorded_on: str
    detail: str | None


class SourceView(View):
    id: str
    label_zh: str
    label_en: str
    signal: str
    fresh_days: int
    detail_type: Literal["text", "number"] | None
    columns: SourceColumns


class MatchToConfirm(View):
    record_id: int
    source: str
    signal: str
    detail: str | None
    recorded_on: Day
    household_id: int
    member_id: int | None
    station_id: int
    name: str | None = Field(description="the record's name (masked for a masked view)")
    birth_date: str | None = Field(description="the record's birth date (masked for a masked view)")


class MatchDecision(Strict):
    confirmed: bool = Field(description="true: the record is this household's person; false: someone else")


class MatchDecided(View):
    record_id: int
    household_id: int
    confirmed: bool
