"""ID numbers in one normal form: worked examples of each kind of digit, and the GB 11643 check."""

from __future__ import annotations

import pytest

from api import id_numbers

ASCII = "11010119500307126X"


@pytest.mark.parametrize("typed", [
    "11010119500307126X", "11010119500307126x", " 110101 19500307 126x ",
    "１１０１０１１９５００３０７１２６Ｘ",  # fullwidth
    "¹¹⁰¹⁰¹¹⁹⁵⁰⁰³⁰⁷¹²⁶X",  # superscript
    "١١٠١٠١١٩٥٠٠٣٠٧١٢٦X",  # Arabic-Indic
    "۱۱۰۱۰۱۱۹۵۰۰۳۰۷۱۲۶x",  # Extended Arabic-Indic (Persian)
    "११०१०११९५००३०७१२६X",  # Devanagari
    "110101\u300019500307\u00a0126X",  # ideographic and no-break spaces
])
def test_every_way_of_writing_the_digits_gives_the_ascii_number(typed):
    assert id_numbers.normalise(typed) == ASCII
    assert id_numbers.is_valid(id_numbers.normalise(typed))


@pytest.mark.parametrize("typed", ["11010119500307126Ｙ", "110101195003071a6X", "11010119500307122Y",
                                   "110101-19500307122", "1101011950030712", "\ud800" * 18,
                                   "110101195003071227" + "0", "", "Ⅻ" * 9])
def test_what_is_not_17_digits_and_a_check_character_has_no_shape(typed):
    assert not id_numbers.has_shape(id_numbers.normalise(typed))


def test_circled_digits_are_digits_after_nfkc():
    assert id_numbers.normalise("①①⓪①⓪①①⑨⑤⓪⓪③⓪⑦①②⑥X") == ASCII


def test_the_check_character_of_a_worked_example():
    # 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 1*4 + 1*2 + 9*1 + 5*6 + 0*3 + 0*7 + 3*9 + 0*10 + 7*5 + 1*8 + 2*4 + 2*2 = 148;
    # 148 mod 11 = 5, and the table 1 0 X 9 8 7 6 5 4 3 2 gives 7 at position 5
    assert id_numbers.check_character("11010119500307122") == "7"
    assert id_numbers.is_valid("110101195003071227") and not id_numbers.is_valid("110101195003071228")
    # 11010119500307126: 156 mod 11 = 2, and position 2 of the table is X
    assert id_numbers.check_character("11010119500307126") == "X"
