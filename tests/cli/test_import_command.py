"""`assess import`: a file with bad rows imported twice (exact counts, nothing added the second time), and an
import killed half-way and resumed."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from api.assessments.store import refresh_latest
from api.assessments.tables import Assessment, HouseholdLatest, LatestAnswers
from api.id_numbers import check_character
from assessment import AnswersInvalid, assess
from cli.intake import SOME_ROWS_REFUSED
from cli.main import app as cli
from tests.api.factories import calm_answers, with_answer
from tests.api.support import DATA_KEY, HASH_KEY, count_rows
from tests.api.workflow_helpers import new_household

runner = CliRunner()
ROOT = Path(__file__).parents[2]


def id_number(serial: int) -> str:
    """A valid resident ID number, a different one for each serial below 1,000,000."""
    first17 = f"371002{19500101 + (serial // 1000) * 100:08d}{serial % 1000:03d}"[:17]
    return first17 + check_character(first17)


def environment(monkeypatch, database_url):
    for name, value in (("ASSESS_DATABASE_URL", database_url), ("ASSESS_DATA_KEY", DATA_KEY),
                        ("ASSESS_HASH_KEY", HASH_KEY), ("ASSESS_ENV", "production")):
        monkeypatch.setenv(name, value)


def latest_rows(app) -> dict:
    with app.state.context.database.session() as session:
        return {row.household_id: {c.name: getattr(row, c.name) for c in HouseholdLatest.__table__.columns}
                for row in session.scalars(select(HouseholdLatest))} | {
            ("line", row.household_id): (row.assessment_id, row.layout, row.answers)
            for row in session.scalars(select(LatestAnswers))}


def rebuilt_latest_rows(app, catalog) -> dict:
    """The latest rows as api.assessments.store.refresh_latest rebuilds them from the stored assessments."""
    with app.state.context.database.session(write=True) as session:
        refresh_latest(session, household_ids=list(session.scalars(select(HouseholdLatest.household_id))),
                       catalog=catalog)
    return latest_rows(app)


def valid(catalog, answers: dict, region: str) -> bool:
    try:
        assess(catalog, answers, region=region, year=2026)
    except AnswersInvalid:
        return False
    return True


def report_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_file_with_bad_rows_imported_twice(app, client, city, catalog, database_url, monkeypatch, tmp_path):
    environment(monkeypatch, database_url)
    region = next(t for t in app.state.context.scorer.catalog.regions if t.parent).id  # the region of town T1
    calm = calm_answers(catalog)
    served = new_household(client, city, "S1", "caseworker_s1")  # at S1: assessed by its number
    elsewhere_number = id_number(900)
    new_household(client, city, "S3", "caseworker_s3", id_number=elsewhere_number)  # at S3: a duplicate
    size = catalog.indicator_by_id["fam_household_size"].answer
    rows = [
        {"household_id": "A-1", "id_number": id_number(1), "name": "王秀兰", "assessed_on": "2026-02-01"},  # stored
        {"household_id": "A-1", "id_number": id_number(1), "assessed_on": "2026-03-01"},  # stored, same household
        {"household_id": "B-1", "id_number": id_number(2)[:-1] + "0" if id_number(2)[-1] != "0"
         else id_number(2)[:-1] + "1", "name": "李建国"},  # bad check character
        {"household_id": "C-1", "id_number": id_number(3)},  # new household without a name
        {"household_id": "D-1", "id_number": id_number(4), "name": "张桂英",
         "fam_household_size": size.max + 79},  # an answer out of range
        {"household_id": str(served), "assessed_on": "2026-03-02"},  # stored: the service's household number
        {"household_id": "999999"},  # no such household, no ID number
        {"household_id": "E-1", "id_number": elsewhere_number, "name": "刘海燕"},  # registered at another station
        {"household_id": "F-1", "id_number": id_number(5), "name": "陈明德", "region": "somewhere_else"},
        {"household_id": "A-1", "id_number": id_number(1), "name": "王秀兰", "assessed_on": "2026-02-01"},  # again
        {"household_id": "A-1", "id_number": id_number(1), "assessed_on": "2026-03-01",
         "fam_elderly_count": 2},  # the key of row 2 with other answers
    ]
    frame = pd.DataFrame([{**calm, "region": region, "assessed_on": "2026-01-15", **row} for row in rows])
    frame.loc[frame["household_id"] == "F-1", "region"] = "somewhere_else"
    path = tmp_path / "roll.csv"
    frame.to_csv(path, index=False)
    households_before = count_rows(app, "households")

    result = runner.invoke(cli, ["import", str(path), "--station", str(city.stations["S1"]),
                                 "--user", "caseworker_s1"])
    assert result.exit_code == SOME_ROWS_REFUSED, result.output
    assert "3 stored (1 new households), 1 already stored, 7 refused of 11 rows" in result.output
    report = report_rows(tmp_path / "roll.import-report.csv")
    assert [r["outcome"] for r in report] == ["stored", "stored", "refused", "refused", "refused", "stored",
                                              "refused", "refused", "refused", "already_stored", "refused"]
    assert [r["code"] for r in report if r["outcome"] == "refused"] == [
        "invalid_id_number", "name_required", "invalid_answers", "unknown_household", "duplicate_id_number",
        "other_region", "duplicate_row"]
    assert all(r["message_zh"] and r["message_en"] for r in report if r["outcome"] == "refused")
    assert report[0]["registered"] == "yes" and report[1]["registered"] == ""
    assert report[0]["household_id"] == report[1]["household_id"] == report[9]["household_id"]
    assert report[9]["assessment_id"] == report[0]["assessment_id"]
    assert report[5]["household_id"] == str(served)
    assert "fam_household_size" in report[4]["field"]
    assert elsewhere_number not in path.with_name("roll.import-report.csv").read_text(encoding="utf-8-sig")
    assert count_rows(app, "households") == households_before + 1
    assert count_rows(app, "assessments") == 3
    new_id = int(report[0]["household_id"])
    with app.state.context.database.session() as session:
        latest = session.get(HouseholdLatest, new_id)
        assert latest.assessed_on.isoformat() == "2026-03-01"  # the later of its two rows
        assert latest.assessment_id == int(report[1]["assessment_id"])
        assert latest.previous_assessment_id == int(report[0]["assessment_id"])
        stored = session.get(Assessment, int(report[5]["assessment_id"]))
        assert stored.answers == calm and stored.index == 0.0 and stored.tier == catalog.tier_ids[0]
    # the latest rows built from the imported records are those the stored assessments give
    assert latest_rows(app) == rebuilt_latest_rows(app, catalog)
    # the service reads the new household like any other
    response = client.get(f"/v1/households/{new_id}", headers=city.auth("caseworker_s1"))
    assert response.status_code == 200 and response.json()["personal"]["name"] == "王秀兰"

    tables = {name: count_rows(app, name) for name in ("households", "assessments", "household_latest")}
    again = runner.invoke(cli, ["import", str(path), "--station", str(city.stations["S1"]),
                                "--user", "caseworker_s1", "--report", str(tmp_path / "again.csv")])
    assert again.exit_code == SOME_ROWS_REFUSED
    assert "0 stored (0 new households), 4 already stored, 7 refused of 11 rows" in again.output
    assert {name: count_rows(app, name) for name in tables} == tables
    second = report_rows(tmp_path / "again.csv")
    assert [r["assessment_id"] for r in second if r["outcome"] == "already_stored"] == \
        [report[i]["assessment_id"] for i in (0, 1, 5, 9)]


def test_a_caller_out_of_scope_imports_nothing(app, client, city, catalog, database_url, monkeypatch, tmp_path):
    environment(monkeypatch, database_url)
    path = tmp_path / "roll.csv"
    pd.DataFrame([{**calm_answers(catalog), "household_id": "A", "id_number": id_number(7), "name": "周"}]) \
        .to_csv(path, index=False)
    result = runner.invoke(cli, ["import", str(path), "--station", str(city.stations["S1"]),
                                 "--user", "caseworker_s3"])
    assert result.exit_code == 2 and "outside your role or scope" in result.output
    assert count_rows(app, "assessments") == 0 and count_rows(app, "import_jobs") == 0


def test_excel_and_parquet_read_as_csv(app, client, city, catalog, database_url, monkeypatch, tmp_path):
    environment(monkeypatch, database_url)
    calm = calm_answers(catalog)
    frame = pd.DataFrame([{**calm, "household_id": f"X{n}", "id_number": id_number(100 + n), "name": "吴",
                           "assessed_on": "2026-01-10"} for n in range(3)])
    frame.to_excel(tmp_path / "roll.xlsx", index=False)
    frame.to_parquet(tmp_path / "roll.parquet", index=False)
    first = runner.invoke(cli, ["import", str(tmp_path / "roll.xlsx"), "--station", str(city.stations["S1"]),
                                "--user", "supervisor_t1"])
    assert first.exit_code == 0 and "3 stored (3 new households)" in first.output, first.output
    second = runner.invoke(cli, ["import", str(tmp_path / "roll.parquet"), "--station", str(city.stations["S1"]),
                                 "--user", "supervisor_t1"])
    assert second.exit_code == 0 and "0 stored (0 new households), 3 already stored" in second.output


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux: read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_import_killed_half_way_resumes_with_exact_counts(app, city, catalog, database_url, monkeypatch,
                                                              tmp_path):
    environment(monkeypatch, database_url)
    calm = calm_answers(catalog)
    region = next(r for r in catalog.regions if r.parent).id
    elderly = [count for count in range(catalog.indicator_by_id["fam_elderly_count"].answer.max + 1)
               if valid(catalog, with_answer(calm, fam_elderly_count=count), region)]  # within the household size
    assert len(elderly) >= 2
    total = 3000
    frame = pd.DataFrame([with_answer(calm, household_id=f"H{n}", id_number=id_number(n), name=f"户{n}",
                                      assessed_on="2026-01-20", fam_elderly_count=elderly[n % len(elderly)])
                          for n in range(total)])
    path = tmp_path / "big.parquet"
    frame.to_parquet(path, index=False)
    command = [sys.executable, "-m", "cli.main", "import", str(path), "--station", str(city.stations["S1"]),
               "--user", "caseworker_s1", "--chunk-rows", "50"]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    engine = create_engine(app.state.context.database.url)
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 200:
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
            with engine.connect() as connection:
                stored = connection.execute(text("SELECT COUNT(*) FROM import_rows")).scalar_one()
        workers = children(process.pid)  # the process reading chunks ahead (and multiprocessing's tracker)
        assert workers
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        while any(alive(pid) for pid in workers):  # they end with the import
            assert time.monotonic() < deadline + 30
            time.sleep(0.05)
        with engine.connect() as connection:
            at_kill = connection.execute(text("SELECT rows_done FROM import_jobs")).scalar_one()
            assert connection.execute(text("SELECT COUNT(*) FROM assessments")).scalar_one() == at_kill
            assert connection.execute(text("SELECT COUNT(*) FROM import_rows")).scalar_one() == at_kill
    finally:
        engine.dispose()
    assert 0 < at_kill < total and at_kill % 50 == 0  # whole chunks only

    result = runner.invoke(cli, ["import", str(path), "--station", str(city.stations["S1"]),
                                 "--user", "caseworker_s1", "--chunk-rows", "500"])
    assert result.exit_code == 0, result.output
    assert f"resuming import 1 at row {at_kill + 1} of {total}" in result.output
    assert f"{total} stored ({total} new households), 0 already stored, 0 refused of {total} rows" in result.output
    assert count_rows(app, "households") == total
    assert count_rows(app, "assessments") == total
    assert count_rows(app, "household_latest") == total
    assert latest_rows(app) == rebuilt_latest_rows(app, catalog)
    report = report_rows(path.with_name("big.import-report.csv"))
    assert [int(r["row"]) for r in report] == list(range(1, total + 1))
    assert {r["outcome"] for r in report} == {"stored"}
    with app.state.context.database.session() as session:
        answers = dict(session.execute(select(Assessment.idempotency_key, Assessment.answers)).all())
    assert sorted(a["fam_elderly_count"] for a in answers.values()) == \
        sorted(elderly[n % len(elderly)] for n in range(total))
