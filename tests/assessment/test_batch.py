"""The DataFrame path gives the single-household path's figures, findings included."""

import numpy as np
import pandas as pd
import pytest

from assessment import AnswersInvalid, CoreError, assess, assess_frame, deprivation_matrix, validate_answers
from indicators import default_catalog
from tests.factories import mini_catalog

MINI = mini_catalog()
META = ("household_id", "region", "year", "town_id", "station_id")


def messy_frame(n: int, seed: int) -> pd.DataFrame:
    """Mini-catalog answers in every accepted spelling, with missing, invalid and contradictory ones."""
    rng = np.random.default_rng(seed)

    def pick(options, p=None):
        return [options[i] for i in rng.choice(len(options), size=n, p=p)]

    return pd.DataFrame({
        "household_id": [f"h{k:05d}" for k in range(n)],
        "region": pick(["city", "district", None, "atlantis"], [0.5, 0.4, 0.05, 0.05]),
        "year": pick([2025, 2026, 2020], [0.45, 0.45, 0.1]),
        "fam_size": pick([1, 2, 3, 5, 8, None, 0], [0.2, 0.2, 0.2, 0.2, 0.15, 0.03, 0.02]),
        "fam_alone": pick([True, False, None, "yes", "否", "maybe", 1], [0.25, 0.35, 0.1, 0.1, 0.1, 0.05, 0.05]),
        "fam_children": pick([0, 1, 2, 3], None),
        "child_school": pick([0, 1, 2, None, 5, "2"], [0.3, 0.2, 0.2, 0.2, 0.05, 0.05]),
        "econ_income": list(np.where(rng.random(n) < 0.1, np.nan, rng.uniform(-100, 6000, n))),
        "econ_debt": pick(["none", "small", "large", None, "huge", ""], [0.3, 0.3, 0.2, 0.1, 0.05, 0.05]),
        "health_chronic": pick([0, 1, 2, None], None),
        "health_costs": list(np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 40000, n))),
        "health_insured": pick([True, False, None, "no"], None),
    })


def split(row: dict):
    answers = {k: v for k, v in row.items() if k not in META}
    return answers, row["region"], row["year"]


def assert_same(batch_row, single):
    assert batch_row["index"] == single.index
    assert batch_row["index_low"] == single.index_low and batch_row["index_high"] == single.index_high
    assert batch_row["completeness"] == pytest.approx(single.completeness, abs=1e-12)
    assert bool(batch_row["provisional"]) == single.provisional
    assert batch_row["tier"] == single.tier and batch_row["tier_from_index"] == single.tier_from_index
    assert batch_row["raised_by"] == ";".join(single.raised_by)
    assert batch_row["af_score"] == pytest.approx(single.af_score, abs=1e-12)
    assert bool(batch_row["af_poor"]) == single.af_poor
    assert batch_row["top_reasons"] == ";".join(r.indicator for r in single.top_reasons)
    assert batch_row["recommended_services"] == ";".join(r.service for r in single.recommendations)


def reweighted(method: str):
    """A configuration far from the default: other weights, other cut-offs, another method."""
    base = MINI.default_config()
    weights = {i: w * (1 + k % 3) for k, (i, w) in enumerate(sorted(base.indicator_weights.items()))}
    return base.model_copy(update={"method": method, "version": f"test-{method}", "indicator_weights": weights,
                                   "dimension_weights": {d: 1.0 + k for k, d in enumerate(base.dimension_weights)},
                                   "af_poverty_cutoff": 0.3})


@pytest.mark.parametrize("config", [None, reweighted("weighted_mean"), reweighted("alkire_foster")],
                         ids=["default", "reweighted", "alkire_foster"])
def test_messy_frame_matches_single_path_row_by_row(config):
    frame = messy_frame(3000, seed=7)
    batch = assess_frame(MINI, frame, config=config)
    scores = batch.scores.set_index("household_id")
    checked_errors = checked_scores = 0
    for row in frame.to_dict("records"):
        answers, region, year = split(row)
        hid = row["household_id"]
        try:
            single = assess(MINI, answers, region=region, year=year, config=config)
        except AnswersInvalid as exc:
            expected = sorted((f.indicator or "", f.code) for f in exc.findings if f.severity == "error")
            found = batch.errors[batch.errors.household_id == hid]
            assert sorted(zip(found.indicator.fillna(""), found.code)) == expected
            assert hid not in scores.index
            checked_errors += 1
            continue
        assert_same(scores.loc[hid], single)
        warned = batch.warnings[batch.warnings.household_id == hid]
        assert sorted(zip(warned.indicator, warned.code)) == sorted((w.indicator, w.code) for w in single.warnings)
        checked_scores += 1
    assert checked_errors > 300 and checked_scores > 300  # both kinds are exercised


def test_errors_frame_names_row_indicator_code_and_messages():
    frame = pd.DataFrame([
        {"household_id": "a", "region": "city", "fam_size": 2, "fam_children": 0, "econ_debt": "huge"},
        {"household_id": "b", "region": "city", "fam_size": 2, "fam_children": 0, "econ_debt": "none"},
        {"household_id": "c", "region": "city", "fam_size": None, "fam_children": 0},
    ])
    batch = assess_frame(MINI, frame)
    assert list(batch.scores.household_id) == ["b"]
    assert batch.valid.tolist() == [False, True, False]
    errors = batch.errors
    assert errors[["row", "household_id", "indicator", "code"]].values.tolist() == [
        [0, "a", "econ_debt", "unknown_option"], [2, "c", "fam_size", "missing_required"]]
    assert errors.message_en[0].startswith("Debt: 'huge' is not one of the options")
    assert "必答题未作答" in errors.message_zh[1]


