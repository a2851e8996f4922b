"""A household's members as persons: relation, birth year and sex in plain form; name and ID number encrypted
like a household's personal data, the ID number also as its keyed hash, so that the same person in two
households (or registered again at another station, 跑站) is found like a duplicate household."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api import id_numbers
from api.auth.access import PersonalView
from api.errors import Invalid
from api.households.tables import HouseholdMember
from api.persons import person_hash
from api.security import Keys, decrypt_json, encrypt_json, id_number_hash, mask


def check_id_number(id_number: str, path: str = "personal.id_number") -> str:
    """The normalised ID number (`api.id_numbers`), or Invalid naming what is wrong."""
    number = id_numbers.normalise(id_number)
    if not id_numbers.has_shape(number):
        raise Invalid("invalid_id_number", "The ID number must be 18 characters: 17 digits and a digit or X.",
                      "身份证号码须为 18 位:17 位数字加 1 位数字或 X。", path=path)
    if not id_numbers.is_valid(number):
        raise Invalid("invalid_id_number", "The ID number's check character is wrong.",
                      "身份证号码校验位错误。", path=path)
    return number


def checked_members(members: list[dict]) -> list[dict]:
    """The members with their names stripped (blank: none) and their ID numbers in the normal form (checked;
    blank: none); the same number twice in the list is a 422 naming the second."""
    checked, seen = [], {}
    for position, member in enumerate(members):
        member = dict(member)
        name, number = member.get("name"), member.get("id_number")
        member["name"] = name.strip() if isinstance(name, str) and name.strip() else None
        member["id_number"] = None
        if isinstance(number, str) and number.strip():
            path = f"members.{position}.id_number"
            member["id_number"] = check_id_number(number, path=path)
            if member["id_number"] in seen:
                raise Invalid("repeated_id_number", f"Members {seen[member['id_number']]} and {position} have the "
                              "same ID number.", f"成员 {seen[member['id_number']]} 与成员 {position} 的身份证号码相同。",
                              path=path)
            seen[member["id_number"]] = position
        checked.append(member)
    return checked


def member_hashes(keys: Keys, members: list[dict]) -> dict[str, str]:
    """The keyed hash of each member's ID number, by the field's path (`checked_members` first)."""
    return {f"members.{position}.id_number": id_number_hash(keys, member["id_number"])
            for position, member in enumerate(members) if member["id_number"]}


def write_members(session: Session, keys: Keys, household, members: list[dict]) -> None:
    """Store a household's members (checked), in order: the member at each position keeps its row (and id)."""
    household_id = household.id
    stored = {row.position: row for row in session.scalars(select(HouseholdMember)
                                                           .where(HouseholdMember.household_id == household_id))}
    for position, member in enumerate(members):
        row = stored.get(position) or HouseholdMember(household_id=household_id, position=position)
        row.relation, row.birth_year, row.sex = member["relation"], member.get("birth_year"), member.get("sex")
        personal = {"name": member["name"], "id_number": member["id_number"]}
        row.personal = encrypt_json(keys, personal) if any(personal.values()) else None
        row.id_number_hash = id_number_hash(keys, member["id_number"]) if member["id_number"] else None
        row.name_birth_hash = person_hash(keys, member["name"], member["id_number"])
        session.add(row)
    session.execute(delete(HouseholdMember).where(HouseholdMember.household_id == household_id,
                                                  HouseholdMember.position >= len(members)))
    session.flush()
    session.expire(household, ["members"])


def member_view(member: HouseholdMember, view: PersonalView, keys: Keys) -> dict:
    """A member as the caller may see them: name and ID number in full or masked like the household's."""
    personal = decrypt_json(keys, member.personal) if member.personal else {}
    name, number = personal.get("name"), personal.get("id_number")
    if view is PersonalView.masked:
        name, number = mask(name, 1, 0), mask(number, 0, 4)
    return {"id": member.id, "relation": member.relation, "birth_year": member.birth_year, "sex": member.sex,
            "name": name, "id_number": number}
