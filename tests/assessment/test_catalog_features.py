"""The optional features.yaml: extra household columns for the learned side, declared but never scored."""

import pytest

from assessment.catalog import build_catalog
from assessment.errors import CatalogErrors
from tests.factories import mini_catalog, mini_documents


def feature(feature_id: str, **extra) -> dict:
    return {"id": feature_id, "label": {"zh": "人均房间数", "en": "Rooms per person"},
            "description": {"zh": "房间数除以人数", "en": "Rooms divided by household size"}, **extra}


def test_a_catalog_without_features_yaml_declares_none():
    assert mini_catalog().features == ()


def test_declared_features_are_kept_in_order_with_their_unit():
    docs = mini_documents()
    docs["features.yaml"] = {"features": [feature("rooms_per_person", unit="rooms/person"), feature("head_age")]}
    catalog = build_catalog(docs)
    assert [f.id for f in catalog.features] == ["rooms_per_person", "head_age"]
    assert catalog.features[0].unit == "rooms/person"
    assert catalog.features[1].unit == ""
    assert catalog.features[0].label.en == "Rooms per person"


def test_features_change_the_content_hash():
    docs = mini_documents()
    docs["features.yaml"] = {"features": [feature("rooms_per_person")]}
    assert build_catalog(docs).content_hash != mini_catalog().content_hash


def errors_of(docs) -> list[tuple[str, str, str]]:
    with pytest.raises(CatalogErrors) as info:
        build_catalog(docs)
    return [(e.file, e.entry, e.problem) for e in info.value.errors]


def test_a_feature_id_that_is_an_indicator_id_is_rejected_naming_file_and_entry():
    docs = mini_documents()
    docs["features.yaml"] = {"features": [feature("fam_alone")]}
    assert errors_of(docs) == [("features.yaml", "fam_alone", "feature id 'fam_alone' is also an indicator id")]


def test_duplicate_feature_ids_and_missing_fields_are_rejected():
    docs = mini_documents()
    docs["features.yaml"] = {"features": [feature("head_age"), feature("head_age"), {"id": "no_label"}]}
    found = errors_of(docs)
    assert ("features.yaml", "head_age", "duplicate id 'head_age'") in found
    assert any(file == "features.yaml" and entry == "no_label" and "label" in problem for file, entry, problem in found)


def test_an_unknown_section_in_features_yaml_is_rejected():
    docs = mini_documents()
    docs["features.yaml"] = {"columns": []}
    assert any(file == "features.yaml" and entry == "columns" for file, entry, _ in errors_of(docs))