def test_csv_round_trip_gives_the_same_scores(tmp_path):
    frame = messy_frame(500, seed=3)
    path = tmp_path / "households.csv"
    frame.to_csv(path, index=False)
    reread = pd.read_csv(path, dtype={"household_id": str})
    a, b = assess_frame(MINI, frame).scores, assess_frame(MINI, reread).scores
    pd.testing.assert_frame_equal(a.drop(columns=["region", "year"]), b.drop(columns=["region", "year"]))


def test_deprivation_matrix_marks_missing_and_not_applicable():
    frame = pd.DataFrame([{"household_id": "x", "region": "city", "year": 2026, "fam_size": 2,
                           "fam_children": 0, "child_school": 2, "econ_income": 3000}])
    scores, applicable = deprivation_matrix(MINI, frame)
    ids = [i.id for i in MINI.indicators]
    assert scores.shape == (1, len(ids))
    assert not applicable[0, ids.index("child_school")] and np.isnan(scores[0, ids.index("child_school")])
    assert np.isnan(scores[0, ids.index("health_costs")]) and applicable[0, ids.index("health_costs")]
    assert scores[0, ids.index("econ_income")] == 0.6  # 3000 / 2 / 1200 = 1.25 -> band below 1.5


def test_missing_id_column_is_a_clear_error():
    with pytest.raises(Exception) as info:
        assess_frame(MINI, pd.DataFrame({"fam_size": [1]}))
    assert getattr(info.value, "path", None) == "household_id"


def test_default_catalog_on_synthetic_households_agrees_with_single_path():
    from indicators.synth import generate_households, load_spec

    catalog = default_catalog()
    frame = generate_households(catalog, load_spec(), 2000, seed=11)
    batch = assess_frame(catalog, frame)
    assert batch.valid.all(), batch.errors.head().to_dict("records")
    scores = batch.scores
    ids = {i.id for i in catalog.indicators}
    for n, row in enumerate(frame.to_dict("records")):
        answers = {k: v for k, v in row.items() if k in ids}
        single = assess(catalog, answers, region=row["region"], year=row["year"])
        assert_same(scores.iloc[n], single)


def test_ranking_frame_ranks_like_the_full_scores():
    from assessment import rank

    frame = messy_frame(800, seed=13).assign(town_id=lambda f: np.where(np.arange(len(f)) % 3, "t1", "t2"))
    batch = assess_frame(MINI, frame)
    light = rank(batch.ranking_frame(scope=("town_id",)), scope="town_id", tier_order=MINI.tier_ids)
    full = rank(batch.scores, scope="town_id", tier_order=MINI.tier_ids)
    assert light[["household_id", "rank"]].values.tolist() == full[["household_id", "rank"]].values.tolist()


def test_scoring_from_several_threads_at_once_gives_the_serial_results():
    from concurrent.futures import ThreadPoolExecutor

    frames = [messy_frame(500, seed=s) for s in range(6)]
    serial = [assess_frame(MINI, f).scores for f in frames]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(lambda f: assess_frame(MINI, f).scores, frames))
    for one, other in zip(serial, concurrent):
        pd.testing.assert_frame_equal(one, other)


def test_a_year_after_the_last_regional_value_warns_as_the_single_path_does():
    frame = messy_frame(400, seed=13)
    frame["year"] = [[2025, 2026, 2027, 2031, None][k % 5] for k in range(len(frame))]
    batch = assess_frame(MINI, frame)
    stale = batch.warnings[batch.warnings.code == "parameter_from_earlier_year"]
    assert len(stale) > 20 and set(stale.indicator) == {"econ_income"}
    assert stale.message_en.str.contains("for 2027|for 2031").all() and stale.message_en.str.contains("2026").all()
    for row in frame.to_dict("records"):
        answers, region, year = split(row)
        year = None if pd.isna(year) else int(year)
        found = [(f.indicator, f.code, f.message.zh) for f in validate_answers(MINI, answers, region=region, year=year)
                 if f.code == "parameter_from_earlier_year"]
        mine = stale[stale.household_id == row["household_id"]]
        assert sorted(zip(mine.indicator, mine.code, mine.message_zh)) == found


def test_a_frame_without_any_indicator_column_is_one_clear_error():
    frame = pd.DataFrame({"household_id": ["a", "b"], "region": ["city", "city"], "q1": [1, 2], "q2": [3, 4],
                          "q3": [0, 0], "q4": [1, 1], "q5": [2, 2], "q6": [9, 9]})
    with pytest.raises(CoreError) as info:
        assess_frame(MINI, frame)
    error = info.value
    assert error.code == "no_indicator_columns"
    for text in (error.message.en, error.message.zh):
        assert "mini" in text and "household_id, region, q1, q2, q3" in text and "q6" not in text


def test_scores_name_the_catalog_and_configuration_that_produced_them():
    config = MINI.default_config().model_copy(update={"version": "2027-01"})
    scores = assess_frame(MINI, messy_frame(50, seed=2), config=config).scores
    versions = scores[["catalog_id", "catalog_version", "catalog_hash", "config_version"]].drop_duplicates()
    assert versions.values.tolist() == [["mini", "1", MINI.content_hash, "2027-01"]]


def test_a_huge_bad_value_is_quoted_by_a_short_prefix_in_the_errors_frame():
    frame = messy_frame(3, seed=1).assign(econ_debt="y" * 5_000_000)
    errors = assess_frame(MINI, frame).errors
    debt = errors[errors.indicator == "econ_debt"]
    assert len(debt) == 3
    assert debt.message_en.str.len().max() < 200 and debt.message_zh.str.len().max() < 200
    assert debt.message_en.str.contains("'yyyy", regex=False).all() and debt.message_en.str.contains("…").all()
