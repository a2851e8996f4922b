"""`assess config`: template, check, show, preview and sensitivity on real files."""

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from indicators import default_catalog
from indicators.loader import load_config
from tests.assessment.test_impact import DRAFT, hand_frame

runner = CliRunner()



def test_template_round_trip(tmp_path):
    template = tmp_path / "config.yaml"
    result = runner.invoke(app, ["config", "template", "-o", str(template)])
    assert result.exit_code == 0, result.output
    catalog = default_catalog()
    assert load_config(template, catalog) == catalog.default_config()
    result = runner.invoke(app, ["config", "check", str(template)])
    assert result.exit_code == 0, result.output
    assert "0 setting(s) differ" in result.output

    edited = yaml.safe_load(template.read_text(encoding="utf-8"))
    first = catalog.indicators[0]
    edited["indicator_weights"][first.id] = first.weight * 4
    edited["version"] = "2026-analyst-1"
    template.write_text(yaml.safe_dump(edited), encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(template)])
    assert result.exit_code == 0, result.output
    assert "1 setting(s) differ" in result.output
    assert f"indicator_weights.{first.id}: {first.weight:g} -> {first.weight * 4:g}" in result.output
    shown = runner.invoke(app, ["config", "show", str(template)])
    assert shown.exit_code == 0 and "2026-analyst-1" in shown.output and first.id in shown.output


def test_check_names_the_bad_field_in_both_languages(tmp_path, mini_dir):
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump({"indicator_weights": {"fam_alone": -2}}), encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(draft), "--catalog", str(mini_dir)])
    assert result.exit_code == 1
    assert "indicator_weights.fam_alone: weight must be positive" in result.output
    assert "错误" in result.output and "权重必须为正数" in result.output

    draft.write_text("tier_cutoffs: {moderate: 20", encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(draft), "--catalog", str(mini_dir)])
    assert result.exit_code == 1 and "not valid YAML" in result.output


def test_show_default_lists_cutoffs_and_weights(mini_dir):
    result = runner.invoke(app, ["config", "show", "--catalog", str(mini_dir)])
    assert result.exit_code == 0, result.output
    assert "method weighted_mean" in result.output
    for text in ("moderate", "econ_income", "health_chronic"):
        assert text in result.output


def test_preview_prints_and_writes_the_hand_report(tmp_path, mini_dir):
    draft, households, report = tmp_path / "draft.yaml", tmp_path / "households.csv", tmp_path / "out" / "report.json"
    draft.write_text(yaml.safe_dump(DRAFT), encoding="utf-8")
    hand_frame().to_csv(households, index=False)
    result = runner.invoke(app, ["config", "preview", str(draft), "--households", str(households), "--catalog",
                                 str(mini_dir), "--movers", "3", "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "7 households compared, 1 invalid" in result.output
    assert "changed tier: 3 (up 2, down 1)" in result.output
    assert "Spearman 0.8571, Kendall 0.7143" in result.output
    document = json.loads(report.read_text(encoding="utf-8"))
    assert [m["household_id"] for m in document["movers"]] == ["h2", "h3", "h5"]
    assert document["tier_changes"]["light"]["none"] == 1
    assert {row["station_id"]: row["changed_tier"] for row in document["by_scope"]} == {"s1": 2, "s2": 1}


def test_preview_against_a_published_file(tmp_path, mini_dir):
    # Published: the draft itself; previewing a draft that changes nothing moves nobody.
    published, draft, households = tmp_path / "published.yaml", tmp_path / "same.yaml", tmp_path / "h.csv"
    published.write_text(yaml.safe_dump({**DRAFT, "id": "pub", "version": "7"}), encoding="utf-8")
    draft.write_text(yaml.safe_dump({"version": "8"}), encoding="utf-8")
    hand_frame().to_csv(households, index=False)
    result = runner.invoke(app, ["config", "preview", str(draft), "--households", str(households), "--published",
                                 str(published), "--scope", "", "--catalog", str(mini_dir)])
    assert result.exit_code == 0, result.output
    assert "published 7 -> draft 8" in result.output and "changed tier: 0" in result.output
    assert "per station_id" not in result.output


def test_sensitivity_writes_the_table(tmp_path, mini_dir):
    households, output = tmp_path / "households.csv", tmp_path / "sensitivity.csv"
    hand_frame().to_csv(households, index=False)
    result = runner.invoke(app, ["config", "sensitivity", "--households", str(households), "--factor", "3",
                                 "--indicator", "fam_alone", "--catalog", str(mini_dir), "-o", str(output)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    assert sorted(table["id"]) == ["econ", "fam", "fam_alone", "health"]
    # health x 3 over the 7 valid hand households: h2, h7 down, h3, h6 up (see test_sensitivity)
    assert table.set_index("id").loc["health", "share_changing_tier"] == pytest.approx(4 / 7)
    assert table["share_changing_tier"].is_monotonic_decreasing

    result = runner.invoke(app, ["config", "sensitivity", "--households", str(households), "--factor", "0",
                                 "--catalog", str(mini_dir)])
    assert result.exit_code == 1 and "factor: must be a positive number" in result.output
