"""The jobs on a real local cluster give the single-process figures on every column."""

import math

import numpy as np
import pandas as pd
import pytest

from assessment import assess_frame
from assessment.errors import CoreError
from assessment.impact import config_from_draft, impact_preview
from assessment.population import poverty_measures
from assessment.ranking import rank
from assessment.sensitivity import weight_sensitivity
from cluster import poverty_dataset, preview_dataset, rank_dataset, score_dataset, sensitivity_dataset
from cluster.storage import SUCCESS, read_parts
from indicators import default_catalog

CATALOG = default_catalog()


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as their values: part files and one file unite their categories differently."""
    return frame.astype({name: object for name, dtype in frame.dtypes.items()
                         if isinstance(dtype, pd.CategoricalDtype)})


def collected():
    found = {}

    def write(severity, frames):
        frames = list(frames)
        found[severity] = pd.concat(frames, ignore_index=True) if frames else None
        return sum(len(f) for f in frames)

    return found, write


@pytest.fixture(scope="module")
def scored(engine, households, tmp_path_factory):
    folder, _ = households
    output = tmp_path_factory.mktemp("out") / "scores"
    found, write = collected()
    counts = score_dataset(engine, folder, output, catalog=CATALOG, config=None, write_findings=write)
    return output, counts, found


def test_scores_errors_and_warnings_equal_one_process(households, scored):
    _, whole = households
    output, counts, found = scored
    batch = assess_frame(CATALOG, whole)
    assert len(whole) == 2605  # 2600 households and 5 invalid rows, in 24 partitions (one empty)
    parts = list(read_parts(output))
    assert len(parts) == 24 and sum(len(p) == 0 for p in parts) == 1
    got = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(plain(got), plain(batch.scores), check_dtype=False)
    assert got["index"].to_numpy().tobytes() == batch.scores["index"].to_numpy().tobytes()
    assert {"rows": 2605, "scored": 2601, "failed": 4, "errors": 4} == {k: counts[k] for k in
                                                                       ("rows", "scored", "failed", "errors")}
    # the errors, with the row numbers of the whole data set, as one process lists them
    pd.testing.assert_frame_equal(found["error"].astype(object), batch.errors.astype(object))
    assert found["error"]["household_id"].tolist() == ["bad-0", "bad-1", "bad-2", "bad-3"]
    assert found["error"]["row"].tolist() == [827, 828, 829, 830]
    pd.testing.assert_frame_equal(found["warning"].astype(object), batch.warnings.astype(object))
    assert counts["warnings"] == len(batch.warnings) > 80
    assert (output / SUCCESS).exists()
    assert not any(path.name.startswith(".") for path in output.parent.iterdir())  # no staging folder left


@pytest.mark.parametrize("scope", [[], ["town_id"], ["region", "station_id"], ["tier"]])
def test_ranks_are_global_within_each_scope(engine, scored, tmp_path, scope):
    output, _, _ = scored
    scores = pd.concat(read_parts(output), ignore_index=True)
    target = tmp_path / "ranked"
    assert rank_dataset(engine, output, target, scope=scope, tier_order=list(CATALOG.tier_ids)) == len(scores)
    got = pd.concat(read_parts(target), ignore_index=True)
    expected = rank(scores, scope=scope or None, tier_order=CATALOG.tier_ids)
    merged = plain(expected).merge(plain(got), on="household_id", suffixes=("", "_cluster"))
    assert len(merged) == len(scores) == 2601
    for column in ("rank", "percentile", "index", "tier", *scope):
        assert merged[column].tolist() == merged[f"{column}_cluster"].tolist(), column
    # written in order of scope value, then rank
    in_order = got.sort_values([*scope, "rank"], key=lambda c: c.astype(str) if c.name in scope else c)
    assert got["household_id"].tolist() == in_order["household_id"].tolist()


def test_repeated_ids_in_different_partitions_are_the_same_error(engine, households, tmp_path):
    folder, whole = households
    scores = assess_frame(CATALOG, whole).scores
    repeated = tmp_path / "repeated"
    repeated.mkdir()
    scores.iloc[:1000].to_parquet(repeated / "part-0.parquet", index=False)
    scores.iloc[1000:].assign(household_id=lambda f: f["household_id"].where(f.index != 2000, scores.household_id[3])
                              ).to_parquet(repeated / "part-1.parquet", index=False)
    with pytest.raises(CoreError) as raised:
        rank_dataset(engine, repeated, tmp_path / "ranked", scope=[], tier_order=list(CATALOG.tier_ids))
    assert raised.value.code == "duplicate_household_id" and scores.household_id[3] in raised.value.message.en
    assert not (tmp_path / "ranked").exists()


def test_alkire_foster_measures_combine_exactly(engine, households):
    folder, whole = households
    result, left_out = poverty_dataset(engine, folder, catalog=CATALOG, config=None, k=None, group_column="town_id")
    expected, expected_left_out = poverty_measures(CATALOG, whole, group_column="town_id")
    assert (left_out, result.n, result.q, result.n_unmeasured) == (expected_left_out, expected.n, expected.q,
                                                                    expected.n_unmeasured) == (4, 2601, expected.q, 0)
    for name in ("H", "A", "M0"):
        assert getattr(result, name) == pytest.approx(getattr(expected, name), rel=1e-12)
    pd.testing.assert_frame_equal(result.to_frame(), expected.to_frame(), rtol=1e-12)
    pd.testing.assert_series_equal(result.contribution_by_dimension, expected.contribution_by_dimension, rtol=1e-12)
    pd.testing.assert_frame_equal(result.by_group, expected.by_group, rtol=1e-12)
    assert len(result.by_group) > 20


def draft():
    return config_from_draft(CATALOG, {
        "indicator_weights": {i.id: 2 * i.weight for i in CATALOG.indicators[::17][:3]},
        "dimension_weights": {CATALOG.dimensions[1].id: 2 * CATALOG.dimensions[1].weight},
        "tier_cutoffs": {CATALOG.tier_ids[-2]: CATALOG.default_config().tier_cutoffs[CATALOG.tier_ids[-2]] + 5},
    }, base=CATALOG.default_config())


def test_impact_preview_equals_one_process(engine, households):
    folder, whole = households
    got = preview_dataset(engine, folder, catalog=CATALOG, draft=draft(), published=None, scope_column="station_id",
                          movers=25)
    expected = impact_preview(CATALOG, whole, draft=draft(), scope_column="station_id", movers=25)
    assert expected.changed_tier > 50  # the draft moves households, so ranks and tiers have something to show
    for name in ("compared", "invalid", "changed_tier", "tier_up", "tier_down", "kendall", "median_abs_index_change"):
        assert getattr(got, name) == getattr(expected, name), name
    for name in ("spearman", "mean_abs_index_change"):
        assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-12), name
    pd.testing.assert_frame_equal(got.tier_changes, expected.tier_changes)
    pd.testing.assert_frame_equal(got.movers, expected.movers, check_dtype=False)
    pd.testing.assert_frame_equal(got.by_scope, expected.by_scope, check_dtype=False, rtol=1e-12)
    assert got.as_dict()["movers"] == expected.as_dict()["movers"]


def test_weight_sensitivity_equals_one_process(engine, households):
    folder, whole = households
    indicators = [i.id for i in CATALOG.indicators[:6]]
    got = sensitivity_dataset(engine, folder, catalog=CATALOG, config=None, factor=2.0, indicators=indicators)
    expected = weight_sensitivity(CATALOG, whole, factor=2.0, indicators=indicators)
    assert got.attrs == expected.attrs and got.attrs["invalid"] == 4
    exact = [c for c in expected.columns if c not in ("spearman", "mean_abs_index_change")]
    pd.testing.assert_frame_equal(got[exact], expected[exact])
    np.testing.assert_allclose(got["spearman"], expected["spearman"], rtol=1e-12)
    np.testing.assert_allclose(got["mean_abs_index_change"], expected["mean_abs_index_change"], rtol=1e-12)
    assert (expected["share_changing_tier"] > 0).sum() >= 5 and not math.isnan(expected["spearman"].iloc[0])
