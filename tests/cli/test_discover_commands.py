"""`assess discover import|match|sources` against the service's database: the report of a good file, of a bad one
(file, row, column, reason; nothing stored), and a second import adding nothing."""

from __future__ import annotations

from typer.testing import CliRunner

from api.geography.service import create_station, create_town
from cli.main import app as cli
from tests.api.discovery.helpers import DISABILITY, csv_bytes, days_ago
from tests.api.factories import resident_id_number
from tests.api.support import DATA_KEY, HASH_KEY, count_rows


def test_import_reports_rows_refusals_and_a_second_import_adds_nothing(app, database_url, tmp_path, monkeypatch):
    for name, value in (("ASSESS_DATABASE_URL", database_url), ("ASSESS_DATA_KEY", DATA_KEY),
                        ("ASSESS_HASH_KEY", HASH_KEY), ("ASSESS_ENV", "production")):
        monkeypatch.setenv(name, value)
    context = app.state.context
    regions = [r.id for r in context.scorer.catalog.regions if r.parent]
    with context.database.session(write=True) as session:
        town = create_town(session=session, caller=None, name="环翠", region_id=regions[0])["id"]
        create_station(session=session, caller=None, name="S", town_id=town)
    runner = CliRunner()
    good = tmp_path / "残联.csv"
    good.write_bytes(csv_bytes(DISABILITY, [[resident_id_number(501), "甲", "1950-01-01", "环翠", days_ago(3), "一级"],
                                            ["", "乙", "1951-02-03", "环翠", days_ago(3), "二级"]]))
    first = runner.invoke(cli, ["discover", "import", str(good), "--source", "disability"])
    assert first.exit_code == 0, first.output
    assert "2 rows, 2 new records, 0 already known, 0 problem(s) refused" in first.stdout
    assert "candidates_new 2" in first.stdout
    second = runner.invoke(cli, ["discover", "import", str(good), "--source", "disability"])
    assert second.exit_code == 0 and "0 new records, 2 already known" in second.stdout
    assert count_rows(app, "discovery_records") == 2 and count_rows(app, "discovery_candidates") == 2

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(DISABILITY, [["", "丙", "1950-01-01", "环翠", days_ago(3), "一级"],
                                           ["", "丁", "1950-99-01", "环翠", days_ago(3), "一级"]]))
    refused = runner.invoke(cli, ["discover", "import", str(bad), "--source", "disability"])
    assert refused.exit_code == 1
    assert "bad.csv row 3, column 出生日期: the birth date is not a date" in refused.stderr
    assert "出生日期不是日期" in refused.stderr
    unknown = runner.invoke(cli, ["discover", "import", str(good), "--source", "weather"])
    assert unknown.exit_code == 1 and "Unknown source 'weather'" in unknown.stderr
    assert count_rows(app, "discovery_records") == 2
    listed = runner.invoke(cli, ["discover", "sources"])
    assert listed.exit_code == 0 and "medical_bills: signal medical_bill, fresh 365 days" in listed.stdout
    matched = runner.invoke(cli, ["discover", "match"])
    assert matched.exit_code == 0 and "candidates_new 0" in matched.stdout
