"""`assess catalog`, `assess score` and `assess rank` end to end on real files."""

import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.batch import SOME_ROWS_FAILED
from cli.main import app
from indicators.loader import DEFAULT_CATALOG_DIR

runner = CliRunner()



def households(rows):
    base = {"region": "city", "year": 2026, "town_id": "t1"}
    return pd.DataFrame([{**base, **r} for r in rows])


GOOD = {"fam_size": 2, "fam_alone": False, "fam_children": 1, "child_school": 1, "econ_income": 1800,
        "econ_debt": "small", "health_chronic": 2, "health_costs": 8000, "health_insured": True}


def test_catalog_check_default_and_bad(tmp_path):
    result = runner.invoke(app, ["catalog", "check"])
    assert result.exit_code == 0, result.output
    assert "52 indicators" in result.output and "20 services" in result.output
    bad = tmp_path / "bad"
    shutil.copytree(DEFAULT_CATALOG_DIR, bad)
    doc = yaml.safe_load((bad / "indicators.yaml").read_text(encoding="utf-8"))
    doc["indicators"].append(doc["indicators"][0])
    (bad / "indicators.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["catalog", "check", str(bad)])
    assert result.exit_code == 1
    first = doc["indicators"][0]["id"]
    assert f"indicators.yaml: {first}: duplicate id '{first}'" in result.output
    doc["indicators"].pop()  # the duplicate
    doc["indicators"].pop()  # and the last real one
    (bad / "indicators.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["catalog", "check", str(bad)])
    assert result.exit_code == 1
    assert "indicators.yaml: indicators: expected 52 entries (catalog.yaml expected_counts), found 51" in result.output


def test_catalog_check_reports_yaml_syntax_errors(mini_dir):
    (mini_dir / "tiers.yaml").write_text("tiers: [oops", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "check", str(mini_dir)])
    assert result.exit_code == 1 and "tiers.yaml: (file): not valid YAML" in result.output


def test_catalog_show_prints_tables(mini_dir):
    result = runner.invoke(app, ["catalog", "show", str(mini_dir), "--lang", "en"])
    assert result.exit_code == 0
    assert "econ_income" in result.output and "critical>=severe" in result.output
    assert "child_school" in result.output and "fam_children gt 0" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_score_writes_scores_and_errors(tmp_path, mini_dir, suffix):
    source = tmp_path / f"in{suffix}"
    frame = households([
        {"household_id": "a", **GOOD},
        {"household_id": "b", **GOOD, "econ_debt": "huge"},
        {"household_id": "c", **GOOD, "fam_alone": True},
    ])
    if suffix == ".csv":
        frame.to_csv(source, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(source, index=False)
    else:
        frame.to_json(source, orient="records", lines=True)
    out = tmp_path / f"scores{suffix}"
    result = runner.invoke(app, ["score", str(source), "-o", str(out), "--catalog", str(mini_dir)])
    assert result.exit_code == SOME_ROWS_FAILED, result.output
    scores = {".csv": pd.read_csv, ".parquet": pd.read_parquet}.get(suffix, lambda p: pd.read_json(p, lines=True))(out)
    assert list(scores.household_id.astype(str)) == ["a", "c"]
    assert scores["index"].tolist() == [64.375, 69.375]  # c: fam (1 + 0.5 + 0.5)/5 = 0.4 -> +5 points
    assert list(scores.tier) == ["severe", "severe"]
    assert {"index_low", "index_high", "completeness", "dim_fam", "dim_econ", "dim_health", "top_reasons",
            "recommended_services"} <= set(scores.columns)
    errors = pd.read_csv(tmp_path / "scores.errors.csv")
    assert errors[["row", "household_id", "indicator", "code"]].values.tolist() == [[1, "b", "econ_debt", "unknown_option"]]
    warnings = pd.read_csv(tmp_path / "scores.warnings.csv")
    assert warnings[["household_id", "code"]].values.tolist() == [["c", "contradiction"]]


def test_score_exit_zero_when_all_rows_pass_and_rank_within_scope(tmp_path, mini_dir):
    rows = []
    for n, (town, income) in enumerate([("t1", 500), ("t1", 5000), ("t2", 1500), ("t2", 1500), ("t1", 2500)]):
        rows.append({"household_id": f"h{n}", **GOOD, "econ_income": income, "health_chronic": 0, "town_id": town})
    source = tmp_path / "in.csv"
    households(rows).to_csv(source, index=False)
    scored = tmp_path / "scored.parquet"
    result = runner.invoke(app, ["score", str(source), "-o", str(scored), "--catalog", str(mini_dir)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "scored.errors.csv").exists()
    ranked_path = tmp_path / "ranked.csv"
    result = runner.invoke(app, ["rank", str(scored), "-o", str(ranked_path), "--scope", "town_id",
                                 "--catalog", str(mini_dir)])
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(ranked_path)
    # income per member: 250, 2500, 750, 750, 1250 against 1200 -> d 1, 0, 1, 1, 0.6
    assert ranked[["town_id", "household_id", "rank"]].values.tolist() == [
        ["t1", "h0", 1], ["t1", "h4", 2], ["t1", "h1", 3], ["t2", "h2", 1], ["t2", "h3", 2]]
    assert ranked.percentile.tolist() == pytest.approx([100, 200 / 3, 100 / 3, 100, 50])


def test_score_rejects_unknown_file_type(tmp_path):
    (tmp_path / "x.txt").write_text("nothing")
    result = runner.invoke(app, ["score", str(tmp_path / "x.txt"), "-o", str(tmp_path / "y.csv")])
    assert result.exit_code == 2 and "unknown file type" in result.output


def test_poverty_measures_by_group(tmp_path, mini_dir):
    from tests.assessment.test_population import population

    source = tmp_path / "pop.csv"
    population().to_csv(source, index=False)
    folder = mini_dir
    report = tmp_path / "af.json"
    result = runner.invoke(app, ["poverty", str(source), "--catalog", str(folder), "--k", "0.4", "--by", "region",
                                 "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "H (headcount) 0.6667" in result.output and "M0 = H x A 0.4750" in result.output
    import json

    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["q"] == 2 and {g["group"] for g in figures["groups"]} == {"city", "district"}
    bad = runner.invoke(app, ["poverty", str(source), "--catalog", str(folder), "--by", "nowhere"])
    assert bad.exit_code == 2 and "no column 'nowhere'" in bad.output


def test_score_in_chunks_writes_what_one_chunk_writes(tmp_path, monkeypatch):
    from indicators import default_catalog
    from indicators.synth import generate_households, load_spec

    source = tmp_path / "in.parquet"
    generate_households(default_catalog(), load_spec(), 60, seed=5).to_parquet(source, index=False)
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    assert runner.invoke(app, ["score", str(source), "-o", str(whole), "--no-progress"]).exit_code == 0
    monkeypatch.setattr("cli.batch.CHUNK_ROWS", 7)  # 9 chunks, the last one short
    assert runner.invoke(app, ["score", str(source), "-o", str(chunked), "--no-progress"]).exit_code == 0
    one, many = pd.read_parquet(whole), pd.read_parquet(chunked)
    assert len(many) == 60
    pd.testing.assert_frame_equal(one.astype({c: str for c in ("top_reasons", "recommended_services")}),
                                  many.astype({c: str for c in ("top_reasons", "recommended_services")}))
    assert isinstance(many.top_reasons.dtype, pd.CategoricalDtype)  # not widened to plain text


BOM = b"\xef\xbb\xbf"


def test_scored_files_name_their_catalog_and_configuration(tmp_path, mini_dir):
    import pyarrow.parquet as pq

    from assessment.catalog import build_catalog
    from tests.factories import mini_documents

    source = tmp_path / "in.csv"
    households([{"household_id": "a", **GOOD}, {"household_id": "b", **GOOD, "health_chronic": 0}]).to_csv(
        source, index=False)
    config = tmp_path / "config.yaml"
    document = build_catalog(mini_documents()).default_config().model_dump() | {"version": "2027-01"}
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    expected = {"catalog_id": "mini", "catalog_version": "1",
                "catalog_hash": build_catalog(mini_documents()).content_hash, "config_version": "2027-01"}
    for suffix in (".parquet", ".csv", ".jsonl"):
        out = tmp_path / f"scores{suffix}"
        result = runner.invoke(app, ["score", str(source), "-o", str(out), "--catalog", str(mini_dir),
                                     "--config", str(config)])
        assert result.exit_code == 0, result.output
        read = {".csv": pd.read_csv, ".parquet": pd.read_parquet}.get(suffix, lambda p: pd.read_json(p, lines=True))
        scores = read(out)
        for column, value in expected.items():
            assert scores[column].astype(str).tolist() == [value, value]
    metadata = pq.read_schema(tmp_path / "scores.parquet").metadata
    assert {key: metadata[key.encode()].decode() for key in expected} == expected


@pytest.mark.parametrize("answers, what", [
    ({k: v for k, v in GOOD.items() if k != "econ_debt"}, "an indicator"),
    (GOOD, "a required question"),  # econ_debt is also an (optional) indicator of the default catalog
])
def test_a_file_for_another_catalog_is_one_clear_error(tmp_path, answers, what):
    source = tmp_path / "in.csv"
    households([{"household_id": "a", **answers}, {"household_id": "b", **answers}]).to_csv(source, index=False)
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(source), "-o", str(out)])  # --catalog forgotten
    assert result.exit_code == 1
    assert f"no input column is {what} of the catalog in use, weihai_default" in result.stderr
    assert "region, year, town_id, household_id, fam_size" in result.stderr and "--catalog" in result.stderr
    assert "当前目录 weihai_default" in result.stderr and result.stderr.count("error:") == 1
    assert "missing_required" not in result.output and not out.exists()
    assert not (tmp_path / "scores.errors.csv").exists()


def test_a_csv_shows_labels_in_the_readers_language_and_rounded_figures(tmp_path, mini_dir):
    source = tmp_path / "in.parquet"
    households([{"household_id": "a", **GOOD, "econ_income": 1700},
                {"household_id": "b", **GOOD, "econ_debt": "huge"}]).to_parquet(source, index=False)
    exact = tmp_path / "scores.parquet"
    assert runner.invoke(app, ["score", str(source), "-o", str(exact), "--catalog", str(mini_dir)]).exit_code == 3
    full = pd.read_parquet(exact)
    for language, suffix in (("zh", "(中)"), ("en", "")):
        out = tmp_path / f"scores_{language}.csv"
        result = runner.invoke(app, ["score", str(source), "-o", str(out), "--catalog", str(mini_dir),
                                     "--lang", language])
        assert result.exit_code == 3, result.output
        assert out.read_bytes().startswith(BOM)
        scores = pd.read_csv(out)
        row = scores.iloc[0]
        # 1700 / 2 / 1200 = 0.708 -> d 1.0 as before; the index is 64.375 and the dimension scores 0.2, 0.875, 0.625
        assert row["tier"] == "severe" and row["tier_label"] == f"Severe{suffix}"
        assert row["tier_from_index_label"] == f"Moderate{suffix}"
        assert row["raised_by_label"] == f"Illness{suffix}"
        assert row["top_reasons"] == "econ_income;health_chronic;econ_debt"
        assert row["top_reasons_label"] == f"Income{suffix};Illness{suffix};Debt{suffix}"
        assert row["recommended_services_label"] == f"Allowance{suffix};Medical aid{suffix};Tutoring{suffix}"
        assert row["region_label"] == f"City{suffix}"
        assert list(scores.columns[:4]) == ["household_id", "region", "region_label", "year"]
        for column in ("index", "index_low", "index_high", "completeness", "af_score", "dim_fam"):
            assert row[column] == round(full[column][0], 3)
        assert row["af_score"] != full["af_score"][0]  # 0.7375 x ... has more than three decimals
        errors_path = tmp_path / f"scores_{language}.errors.csv"
        assert errors_path.read_bytes().startswith(BOM)
        errors = pd.read_csv(errors_path)
        assert errors[["indicator", "indicator_label"]].values.tolist() == [["econ_debt", f"Debt{suffix}"]]
    assert not any(c.endswith("_label") for c in full.columns)


def test_a_year_after_the_last_regional_value_is_in_the_warnings_file(tmp_path, mini_dir):
    source = tmp_path / "in.csv"
    households([{"household_id": "a", **GOOD, "year": 2028}]).to_csv(source, index=False)
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["score", str(source), "-o", str(out), "--catalog", str(mini_dir), "--lang", "en"])
    assert result.exit_code == 0, result.output
    warnings = pd.read_csv(tmp_path / "scores.warnings.csv")
    assert warnings[["household_id", "indicator", "code"]].values.tolist() == [
        ["a", "econ_income", "parameter_from_earlier_year"]]
    assert "city" in warnings.message_en[0] and "2028" in warnings.message_en[0] and "2026" in warnings.message_en[0]


def test_ranked_csv_and_sensitivity_csv_are_for_people_too(tmp_path, mini_dir):
    source = tmp_path / "in.csv"
    households([{"household_id": f"h{k}", **GOOD, "econ_income": 600 * k} for k in range(1, 5)]).to_csv(
        source, index=False)
    assert source.read_bytes()[:3] != BOM  # written by pandas here, not by the command line
    scored = tmp_path / "scored.parquet"
    assert runner.invoke(app, ["score", str(source), "-o", str(scored), "--catalog", str(mini_dir)]).exit_code == 0
    ranked = tmp_path / "ranked.csv"
    result = runner.invoke(app, ["rank", str(scored), "-o", str(ranked), "--catalog", str(mini_dir), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert ranked.read_bytes().startswith(BOM)
    table = pd.read_csv(ranked)
    assert table["rank"].tolist() == [1, 2, 3, 4] and set(table["tier_label"]) <= {"Moderate", "Severe"}
    table_path = tmp_path / "sensitivity.csv"
    result = runner.invoke(app, ["config", "sensitivity", "--households", str(source), "--catalog", str(mini_dir),
                                 "-o", str(table_path)])
    assert result.exit_code == 0, result.output
    assert table_path.read_bytes().startswith(BOM)
