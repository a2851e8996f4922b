"""The pure part of discovery: rows checked, rules applied set-wise (worked by hand), names in one form, and the
data files validated."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest

from api import persons
from api.discovery import logic
from api.discovery.definitions import discovery_folder, load_discovery
from assessment.errors import CoreError
from indicators import default_catalog


@pytest.fixture(scope="module")
def discovery():
    return load_discovery(discovery_folder(None), frozenset(i.id for i in default_catalog().indicators))


def test_names_and_dates_in_one_form():
    assert persons.normal_name(" 王　秀英 ") == persons.normal_name("王秀英") == "王秀英"
    assert persons.normal_name("买买提·艾力") == persons.normal_name("买买提艾力")
    assert persons.normal_name("Anna Li") == "annali"
    assert logic.parse_date("2024/3/5") == logic.parse_date("20240305") == logic.parse_date("２０２４-03-05") \
        == date(2024, 3, 5)
    assert logic.parse_date("2024-02-30") is None and logic.parse_date("March") is None
    assert persons.birth_date_of("371002195604123010") == date(1956, 4, 12)
    assert persons.birth_date_of("371002195613123011") is None


def test_priorities_by_hand(discovery):
    signals = pd.DataFrame([
        ("a", "disability", "二级", None), ("a", "medical_bill", None, 30000.0), ("a", "medical_bill", None, 25000.0),
        ("b", "medical_bill", None, 19999.0), ("b", "unemployment", None, None),
        ("c", "death_or_move", "死亡", None), ("d", "utility_arrears", "2", 2.0)],
        columns=["person", "signal", "detail", "detail_number"])
    ranked = logic.priorities(signals, discovery.rules).set_index("person")
    # a: severe_disability 40 + large_medical_bill 30 (counted once for two bills)
    assert ranked.loc["a", "priority"] == 70 and ranked.loc["a", "reasons"] == ["severe_disability",
                                                                                 "large_medical_bill"]
    assert ranked.loc["b", "priority"] == 15 and ranked.loc["b", "reasons"] == ["unemployed"]
    # a death passes its rule (a reason to re-assess a household) but makes no candidate
    assert ranked.loc["c", "reasons"] == ["death_or_move"] and not ranked.loc["c", "candidate"]
    assert ranked.loc["d", "reasons"] == [] and not ranked.loc["d", "candidate"]  # two months: under three
    assert ranked.loc["a", "candidate"] and ranked.loc["b", "candidate"]


def test_checked_rows_keep_the_good_and_name_each_refusal():
    columns = {"id_number": "id", "name": "name", "birth_date": "born", "town": "town", "recorded_on": "on",
               "detail": "amount"}
    frame = pd.DataFrame([["３７１００２１９５６０４１２３０１０", "王", "1956-04-12", "T1", "2026-01-01", "1,200"],
                          ["", "李", "1956-04-12", "7", "2026-01-01", "x"]],
                         columns=["id", "name", "born", "town", "on", "amount"])
    rows, refusals = logic.checked_rows(frame, columns, "number", {"T1": 1, "7": 7}, date(2026, 6, 1))
    assert rows[["row", "id_number", "town_id", "detail_number"]].to_dict("records") == [
        {"row": 2, "id_number": "371002195604123010", "town_id": 1, "detail_number": 1200.0}]
    assert [(r.row, r.column, r.code) for r in refusals] == [(3, "amount", "invalid_number")]


@pytest.mark.parametrize("change, path", [
    (("sources/disability.yaml", "fresh_days: 730", "fresh_days: 0"), "disability.yaml: fresh_days"),
    (("sources/disability.yaml", "signal: disability", "signal: Disability!"), "disability.yaml: signal"),
    (("rules.yaml", "indicator: dis_severity", "indicator: no_such_indicator"), "rules.yaml: severe_disability"),
    (("rules.yaml", "signal: school_dropout", "signal: truancy"), "rules.yaml: school_dropout.signal"),
    (("sources/unemployment.yaml", "  recorded_on: 登记日期\n", "  recorded_on: 登记日期\n  extra: x\n"),
     "unemployment.yaml: columns.extra"),
])
def test_a_bad_data_file_names_the_file_and_the_field(tmp_path, change, path):
    folder = tmp_path / "discovery"
    shutil.copytree(discovery_folder(None), folder)
    name, old, new = change
    target = folder / name
    assert old in target.read_text(encoding="utf-8")
    target.write_text(target.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CoreError) as caught:
        load_discovery(folder, frozenset(i.id for i in default_catalog().indicators))
    assert caught.value.path.startswith(path)


def test_warning_risks_by_hand():
    from api.discovery.definitions import load_warning_rules

    rules = load_warning_rules(discovery_folder(None), default_catalog()).rules
    frame = pd.DataFrame([
        # household, station, town, lives alone, elderly, bedridden, no caregiver, safety, no heating, unattended,
        # chronic, self-care
        (1, 10, 5, 1.0, 1, 0, 0.0, 1, 1.0, 0.0, 0, 1),
        (2, 10, 5, 0.0, 0, 1, 1.0, 4, 0.0, 0.0, 2, 3),
        (3, 11, 5, 1.0, 0, 0, 0.0, 2, 0.0, 0.0, 0, 1),
        (4, 11, 5, None, None, None, None, None, None, None, None, None)],
        columns=["household_id", "station_id", "town_id", "care_lives_alone", "fam_elderly_count",
                 "fam_bedridden_count", "care_no_caregiver", "house_safety", "house_no_heating",
                 "care_elderly_unattended", "health_chronic_illness", "dis_self_care"])
    cold = logic.warning_risks(frame, rules, "cold_wave")
    # 2: bedridden alone 50 + unsafe 35 + chronic and dependent 25; 1: elderly alone 40 + no heating 30
    assert cold[["household_id", "risk"]].values.tolist() == [[2, 110], [1, 70]]
    assert cold["reasons"].tolist() == [["bedridden_no_caregiver", "unsafe_housing", "chronic_illness_dependent"],
                                        ["elderly_alone", "no_heating"]]
    heat = logic.warning_risks(frame, rules, "heat_wave")
    assert heat[["household_id", "risk"]].values.tolist() == [[2, 75], [1, 40]]


@pytest.mark.parametrize("old, new, path", [
    ("events: [cold_wave]", "events: [sandstorm]", "warning.yaml: no_heating.events"),
    ("{indicator: house_no_heating, is: true}", "{indicator: house_no_heating, at_least: 1}",
     "warning.yaml: no_heating.all.0"),
    ("{indicator: house_safety, at_least: 3}", "{indicator: house_roof, at_least: 3}",
     "warning.yaml: unsafe_housing.all.0"),
])
def test_a_bad_warning_file_names_the_rule_and_the_condition(tmp_path, old, new, path):
    from api.discovery.definitions import load_warning_rules

    folder = tmp_path / "discovery"
    shutil.copytree(discovery_folder(None), folder)
    target = folder / "warning.yaml"
    assert old in target.read_text(encoding="utf-8")
    target.write_text(target.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CoreError) as caught:
        load_warning_rules(folder, default_catalog())
    assert caught.value.path == path


def test_a_catalog_without_discovery_data_has_no_sources_rules_or_events(tmp_path):
    from api.discovery.definitions import load_warning_rules

    empty = load_discovery(tmp_path / "discovery")
    assert (empty.sources, empty.rules) == ({}, ())
    assert load_warning_rules(tmp_path / "discovery").events == {}
    assert logic.priorities(pd.DataFrame({"person": [], "signal": [], "detail": [], "detail_number": []}),
                            empty.rules).empty


def _passing(rule) -> tuple:
    detail = rule.detail_in[0] if rule.detail_in else None
    number = rule.detail_at_least if rule.detail_at_least is not None else None
    return detail, number


def test_every_rule_passes_on_its_own_signal_and_only_there(discovery):
    for rule in discovery.rules:
        detail, number = _passing(rule)
        signals = pd.DataFrame([("p", rule.signal, detail, number), ("q", "no_such_signal", detail, number)],
                               columns=["person", "signal", "detail", "detail_number"])
        ranked = logic.priorities(signals, discovery.rules).set_index("person")
        same_signal = [r for r in discovery.rules if r.signal == rule.signal and _passes(r, detail, number)]
        assert ranked.loc["p", "reasons"] == [r.id for r in same_signal], rule.id
        assert ranked.loc["p", "priority"] == sum(r.priority for r in same_signal)
        assert ranked.loc["p", "candidate"] == any(r.candidate for r in same_signal)
        assert ranked.loc["q", "reasons"] == []
        if rule.detail_at_least is not None:  # just under the threshold: not passed
            below = signals.assign(detail_number=rule.detail_at_least - 0.5)
            assert rule.id not in logic.priorities(below, discovery.rules).set_index("person").loc["p", "reasons"]


def _passes(rule, detail, number) -> bool:
    """The rule's test written out again, on one signal's detail."""
    if rule.detail_in is not None:
        return detail in rule.detail_in
    if rule.detail_at_least is not None:
        return number is not None and number >= rule.detail_at_least
    return True
