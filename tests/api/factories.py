"""Factories for households and answers used by the service tests."""

from __future__ import annotations

import itertools
import uuid

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_sequence = itertools.count(1)


def resident_id_number(serial: int | None = None, birth: str = "19700101") -> str:
    """A well-formed 18-character resident ID number (GB 11643 check character)."""
    serial = next(_sequence) if serial is None else serial
    first17 = f"371002{birth}{serial % 1000:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]
    return first17 + check


def household_payload(station_id: int | None, *, name: str = "赵春华", id_number: str | None = None,
                      phone: str = "13912345678", **extra) -> dict:
    body = {"personal": {"name": name, "id_number": id_number or resident_id_number(), "phone": phone},
            "members": [{"relation": "head", "birth_year": 1970, "sex": "female"}], **extra}
    if station_id is not None:
        body["station_id"] = station_id
    return body


def _band(bands, value: float) -> float:
    for band in bands:
        if band.below is None or value < band.below:
            return band.score
    raise AssertionError("bands must end with an open band")


def _least_deprived(indicator):
    spec = indicator.answer
    if spec.type == "yes_no":
        return spec.score_yes < spec.score_no
    if spec.type == "ordinal":
        return min(spec.levels, key=lambda level: level.score).value
    if spec.type == "choice":
        return min(spec.options, key=lambda option: option.score).value
    lowest = min(band.score for band in spec.bands)
    if spec.type == "count":
        return next(v for v in range(spec.min, spec.max + 1) if _band(spec.bands, v) == lowest)
    # amounts: a large value when only the open top band is the lowest (income), else the minimum (costs)
    return min(spec.max, 100000.0) if spec.bands[-1].score == lowest < spec.bands[0].score else spec.min


def calm_answers(catalog) -> dict:
    """Every question answered with its least-deprived answer: the index must be 0, the tier the lowest."""
    return {indicator.id: _least_deprived(indicator) for indicator in catalog.indicators}


def with_answer(answers: dict, **changes) -> dict:
    return {**answers, **changes}


def submission(answers: dict, *, assessed_on: str = "2026-03-01", corrects: int | None = None,
               submission_id: str | None = None) -> dict:
    body = {"submission_id": submission_id or str(uuid.uuid4()), "answers": answers, "assessed_on": assessed_on}
    if corrects is not None:
        body["corrects"] = corrects
    return body
