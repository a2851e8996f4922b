"""Mainland resident ID numbers (GB 11643): one normal form, so that the same number always hashes alike.

Every ID number that enters the service (registration, look-up, key rotation, the demo) goes through
`normalise` before it is checked, hashed or stored: Unicode NFKC (fullwidth and superscript digits, the
ideographic space and the fullwidth X become their ASCII forms), the decimal digits of any other script as
ASCII digits, no whitespace, upper case. A valid number is then exactly 17 ASCII digits and a check
character (a digit or X) that fits them.
"""

from __future__ import annotations

import re
import unicodedata
from operator import mul

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
DIGIT_ZERO_SUM = ord("0") * sum(WEIGHTS)  # the weighted sum of the digits' character codes less their values
SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def normalise(text: str) -> str:
    """The normal form of a typed ID number (valid or not)."""
    if text.isascii():  # NFKC and the digits of other scripts change no ASCII text
        return "".join(text.split()).upper()
    composed = unicodedata.normalize("NFKC", text)
    digits = "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in composed)
    return "".join(digits.split()).upper()


def check_character(first17: str) -> str:
    """The check character of the first 17 ASCII digits of an ID number."""
    return CHECK_CHARACTERS[(sum(map(mul, first17.encode("ascii"), WEIGHTS)) - DIGIT_ZERO_SUM) % 11]


def has_shape(number: str) -> bool:
    """Whether a normalised number is 17 ASCII digits and a digit or X."""
    return SHAPE.fullmatch(number) is not None


def is_valid(number: str) -> bool:
    """Whether a normalised number has the shape and the right check character."""
    return has_shape(number) and check_character(number[:17]) == number[17]
