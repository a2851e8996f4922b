"""Impact preview of a draft configuration: a hand-computed population, identity, properties, bad drafts."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment import assess_frame
from assessment.errors import ConfigError, CoreError
from assessment.impact import config_from_draft, impact_preview
from indicators import default_catalog
from indicators.synth import generate_households, load_spec
from tests.factories import mini_catalog

# The hand population (mini catalog, published = catalog default). Every household has fam_size 2
# (score 0) and no children (score 0; child_school then does not apply), so with the default weights
#   family  = alone * 1 / (1 + 1 + 2)             = 0.25 if alone else 0
#   economy = debt score (none 0, small .5, large 1); econ_debt is the only economy answer
#   health  = (2 * chronic + uninsured) / 3        chronic: level 0 -> 0, 1 -> .4, 2 -> 1 (critical: severe)
#   index   = 100 * (family + 2 * economy + health) / 4        tiers: light 25, moderate 45, severe 65
# The draft: fam_alone weight 2 (family = 2 / 5 = 0.4 if alone), health dimension weight 3, moderate from 40:
#   index'  = 100 * (family' + 2 * economy + 3 * health) / 6
#
# id  alone debt  chronic insured  health  published index     tier       draft index          tier
# h1  no    none  0       yes      0       0                   none       0                    none
# h2  yes   small 0       yes      0       (.25+1)/4   = 31.25  light      (.4+1)/6   = 23.333   none
# h3  no    none  1       no       .6      .6/4        = 15     none       1.8/6      = 30       light
# h4  yes   large 1       yes      .8/3    (.25+2+.8/3)/4 = 62.917 moderate (.4+2+.8)/6 = 53.333  moderate
# h5  no    small 2       yes      2/3     (1+2/3)/4   = 41.667 light->severe (1+2)/6  = 50     moderate->severe
# h6  yes   none  1       no       .6      (.25+.6)/4  = 21.25  none       (.4+1.8)/6 = 36.667   light
# h7  yes   large 0       yes      0       (.25+2)/4   = 56.25  moderate   (.4+2)/6   = 40 (the cut-off) moderate
# h8  3 children in a household of 2: a contradiction error, so invalid under both.
#
# Ranks (index descending): published h4 h7 h5 h2 h6 h3 h1; draft h4 h5 h7 h6 h3 h2 h1.
# Rank moves: h2 4->6 (2 down), h3 6->5, h5 3->2, h6 5->4 (1 up each), h7 2->3 (1 down), h1 and h4 stay.
# Spearman (no ties): ascending ranks published h1 h3 h6 h2 h5 h7 h4 -> draft ranks 1 3 4 2 6 5 7;
#   d^2 = 0+4+1+0+1+1+1 = 8 over h1..h7, rho = 1 - 6*8/(7*48) = 6/7.
# Kendall: inversions of (1 3 4 2 6 5 7) are (3,2) (4,2) (6,5): 3 of 21 pairs, tau = (18-3)/21 = 5/7.
# |index change|: 0, 95/12, 15, 115/12, 25/3, 185/12, 65/4 -> mean 72.5/7, median 115/12.
HANDS = [
    ("h1", False, "none", 0, True, "s1"), ("h2", True, "small", 0, True, "s1"),
    ("h3", False, "none", 1, False, "s1"), ("h4", True, "large", 1, True, "s1"),
    ("h5", False, "small", 2, True, "s2"), ("h6", True, "none", 1, False, "s2"),
    ("h7", True, "large", 0, True, "s2"), ("h8", False, "none", 0, True, "s2"),
]
DRAFT = {"indicator_weights": {"fam_alone": 2}, "dimension_weights": {"health": 3}, "tier_cutoffs": {"moderate": 40}}


def hand_frame() -> pd.DataFrame:
    rows = [{"household_id": hid, "station_id": station, "region": "city", "year": 2026, "fam_size": 2,
             "fam_children": 3 if hid == "h8" else 0, "fam_alone": alone, "econ_debt": debt,
             "health_chronic": chronic, "health_insured": insured}
            for hid, alone, debt, chronic, insured, station in HANDS]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def mini():
    return mini_catalog()


@pytest.fixture(scope="module")
def hand_preview(mini):
    draft = config_from_draft(mini, DRAFT, base=mini.default_config())
    return impact_preview(mini, hand_frame(), draft=draft, movers=3)


def test_hand_population_counts_and_tier_table(hand_preview):
    assert (hand_preview.compared, hand_preview.invalid) == (7, 1)
    expected = pd.DataFrame(0, index=["none", "light", "moderate", "severe"],
                            columns=["none", "light", "moderate", "severe"])
    expected.loc["none", "none"] = 1      # h1
    expected.loc["none", "light"] = 2     # h3, h6
    expected.loc["light", "none"] = 1     # h2
    expected.loc["moderate", "moderate"] = 2  # h4, h7 (h7 exactly on the new cut-off 40)
    expected.loc["severe", "severe"] = 1  # h5, raised by its critical illness under both
    assert hand_preview.tier_changes.to_numpy().tolist() == expected.to_numpy().tolist()
    assert list(hand_preview.tier_changes.index) == list(expected.index)
    assert list(hand_preview.tier_changes.columns) == list(expected.columns)
    assert (hand_preview.changed_tier, hand_preview.tier_up, hand_preview.tier_down) == (3, 2, 1)


def test_hand_population_correlations_and_index_change(hand_preview):
    assert hand_preview.spearman == pytest.approx(6 / 7)
    assert hand_preview.kendall == pytest.approx(5 / 7)
    assert hand_preview.mean_abs_index_change == pytest.approx(72.5 / 7, abs=1e-5)
    assert hand_preview.median_abs_index_change == pytest.approx(115 / 12, abs=1e-5)


def test_hand_population_movers(hand_preview):
    movers = hand_preview.movers
    # h2 moved 2 places; h3, h5, h6, h7 one each, so the household id decides: h3, h5.
    assert movers["household_id"].tolist() == ["h2", "h3", "h5"]
    assert movers["rank_before"].tolist() == [4, 6, 3]
    assert movers["rank_after"].tolist() == [6, 5, 2]
    assert movers["places_up"].tolist() == [-2, 1, 1]
    assert movers["index_before"].tolist() == pytest.approx([31.25, 15, 125 / 3], abs=1e-5)
    assert movers["index_after"].tolist() == pytest.approx([70 / 3, 30, 50], abs=1e-5)
    assert movers["tier_before"].tolist() == ["light", "none", "severe"]
    assert movers["tier_after"].tolist() == ["none", "light", "severe"]


def test_hand_population_per_station(hand_preview):
    table = hand_preview.by_scope.set_index("station_id")
    assert table["households"].to_dict() == {"s1": 4, "s2": 3}
    # s1: h1 h2 h3 h4; s2: h5 h6 h7 (h8 is invalid)
    assert table.loc["s1", "mean_index_before"] == pytest.approx((0 + 31.25 + 15 + 755 / 12) / 4, abs=1e-5)
    assert table.loc["s1", "mean_index_after"] == pytest.approx((0 + 70 / 3 + 30 + 160 / 3) / 4, abs=1e-5)
    assert table.loc["s2", "mean_index_before"] == pytest.approx((125 / 3 + 21.25 + 56.25) / 3, abs=1e-5)
    assert table.loc["s2", "mean_index_after"] == pytest.approx((50 + 110 / 3 + 40) / 3, abs=1e-5)
    assert table["changed_tier"].to_dict() == {"s1": 2, "s2": 1}
    assert table["tier_up"].to_dict() == {"s1": 1, "s2": 1}
    # top two tiers (moderate, severe): s1 only h4 both times; s2 h5 and h7 both times
    assert table["share_top_tiers_before"].to_dict() == pytest.approx({"s1": 0.25, "s2": 2 / 3})
    assert table["share_top_tiers_after"].to_dict() == pytest.approx({"s1": 0.25, "s2": 2 / 3})


def test_as_dict_is_json_and_can_leave_out_household_ids(hand_preview):
    document = json.loads(json.dumps(hand_preview.as_dict()))
    assert document["tier_changes"]["none"]["light"] == 2
    assert document["movers"][0]["household_id"] == "h2"
    assert document["by_scope"][1]["station_id"] == "s2"
    assert document["draft"]["version"] == "mini@1+draft"
    anonymous = json.dumps(hand_preview.as_dict(household_ids=False))
    assert "h2" not in anonymous and '"household_id"' not in anonymous
    frames = hand_preview.to_frames()
    assert set(frames) == {"summary", "tier_changes", "movers", "by_scope"}
    assert frames["summary"].loc[0, "changed_tier"] == 3


def test_published_default_and_no_scope(mini):
    draft = config_from_draft(mini, DRAFT, base=mini.default_config())
    preview = impact_preview(mini, hand_frame(), draft=draft, scope_column=None, movers=0)
    assert preview.by_scope is None and len(preview.movers) == 0 and preview.changed_tier == 3
    assert "by_scope" not in preview.to_frames()
    with pytest.raises(CoreError) as caught:
        impact_preview(mini, hand_frame(), draft=draft, scope_column="town_id")
    assert caught.value.path == "town_id"


@pytest.fixture(scope="module")
def synthetic():
    catalog = default_catalog()
    return catalog, generate_households(catalog, load_spec(), 400, seed=5)


def test_identical_configurations_change_nothing(synthetic):
    catalog, frame = synthetic
    same = config_from_draft(catalog, {}, base=catalog.default_config())
    preview = impact_preview(catalog, frame, draft=same, scope_column="town_id")
    tiers = assess_frame(catalog, frame).scores["tier"].value_counts()
    assert preview.changed_tier == 0 and len(preview.movers) == 0
    assert preview.spearman == pytest.approx(1.0) and preview.kendall == pytest.approx(1.0)
    assert preview.mean_abs_index_change == 0 and preview.median_abs_index_change == 0
    table = preview.tier_changes.to_numpy()
    assert (table == np.diag(np.diag(table))).all()
    assert dict(zip(catalog.tier_ids, np.diag(table))) == {t: tiers.get(t, 0) for t in catalog.tier_ids}
    assert (preview.by_scope["mean_index_before"] == preview.by_scope["mean_index_after"]).all()


weights = st.floats(min_value=0.1, max_value=5.0, allow_nan=False)


@settings(max_examples=15, deadline=None)
@given(indicator_factor=weights, dimension_factor=weights, shift=st.floats(min_value=-10, max_value=10))
def test_preview_properties(synthetic, indicator_factor, dimension_factor, shift):
    catalog, frame = synthetic
    first, dim = catalog.indicators[0], catalog.dimensions[-1]
    base = catalog.default_config()
    cutoffs = dict(base.tier_cutoffs)
    middle = catalog.tier_ids[len(catalog.tier_ids) // 2]
    document = {"indicator_weights": {first.id: first.weight * indicator_factor},
                "dimension_weights": {dim.id: dim.weight * dimension_factor}}
    low, high = sorted(cutoffs.values())[len(cutoffs) // 2 - 1], sorted(cutoffs.values())[len(cutoffs) // 2 + 1]
    if low < cutoffs[middle] + shift < high:
        document["tier_cutoffs"] = {middle: cutoffs[middle] + shift}
    draft = config_from_draft(catalog, document, base=base)
    forward = impact_preview(catalog, frame, draft=draft, published=base, movers=10)
    backward = impact_preview(catalog, frame, draft=base, published=draft, movers=10)
    table = forward.tier_changes.to_numpy()
    assert table.sum() == forward.compared == len(frame)
    assert forward.changed_tier == table.sum() - np.trace(table) == forward.tier_up + forward.tier_down
    assert (backward.tier_changes.to_numpy() == table.T).all()
    assert (forward.tier_up, forward.tier_down) == (backward.tier_down, backward.tier_up)
    assert forward.spearman == pytest.approx(backward.spearman)
    assert forward.kendall == pytest.approx(backward.kendall)
    distance = forward.movers["places_up"].abs().to_numpy()
    assert (np.diff(distance) <= 0).all() and (distance > 0).all()
    assert forward.by_scope["households"].sum() == forward.compared
    assert forward.by_scope["changed_tier"].sum() == forward.changed_tier


# --- drafts -----------------------------------------------------------------------------------------

def test_draft_merges_changes_over_base(mini):
    base = mini.default_config()
    draft = config_from_draft(mini, {**DRAFT, "label": {"zh": "草稿", "en": "Draft"}}, base=base)
    assert draft.indicator_weights == {**base.indicator_weights, "fam_alone": 2.0}
    assert draft.dimension_weights == {"fam": 1.0, "econ": 2.0, "health": 3.0}
    assert draft.tier_cutoffs == {"none": 0, "light": 25, "moderate": 40, "severe": 65}
    assert (draft.id, draft.version) == ("draft", "mini@1+draft")
    named = config_from_draft(mini, {"id": "analyst_2026", "version": "3", "method": "alkire_foster",
                                     "af_poverty_cutoff": 0.25}, base=draft)
    assert (named.id, named.version, named.method) == ("analyst_2026", "3", "alkire_foster")
    assert named.af_poverty_cutoff == 0.25
    assert named.indicator_weights == draft.indicator_weights
    whole = base.model_dump()
    assert config_from_draft(mini, whole, base=draft) == base


@pytest.mark.parametrize("document, field", [
    ({"indicator_weights": {"xyz": 1}}, "indicator_weights.xyz"),
    ({"indicator_weights": {"fam_alone": 0}}, "indicator_weights.fam_alone"),
    ({"indicator_weights": {"fam_alone": -1.5}}, "indicator_weights.fam_alone"),
    ({"indicator_weights": {"fam_alone": "heavy"}}, "indicator_weights.fam_alone"),
    ({"indicator_weights": {"fam_alone": True}}, "indicator_weights.fam_alone"),
    ({"indicator_weights": {"fam_alone": math.nan}}, "indicator_weights.fam_alone"),
    ({"indicator_weights": ["fam_alone"]}, "indicator_weights"),
    ({"dimension_weights": {"nope": 2}}, "dimension_weights.nope"),
    ({"dimension_weights": {"econ": 0}}, "dimension_weights.econ"),
    ({"tier_cutoffs": {"moderate": 20}}, "tier_cutoffs.moderate"),    # below light's 25: out of order
    ({"tier_cutoffs": {"light": 45}}, "tier_cutoffs.moderate"),       # equal to moderate's: overlapping
    ({"tier_cutoffs": {"severe": 120}}, "tier_cutoffs.severe"),
    ({"tier_cutoffs": {"none": 5}}, "tier_cutoffs.none"),
    ({"tier_cutoffs": {"extreme": 90}}, "tier_cutoffs.extreme"),
    ({"method": "median"}, "method"),
    ({"af_poverty_cutoff": 1.5}, "af_poverty_cutoff"),
    ({"completeness_threshold": -0.1}, "completeness_threshold"),
    ({"catalog_id": "other"}, "catalog_id"),
    ({"catalog_version": "0.9"}, "catalog_version"),
    ({"version": ""}, "version"),
    ({"label": 7}, "label"),
    ({"colour": "red"}, "colour"),
])
def test_bad_drafts_name_the_field(mini, document, field):
    with pytest.raises(ConfigError) as caught:
        config_from_draft(mini, document, base=mini.default_config())
    assert caught.value.path == field
    assert caught.value.message.en and caught.value.message.zh and caught.value.message.zh != caught.value.message.en


def test_a_draft_must_be_a_mapping(mini):
    with pytest.raises(ConfigError) as caught:
        config_from_draft(mini, ["indicator_weights"], base=mini.default_config())
    assert caught.value.path == "(document)"


def test_no_valid_household_gives_empty_figures(mini):
    draft = config_from_draft(mini, DRAFT, base=mini.default_config())
    only_invalid = hand_frame().query("household_id == 'h8'")
    document = json.loads(json.dumps(impact_preview(mini, only_invalid, draft=draft).as_dict()))
    assert (document["compared"], document["invalid"], document["changed_tier"]) == (0, 1, 0)
    assert document["spearman"] is None and document["mean_abs_index_change"] is None
    assert document["movers"] == [] and document["by_scope"] == []


@pytest.mark.parametrize("document", [
    {"indicator_weights": {"fam_size": "9" * 5_000_000}},
    {"indicator_weights": {"z" * 5_000_000: 2.0}},
    {"z" * 5_000_000: 1},
    {"method": "m" * 5_000_000},
    {"version": ["v"] * 1_000_000},
])
def test_a_huge_bad_value_in_a_draft_is_quoted_by_a_short_prefix(mini, document):
    with pytest.raises(ConfigError) as caught:
        config_from_draft(mini, document, base=mini.default_config())
    error = caught.value
    assert max(len(error.message.en), len(error.message.zh), len(error.path)) < 300
    assert "…" in error.message.en and "…" in error.message.zh
