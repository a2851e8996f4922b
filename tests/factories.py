"""Factories shared by the tests: a small hand-checkable catalog and answer builders."""

from __future__ import annotations

import copy

from assessment.catalog import build_catalog


def label(text: str) -> dict:
    return {"zh": f"{text}(中)", "en": text}


def mini_documents() -> dict:
    """A 3-dimension, 9-indicator catalog small enough to score by hand (see test_scoring.py)."""
    return copy.deepcopy({
        "catalog.yaml": {
            "id": "mini", "version": "1", "label": label("Mini"), "description": label("Test catalog"),
            "settings": {"completeness_threshold": 0.8, "recommend_top_n": 3, "recommend_min_score": 0.5,
                         "af_deprivation_cutoff": 0.5, "af_poverty_cutoff": 0.4, "top_reasons": 3},
        },
        "dimensions.yaml": {"dimensions": [
            {"id": "fam", "label": label("Family"), "weight": 1},
            {"id": "econ", "label": label("Economy"), "weight": 2},
            {"id": "health", "label": label("Health"), "weight": 1},
        ]},
        "need_areas.yaml": {"need_areas": [
            {"id": "basic_living", "label": label("Basic living")},
            {"id": "care", "label": label("Care")},
            {"id": "medical", "label": label("Medical")},
            {"id": "education", "label": label("Education")},
        ]},
        "indicators.yaml": {"indicators": [
            {"id": "fam_size", "dimension": "fam", "label": label("Household size"), "question": label("How many?"),
             "required": True, "weight": 1,
             "answer": {"type": "count", "min": 1, "max": 20, "bands": [{"below": 5, "score": 0}, {"score": 0.5}]}},
            {"id": "fam_alone", "dimension": "fam", "need_areas": ["care"], "label": label("Lives alone"),
             "question": label("Alone?"), "weight": 1,
             "answer": {"type": "yes_no", "score_yes": 1, "score_no": 0}},
            {"id": "fam_children", "dimension": "fam", "label": label("School-age children"),
             "question": label("Children?"), "required": True, "weight": 2,
             "answer": {"type": "count", "min": 0, "max": 10,
                        "bands": [{"below": 1, "score": 0}, {"below": 3, "score": 0.25}, {"score": 0.75}]}},
            {"id": "child_school", "dimension": "fam", "need_areas": ["education"], "label": label("Schooling"),
             "question": label("School?"), "weight": 1,
             "applies_when": [{"indicator": "fam_children", "op": "gt", "value": 0}],
             "answer": {"type": "ordinal", "levels": [
                 {"value": 0, "label": label("In school"), "score": 0},
                 {"value": 1, "label": label("Irregular"), "score": 0.5},
                 {"value": 2, "label": label("Dropped out"), "score": 1}]}},
            {"id": "econ_income", "dimension": "econ", "need_areas": ["basic_living"], "label": label("Income"),
             "question": label("Income?"), "weight": 3,
             "answer": {"type": "amount", "unit": "yuan_per_month", "min": 0, "max": 100000,
                        "per_capita_of": "fam_size", "relative_to": "min_living",
                        "bands": [{"below": 1, "score": 1}, {"below": 1.5, "score": 0.6}, {"score": 0}]}},
            {"id": "econ_debt", "dimension": "econ", "need_areas": ["basic_living"], "label": label("Debt"),
             "question": label("Debt?"), "weight": 1,
             "answer": {"type": "choice", "options": [
                 {"value": "none", "label": label("None"), "score": 0},
                 {"value": "small", "label": label("Small"), "score": 0.5},
                 {"value": "large", "label": label("Large"), "score": 1}]}},
            {"id": "health_chronic", "dimension": "health", "need_areas": ["medical"], "label": label("Illness"),
             "question": label("Ill?"), "weight": 2, "critical": {"at_least_score": 1.0, "tier": "severe"},
             "answer": {"type": "ordinal", "levels": [
                 {"value": 0, "label": label("None"), "score": 0},
                 {"value": 1, "label": label("Mild"), "score": 0.4},
                 {"value": 2, "label": label("Severe"), "score": 1}]}},
            {"id": "health_costs", "dimension": "health", "need_areas": ["medical"], "label": label("Costs"),
             "question": label("Costs?"), "weight": 1,
             "answer": {"type": "amount", "unit": "yuan_per_year", "min": 0, "max": 1000000,
                        "bands": [{"below": 5000, "score": 0}, {"below": 20000, "score": 0.5}, {"score": 1}]}},
            {"id": "health_insured", "dimension": "health", "need_areas": ["medical"], "label": label("Uninsured"),
             "question": label("Insured?"), "weight": 1,
             "answer": {"type": "yes_no", "score_yes": 0, "score_no": 1}},
        ]},
        "services.yaml": {
            "categories": [{"id": "living", "label": label("Living")}, {"id": "care", "label": label("Care")}],
            "services": [
                {"id": "svc_allowance", "category": "living", "label": label("Allowance"),
                 "description": label("Cash"), "need_areas": ["basic_living"], "triggers": ["econ_income"]},
                {"id": "svc_debt", "category": "living", "label": label("Debt advice"),
                 "description": label("Advice"), "need_areas": ["basic_living"], "triggers": ["econ_debt"],
                 "min_score": 1.0},
                {"id": "svc_visits", "category": "care", "label": label("Visits"), "description": label("Visits"),
                 "need_areas": ["care"], "triggers": ["fam_alone"]},
                {"id": "svc_medical", "category": "care", "label": label("Medical aid"),
                 "description": label("Medical"), "need_areas": ["medical"]},
                {"id": "svc_tutoring", "category": "care", "label": label("Tutoring"), "description": label("Tutor"),
                 "need_areas": ["education"], "triggers": ["child_school"],
                 "eligibility": [{"indicator": "fam_children", "op": "gt", "value": 0}],
                 "tiers": ["moderate", "severe"]},
            ],
        },
        "tiers.yaml": {"tiers": [
            {"id": "none", "label": label("None"), "min_index": 0},
            {"id": "light", "label": label("Light"), "min_index": 25},
            {"id": "moderate", "label": label("Moderate"), "min_index": 45},
            {"id": "severe", "label": label("Severe"), "min_index": 65},
        ]},
        "regions.yaml": {
            "parameters": [{"id": "min_living", "label": label("Minimum living standard"), "unit": "yuan/month"}],
            "regions": [
                {"id": "city", "label": label("City"), "values": {2025: {"min_living": 1000}, 2026: {"min_living": 1200}}},
                {"id": "district", "label": label("District"), "parent": "city", "values": {2026: {"min_living": 1500}}},
            ],
        },
        "rules.yaml": {"contradictions": [
            {"id": "alone_with_family", "severity": "warning", "message": label("Lives alone but household > 1"),
             "when": [{"indicator": "fam_alone", "op": "eq", "value": True},
                      {"indicator": "fam_size", "op": "gt", "value": 1}]},
            {"id": "children_exceed_household", "severity": "error", "message": label("More children than members"),
             "when": [{"indicator": "fam_children", "op": "ge", "value_of": "fam_size"}]},
        ]},
    })


