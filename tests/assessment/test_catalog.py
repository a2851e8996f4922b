"""The catalog validator: every kind of bad catalog is rejected with file, entry and problem."""

import pytest

from assessment.catalog import build_catalog, check_config
from assessment.errors import CatalogErrors, ConfigError
from tests.factories import mini_catalog, mini_documents


def problems(documents) -> list[tuple[str, str, str]]:
    with pytest.raises(CatalogErrors) as info:
        build_catalog(documents)
    return [(e.file, e.entry, e.problem) for e in info.value.errors]


def indicator(docs, ind_id):
    return next(i for i in docs["indicators.yaml"]["indicators"] if i["id"] == ind_id)


def test_mini_catalog_builds_with_its_parts():
    catalog = mini_catalog()
    assert [d.id for d in catalog.dimensions] == ["fam", "econ", "health"]
    assert len(catalog.indicators) == 9
    assert catalog.tier_ids == ("none", "light", "moderate", "severe")
    assert len(catalog.content_hash) == 64


def test_content_hash_follows_content_not_formatting():
    a, b = mini_documents(), mini_documents()
    assert build_catalog(a).content_hash == build_catalog(b).content_hash
    indicator(b, "fam_alone")["weight"] = 2
    assert build_catalog(a).content_hash != build_catalog(b).content_hash


def test_duplicate_id_names_file_and_entry():
    docs = mini_documents()
    docs["indicators.yaml"]["indicators"].append(dict(indicator(docs, "fam_alone")))
    found = problems(docs)
    assert ("indicators.yaml", "fam_alone", "duplicate id 'fam_alone'") in found


def test_unknown_references_are_named():
    docs = mini_documents()
    indicator(docs, "fam_alone")["dimension"] = "nowhere"
    indicator(docs, "econ_debt")["need_areas"] = ["no_such_area"]
    docs["services.yaml"]["services"][0]["triggers"] = ["ghost"]
    docs["services.yaml"]["services"][1]["category"] = "no_category"
    found = {(f, e): p for f, e, p in problems(docs)}
    assert found[("indicators.yaml", "fam_alone")] == "unknown dimension 'nowhere'"
    assert found[("indicators.yaml", "econ_debt")] == "unknown need area 'no_such_area'"
    assert found[("services.yaml", "svc_allowance")] == "trigger refers to unknown indicator 'ghost'"
    assert found[("services.yaml", "svc_debt")] == "unknown category 'no_category'"


@pytest.mark.parametrize("weight", [0, -1.5])
def test_weights_must_be_positive(weight):
    docs = mini_documents()
    indicator(docs, "fam_alone")["weight"] = weight
    docs["dimensions.yaml"]["dimensions"][1]["weight"] = weight
    found = problems(docs)
    assert any(f == "indicators.yaml" and e == "fam_alone" and "weight" in p and "greater than 0" in p
               for f, e, p in found)
    assert any(f == "dimensions.yaml" and e == "econ" and "weight" in p for f, e, p in found)


def test_answer_level_without_a_score_is_rejected():
    docs = mini_documents()
    del indicator(docs, "health_chronic")["answer"]["levels"][1]["score"]
    found = problems(docs)
    assert len(found) == 1
    file, entry, problem = found[0]
    assert (file, entry) == ("indicators.yaml", "health_chronic")
    assert "levels.1.score" in problem and "Field required" in problem


def test_numeric_answers_must_map_every_value():
    docs = mini_documents()
    indicator(docs, "health_costs")["answer"]["bands"][-1]["below"] = 50000
    found = problems(docs)
    assert found == [("indicators.yaml", "health_costs",
                      "the last band must have no 'below' so that every answer up to max maps to a score")]


def test_scores_outside_zero_one_are_rejected():
    docs = mini_documents()
    indicator(docs, "fam_alone")["answer"]["score_yes"] = 1.5
    assert problems(docs)[0][:2] == ("indicators.yaml", "fam_alone")


def test_wrong_counts_for_a_catalog_that_declares_them():
    docs = mini_documents()
    docs["catalog.yaml"]["expected_counts"] = {"indicators": 52, "dimensions": 3, "services": 20}
    found = problems(docs)
    assert ("indicators.yaml", "indicators",
            "expected 52 entries (catalog.yaml expected_counts), found 9") in found
    assert ("services.yaml", "services", "expected 20 entries (catalog.yaml expected_counts), found 5") in found
    assert not any(e == "dimensions" for _, e, _ in found)


def test_applicability_must_rest_on_a_required_answer():
    docs = mini_documents()
    indicator(docs, "fam_children")["required"] = False
    found = problems(docs)
    assert any(e == "child_school" and "must then be required" in p for _, e, p in found)


def test_conditions_must_fit_the_answer_type():
    docs = mini_documents()
    docs["rules.yaml"]["contradictions"][0]["when"][0]["value"] = "sometimes"
    indicator(docs, "child_school")["applies_when"][0]["value"] = "many"
    found = {e: p for _, e, p in problems(docs)}
    assert "yes/no" in found["alone_with_family"]
    assert found["child_school"].startswith("applies_when")


def test_tier_cutoffs_must_ascend_from_zero():
    docs = mini_documents()
    docs["tiers.yaml"]["tiers"][2]["min_index"] = 20
    docs["tiers.yaml"]["tiers"][0]["min_index"] = 5
    found = problems(docs)
    assert ("tiers.yaml", "none", "the first tier must start at min_index 0") in found
    assert ("tiers.yaml", "moderate", "min_index 20.0 must be above 'light''s 25.0") in found


def test_missing_and_unknown_files():
    docs = mini_documents()
    del docs["services.yaml"]
    docs["extra.yaml"] = {}
    found = problems(docs)
    assert ("services.yaml", "(file)", "required file is missing") in found
    assert any(f == "extra.yaml" and p.startswith("unknown file") for f, _, p in found)


def test_every_problem_is_reported_at_once():
    docs = mini_documents()
    indicator(docs, "fam_alone")["dimension"] = "x"
    indicator(docs, "econ_debt")["weight"] = 0
    assert len(problems(docs)) == 2


def test_config_checks_name_the_field():
    catalog = mini_catalog()
    base = catalog.default_config()
    with pytest.raises(ConfigError) as info:
        check_config(catalog, base.model_copy(update={"indicator_weights": {**base.indicator_weights, "ghost": 1.0}}))
    assert info.value.path == "indicator_weights.ghost"
    cutoffs = {**base.tier_cutoffs, "moderate": 25}
    with pytest.raises(ConfigError) as info:
        check_config(catalog, base.model_copy(update={"tier_cutoffs": cutoffs}))
    assert info.value.path == "tier_cutoffs.moderate"
    with pytest.raises(ValueError, match="must be positive"):
        type(base).model_validate({**base.model_dump(), "dimension_weights": {"fam": 0, "econ": 1, "health": 1}})
