"""A person's name and birth date in the one form matching uses, and the keyed hashes made of them: department
records without an ID number find the households' heads and members by these hashes alone, without decrypting."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from api import id_numbers
from api.security import Keys, keyed

NAME_MARKS = re.compile(r"[\s·•・.\u00b7\u2027]+")


def normal_name(text: str) -> str:
    """A name in one form: NFKC, no spaces or middle dots (维吾尔族 names), lower case for Latin letters."""
    return NAME_MARKS.sub("", unicodedata.normalize("NFKC", text)).lower()


def birth_date_of(id_number: str | None) -> date | None:
    """The birth date an ID number carries (digits 7 to 14), None when it has none."""
    if not id_number or not id_numbers.has_shape(id_number):
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def name_hash(keys: Keys, name_key: str) -> str:
    """The keyed hash of a normal name alone."""
    return keyed(keys, "name\x1f" + name_key)


def name_birth_hash(keys: Keys, name_key: str, born: date) -> str:
    """The keyed hash of a normal name and a birth date."""
    return keyed(keys, "name_birth\x1f" + name_key + "\x1f" + born.isoformat())


def person_hash(keys: Keys, name: str | None, id_number: str | None) -> str | None:
    """What a head or member on file is matched by: the keyed hash of the normal name and the birth date the ID
    number carries, or without one of the normal name alone (`name_hash`, matched together with the member's
    birth year); None without a name."""
    if name is None:
        return None
    born = birth_date_of(id_number)
    return name_birth_hash(keys, normal_name(name), born) if born else name_hash(keys, normal_name(name))