def mini_catalog():
    return build_catalog(mini_documents())


def partitioned_households(folder, *, households: int = 2600, parts: int = 22, seed: int = 5,
                           bad_at: int | None = 7, empty_at: int | None = 15):
    """A Parquet data set of synthetic households (default catalog) in `folder`, one file per partition
    (`part-000.parquet`, ...): `parts` partitions of households, plus one of rows with invalid answers at
    position `bad_at` and an empty one at `empty_at`. Returns the folder and the households of every
    partition in order, as one frame (what one process scores)."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from indicators import default_catalog
    from indicators.synth import generate_households, load_spec

    frame = generate_households(default_catalog(), load_spec(), households, seed=seed)
    frame.loc[frame.index[::37], "year"] = 2031  # later than the catalog's last minimum-living standard: warned
    cuts = np.linspace(0, households, parts + 1).astype(int)
    pieces = [frame.iloc[a:b] for a, b in zip(cuts, cuts[1:])]
    if bad_at is not None:
        bad = frame.iloc[:5].copy()
        bad["household_id"] = [f"bad-{k}" for k in range(5)]
        bad["fam_disabled_count"] = pd.array([-5, 1, 0, 0, 0], dtype="Int64")  # out of range
        bad["econ_savings"] = pd.array([0, 9, 0, 0, 0], dtype="Int64")  # no such level
        bad["econ_assistance_status"] = pd.Categorical(["none", "none", "bogus", "none", "none"])  # no such option
        bad["fam_household_size"] = pd.array([2, 2, 2, None, 2], dtype="Int64")  # a required answer missing
        pieces.insert(bad_at, bad)
    if empty_at is not None:
        pieces.insert(empty_at, frame.iloc[:0])
    folder.mkdir(parents=True, exist_ok=True)
    for number, piece in enumerate(pieces):
        piece.to_parquet(folder / f"part-{number:03d}.parquet", index=False)
    return folder, pq.read_table(folder).to_pandas()
