"""Showing a household's whole ID number on request: lists show it masked (`3710**********6433`), and a
person who may see it in full asks for it, which is audited. The request is a POST, so the number is never
in an address, a browser's history or an access log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.audit import service as audit
from api.auth.access import Caller, PersonalView, personal_view
from api.errors import forbidden
from api.households.service import load_household
from api.security import Keys, decrypt_json


def reveal_id_number(*, session: Session, caller: Caller, keys: Keys, household_id: int) -> dict:
    """The household's ID number in full, for the caseworkers and supervisors it belongs to (others: 403)."""
    household, station = load_household(session, household_id)
    if personal_view(caller, station.id, station.town_id) is not PersonalView.full:
        raise forbidden()
    audit.record(session, caller, "reveal_id_number", household_id=household.id)
    return {"household_id": household.id, "id_number": decrypt_json(keys, household.personal).get("id_number")}
