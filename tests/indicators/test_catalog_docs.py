"""docs/catalog.md is a manual an analyst writes a catalog from: its YAML examples parse, fragments are
valid entries, and its complete small catalog loads and scores as the page works it out."""

import re
from pathlib import Path

import pytest
import yaml

from assessment import assess, build_catalog
from assessment.catalog import FILES, Feature, Indicator, Service

DOC = Path(__file__).parents[2] / "docs" / "catalog.md"
FILE_MARK = re.compile(r"^# file: (\S+)\n")


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def documents() -> dict:
    """The blocks that name their file: the complete small catalog."""
    found = {}
    for block in yaml_blocks():
        mark = FILE_MARK.match(block)
        if mark:
            found[mark.group(1)] = yaml.safe_load(block)
    return found


@pytest.mark.parametrize("block", yaml_blocks(), ids=lambda block: block.splitlines()[0][:40])
def test_every_yaml_example_parses(block):
    assert yaml.safe_load(block) is not None


def test_the_fragments_are_valid_entries():
    fragments = [yaml.safe_load(block) for block in yaml_blocks() if not FILE_MARK.match(block)]
    indicator, service, features = fragments
    Indicator.model_validate(indicator[0])
    Service.model_validate(service[0])
    for feature in features["features"]:
        Feature.model_validate(feature)


def test_the_complete_example_is_a_catalog_that_scores_as_the_page_says():
    docs = documents()
    assert set(docs) <= set(FILES) and "catalog.yaml" in docs and "rules.yaml" in docs
    catalog = build_catalog(docs)
    assert (catalog.id, len(catalog.dimensions), len(catalog.indicators)) == ("elder_care_demo", 2, 4)
    answers = {"household_size": 2, "income": 3000, "self_care": 1, "has_carer": True}
    result = assess(catalog, answers, region="riverside", year=2026)
    # income per person 1500 / 1100 = 1.36 -> 0.5; living (0 + 2 x 0.5) / 3; health (0.5 + 0) / 2
    assert result.index == pytest.approx(100 * (2 * (1 / 3) + 0.25) / 3, abs=1e-6)
    assert result.tier == "medium" and not result.warnings
    assert [r.service for r in result.recommendations] == ["allowance", "home_care"]
    later = assess(catalog, answers, region="riverside", year=2027)
    assert [w.code for w in later.warnings] == ["parameter_from_earlier_year"]
    assert later.index == result.index
