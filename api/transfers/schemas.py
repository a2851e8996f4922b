"""Request bodies and responses of the transfer routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import RowId, Strict, Timestamp, View


class TransferRequest(Strict):
    to_station_id: RowId = Field(description="the station that is to serve the household")
    kind: Literal["move", "residence"] = Field(
        description="`move`: it moves, and is registered there too; `residence` (人户分离): it lives there, "
                    "registered where it was (that station still reads it)")
    reason: str = Field(min_length=1, max_length=500, examples=["Moved in with her daughter in 环翠区"])


class TransferDecision(Strict):
    decision: Literal["accepted", "refused", "cancelled"] = Field(
        description="the receiving side accepts or refuses (with a reason); the sending side cancels")
    reason: str | None = Field(None, max_length=500, description="required to refuse")


# Responses


class Transfer(View):
    id: int
    household_id: int
    kind: Literal["move", "residence"]
    from_station_id: int
    to_station_id: int
    status: Literal["requested", "accepted", "refused", "cancelled"]
    reason: str
    decision_reason: str | None
    requested_by: int
    requested_at: Timestamp
    decided_by: int | None
    decided_at: Timestamp | None


class TransferPage(View):
    total: int
    limit: int
    offset: int
    items: list[Transfer]
