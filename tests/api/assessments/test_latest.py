"""The latest row's rules: one household's row and a batch's scored columns agree, column by column."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd

from api.assessments.latest import SCORED_BY_CORE, latest_row, scored_columns, scored_fields, services_text
from api.encoding import EncodedObject, dumps_bytes
from api.demo import generated_answers
from assessment import assess, assess_frame
from indicators import default_catalog


def test_a_household_row_and_the_batch_columns_hold_the_same_figures():
    catalog = default_catalog()
    region = next(r.id for r in catalog.regions if r.parent)
    answers = generated_answers(catalog, 300, seed=5)
    days = [date(2026, 1, 1 + k % 28) for k in range(len(answers))]
    frame = pd.DataFrame(answers).assign(household_id=np.arange(len(answers)), region=region,
                                         year=[d.year for d in days])
    batch = assess_frame(catalog, frame)
    assert batch.valid.all()
    columns = scored_columns(catalog, batch, pd.Series(days))
    household = SimpleNamespace(id=1, status="active", station_id=2, town_id=3)
    for k, (given, day) in enumerate(zip(answers, days)):
        result = assess(catalog, given, region=region, year=day.year).as_dict()
        assessment = SimpleNamespace(id=k, region_id=region, assessed_on=day, index=result["index"],
                                     tier=result["tier"], completeness=result["completeness"],
                                     provisional=result["provisional"], result=result,
                                     config_version=result["config_version"])
        row = latest_row(assessment=assessment, previous=None, household=household, catalog=catalog)
        # an import's record carries the columns made beside the scoring, from the result's JSON text
        carried = SimpleNamespace(**vars(assessment), latest_fields=scored_fields(
            EncodedObject(dumps_bytes(result), {}), day, catalog))
        assert latest_row(assessment=carried, previous=None, household=household, catalog=catalog) == row
        batch_row = columns.iloc[k]
        for name in SCORED_BY_CORE:
            expected = json.loads(batch_row[name]) if name == "dimension_scores" else batch_row[name]
            if isinstance(expected, float):
                assert abs(row[name] - expected) < 1e-9, (k, name)
            elif name == "dimension_scores":
                assert row[name].keys() == expected.keys()
                assert all((a is None and b is None) or abs(a - b) < 1e-9
                           for a, b in ((row[name][d], expected[d]) for d in expected)), k
            else:
                assert row[name] == expected, (k, name)


def test_services_are_kept_so_that_one_is_found_exactly():
    assert services_text(["meals", "", "home_care"]) == ";meals;home_care;"
    assert services_text([]) == ""
    assert ";meal;" not in services_text(["meals"])
