"""The import's service functions: a row without a date is the same row when imported again another day; an
exited household assessed by an import comes back into the programme; rows scored together store what the
single-household path gives each."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date

import pandas as pd
from sqlalchemy import Text, cast, select

from api.assessments.tables import Assessment

from api.auth.service import user_caller
from api.encoding import dumps
from api.households import lifecycle
from api.households.tables import Household, StatusEvent
from api.intake import imports
from assessment import AnswersInvalid
from indicators.synth import generate_households, load_spec
from tests.api.factories import calm_answers, resident_id_number
from tests.api.support import HASH_KEY, count_rows
from tests.api.workflow_helpers import new_household


def test_an_undated_row_imported_on_two_days_is_stored_once(app, city, catalog):
    context = app.state.context
    record = {**calm_answers(catalog), "household_id": "K-7", "id_number": resident_id_number(77), "name": "孙"}
    outcomes = []
    for day, file_hash in ((date(2026, 3, 1), "a"), (date(2026, 3, 2), "b")):
        with context.database.session(write=True) as session:
            caller = user_caller(session, city.user_ids["caseworker_s1"])
            job = imports.start_job(session=session, caller=caller, station_id=city.stations["S1"], file_name="f.csv",
                                    file_hash=file_hash, rows=1)
            outcomes += imports.import_chunk(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                                             job_id=job["id"], start=0, rows=pd.DataFrame([record]), today=day,
                                             earliest_assessed_on=date(2000, 1, 1))
    assert [outcome.outcome for outcome in outcomes] == ["stored", "already_stored"]
    assert outcomes[0].assessment_id == outcomes[1].assessment_id
    assert count_rows(app, "assessments") == 1


def test_a_household_an_import_registers_is_found_by_its_name_and_birth_date_hash(app, city, catalog):
    """The keyed hash department records without an ID number are matched by: the normal name (no spaces) and the
    birth date the ID number carries, under the hash key."""
    context = app.state.context
    record = {**calm_answers(catalog), "household_id": "K-8", "name": "王 秀英",
              "id_number": resident_id_number(78, birth="19560412")}
    with context.database.session(write=True) as session:
        caller = user_caller(session, city.user_ids["caseworker_s1"])
        job = imports.start_job(session=session, caller=caller, station_id=city.stations["S1"], file_name="f.csv",
                                file_hash="h", rows=1)
        [outcome] = imports.import_chunk(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                                         job_id=job["id"], start=0, rows=pd.DataFrame([record]),
                                         earliest_assessed_on=date(2000, 1, 1))
    assert outcome.outcome == "stored" and outcome.registered
    with context.database.session() as session:
        stored = session.get(Household, outcome.household_id).name_birth_hash
    expected = hmac.new(HASH_KEY.encode(), "name_birth\x1f王秀英\x1f1956-04-12".encode(), hashlib.sha256).hexdigest()
    assert stored == expected


def test_an_imported_assessment_brings_an_exited_household_back(app, client, city, catalog):
    context = app.state.context
    household = new_household(client, city, "S1", "caseworker_s1")
    with context.database.session(write=True) as session:
        caller = user_caller(session, city.user_ids["caseworker_s1"])
        lifecycle.exit_household(session=session, caller=caller, catalog=catalog, household_id=household,
                                 reason="moved")
    with context.database.session(write=True) as session:
        job = imports.start_job(session=session, caller=caller, station_id=city.stations["S1"], file_name="f.csv",
                                file_hash="c", rows=1)
        [outcome] = imports.import_chunk(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                                         job_id=job["id"], start=0, earliest_assessed_on=date(2000, 1, 1),
                                         rows=pd.DataFrame([{**calm_answers(catalog), "household_id": str(household),
                                                                     "assessed_on": "2026-03-03"}]))
    assert outcome.outcome == "stored"
    with context.database.session() as session:
        assert session.get(Household, household).status == "active"
        events = session.execute(select(StatusEvent.status, StatusEvent.reason, StatusEvent.assessment_id)
                                 .where(StatusEvent.household_id == household).order_by(StatusEvent.id)).all()
    assert [tuple(event) for event in events] == [("exited", "moved", None),
                                                  ("active", "new_assessment", outcome.assessment_id)]


def test_imported_rows_store_the_results_the_single_household_path_gives(app, city, catalog):
    """Rows scored together store, each, the result `scorer.score` gives for the same answers alone; a row with
    missing answers is stored with them missing, and a row with invalid answers is refused with the messages
    `scorer.score` raises."""
    context = app.state.context
    scorer = context.scorer
    region = next(r for r in catalog.regions if r.parent).id  # the region of town T1, station S1's
    frame = generate_households(catalog, load_spec(), 60, 11)
    indicator_ids = [i.id for i in catalog.indicators if i.id in frame.columns]
    records = [{key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()
                if not pd.isna(value)} for row in frame[indicator_ids].to_dict("records")]
    optional = [i.id for i in catalog.indicators if not i.required and i.id in records[0]]
    records[1] = {key: value for key, value in records[1].items() if key not in optional[:6]}  # missing answers
    records[2] = {**records[2], "fam_household_size": "many", "econ_income_per_capita": -5}  # invalid answers
    rows = [{**answers, "household_id": f"H{n}", "id_number": resident_id_number(500 + n), "name": "钱",
             "assessed_on": "2026-03-01"} for n, answers in enumerate(records)]
    with context.database.session(write=True) as session:
        caller = user_caller(session, city.user_ids["caseworker_s1"])
        job = imports.start_job(session=session, caller=caller, station_id=city.stations["S1"], file_name="f.csv",
                                file_hash="same", rows=len(rows))
        outcomes = imports.import_chunk(session=session, caller=caller, keys=context.keys, scorer=scorer,
                                        job_id=job["id"], start=0, rows=pd.DataFrame(rows),
                                        earliest_assessed_on=date(2000, 1, 1))
    with context.database.session() as session:
        stored = {row.id: row for row in session.scalars(select(Assessment))}
        stored_text = dict(session.execute(select(Assessment.id, cast(Assessment.result, Text))).all())
    expected_refused = 0
    for answers, outcome in zip(records, outcomes):
        try:
            expected = scorer.score(answers, region=region, year=2026)
        except AnswersInvalid as invalid:
            expected_refused += 1
            errors = [f for f in invalid.findings if f.severity == "error"]
            assert len(errors) == 2
            assert (outcome.outcome, outcome.code, outcome.path) == ("refused", "invalid_answers", errors[0].path)
            assert outcome.message_en == "; ".join(f.message.en for f in errors)
            assert outcome.message_zh == ";".join(f.message.zh for f in errors)
            continue
        assert outcome.outcome == "stored"
        assessment = stored[outcome.assessment_id]
        assert stored_text[outcome.assessment_id] == dumps(expected.result)  # the text the single path stores
        assert (assessment.index, assessment.tier, assessment.completeness, assessment.provisional) == (
            expected.result["index"], expected.result["tier"], expected.result["completeness"],
            expected.result["provisional"])
    assert expected_refused == 1 and outcomes[2].outcome == "refused"
    assert set(stored[outcomes[1].assessment_id].result["missing"]) >= set(optional[:6]) - set(
        stored[outcomes[1].assessment_id].result["not_applicable"])
    assert sum(bool(a.result["warnings"]) for a in stored.values()) >= 1  # warnings are compared too


def test_a_chunks_answers_read_column_by_column_are_each_rows_answers(catalog):
    """The same cell reads the same in any row (read once per column), blanks are left out, a refused answer is
    kept as sent; and each row reads as the single-submission path reads it."""
    frame = pd.DataFrame({
        "household_id": ["a", "b", "c", "d"],
        "fam_household_size": [3.0, "4", float("nan"), "many"],
        "econ_utility_arrears": ["yes", True, " ", "no"],
        "econ_savings": [" 2 ", 2, 2.0, None],
    })
    expected = [{"fam_household_size": 3, "econ_utility_arrears": True, "econ_savings": 2},
                {"fam_household_size": 4, "econ_utility_arrears": True, "econ_savings": 2},
                {"econ_savings": 2},
                {"fam_household_size": "many", "econ_utility_arrears": False}]
    answers = imports.answers_of(catalog, frame)
    assert answers == expected
    assert {key: type(value) for key, value in answers[0].items()} == {
        "fam_household_size": int, "econ_utility_arrears": bool, "econ_savings": int}
    for row, record in zip(answers, frame.to_dict("records")):
        assert imports.read_answers(catalog, record) == row


def test_a_rows_key_names_its_station_household_key_and_date_and_nothing_else():
    """Equal rows give one key (importing again finds them); a different station, key or date another one."""
    rows = [(3, "R123", date(2026, 3, 1)), (3, "R123", date(2026, 3, 2)), (4, "R123", date(2026, 3, 1)),
            (3, "R124", date(2026, 3, 1)), (12, "户-７", None), (1, "x" * 200, None)]
    keys = [imports.row_key(*row) for row in rows]
    assert len(set(keys)) == len(rows)
    assert keys == [imports.row_key(*row) for row in rows]
    assert all(uuid.UUID(key).version == 5 for key in keys)


def test_typed_columns_are_read_per_distinct_cell_as_each_row_reads(catalog):
    """Columns of one type (numbers with NaN, nullable integers and booleans, categories, text) are read once per
    distinct cell: blanks left out, each answer in its canonical form, as `read_answers` reads each row."""
    frame = pd.DataFrame({
        "household_id": ["a", "b", "c", "d"],
        "fam_household_size": pd.Series([3.0, float("nan"), 3.0, 5.0]),
        "econ_savings": pd.Series([2, None, 0, 2], dtype="Int64"),
        "econ_utility_arrears": pd.Series([True, None, False, True], dtype="boolean"),
        "health_insurance": pd.Series(["all", " ", None, "none "], dtype=object),
        "house_tenure": pd.Series(["owned", None, "owned", "borrowed"], dtype="category"),
    })
    expected = [{"fam_household_size": 3, "econ_savings": 2, "econ_utility_arrears": True, "health_insurance": "all",
                 "house_tenure": "owned"},
                {},
                {"fam_household_size": 3, "econ_savings": 0, "econ_utility_arrears": False, "house_tenure": "owned"},
                {"fam_household_size": 5, "econ_savings": 2, "econ_utility_arrears": True,
                 "health_insurance": "none", "house_tenure": "borrowed"}]
    answers = imports.answers_of(catalog, frame)
    assert answers == expected
    assert {key: type(value) for key, value in answers[0].items()} == {
        "fam_household_size": int, "econ_savings": int, "econ_utility_arrears": bool, "health_insurance": str,
        "house_tenure": str}
    for row, record in zip(answers, frame.to_dict("records")):
        assert imports.read_answers(catalog, record) == row


def test_an_import_into_assessed_households_keeps_each_latest_row_on_its_latest_assessment(app, city, catalog):
    """Households assessed before: a row dated after their assessment becomes their latest, one dated before
    stays behind it (as the previous one), two rows of one household take their order; each latest row and
    answers line is the one rebuilt from the stored assessments."""
    from api.assessments.store import refresh_latest
    from api.assessments.tables import HouseholdLatest, LatestAnswers

    context = app.state.context
    people = {"A": resident_id_number(601), "B": resident_id_number(602), "C": resident_id_number(603)}

    def run(rows, file_hash):
        with context.database.session(write=True) as session:
            caller = user_caller(session, city.user_ids["caseworker_s1"])
            job = imports.start_job(session=session, caller=caller, station_id=city.stations["S1"],
                                    file_name="f.csv", file_hash=file_hash, rows=len(rows))
            return imports.import_chunk(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                                        job_id=job["id"], start=0, rows=pd.DataFrame(rows),
                                        earliest_assessed_on=date(2000, 1, 1))

    def row(key, day):
        return {**calm_answers(catalog), "household_id": key, "id_number": people[key], "name": "周",
                "assessed_on": day}

    first = {o.source_key: o for o in run([row(key, "2026-03-01") for key in people], "first")}
    second = run([row("A", "2026-04-01"), row("B", "2026-02-01"), row("C", "2026-05-01"), row("C", "2026-04-01")],
                 "second")
    assert [o.outcome for o in second] == ["stored"] * 4
    assert {o.household_id for o in second} == {first[key].household_id for key in people}

    def latest_rows():
        with context.database.session() as session:
            rows = {r.household_id: {c.name: getattr(r, c.name) for c in HouseholdLatest.__table__.columns}
                    for r in session.scalars(select(HouseholdLatest))}
            lines = {r.household_id: (r.assessment_id, r.answers) for r in session.scalars(select(LatestAnswers))}
        return rows, lines

    rows, lines = latest_rows()
    expected = {"A": (second[0].assessment_id, first["A"].assessment_id),
                "B": (first["B"].assessment_id, second[1].assessment_id),
                "C": (second[2].assessment_id, second[3].assessment_id)}
    for key, (latest, previous) in expected.items():
        household = first[key].household_id
        assert (rows[household]["assessment_id"], rows[household]["previous_assessment_id"]) == (latest, previous)
        assert lines[household][0] == latest
    with context.database.session(write=True) as session:
        refresh_latest(session, household_ids=list(rows), catalog=catalog)
    assert latest_rows() == (rows, lines)


def reader_rows(catalog) -> pd.DataFrame:
    """21 rows: synthetic answers with ID numbers and names, and some rows refused while read or scored."""
    frame = generate_households(catalog, load_spec(), 21, 13)
    frame = frame[[i.id for i in catalog.indicators if i.id in frame.columns]].copy()
    frame.insert(0, "household_id", [f"W{n}" for n in range(21)])
    frame["id_number"] = [resident_id_number(700 + n) for n in range(21)]
    frame["name"] = ["吴"] * 20 + [" "]  # the last one cannot register: no name
    frame["assessed_on"] = "2026-03-01"
    frame.loc[3, "assessed_on"] = "someday"  # refused while read
    frame.loc[9, "fam_household_size"] = -4  # refused when scored
    return frame


def same_chunk(one, other, keys) -> None:
    """Two preparations of a chunk hold the same rows, read and scored alike (the personal data, encrypted anew
    each time, compared decrypted)."""
    from api.security import decrypt_json

    assert (one.start, one.rows, one.today, one.place, one.config) == (other.start, other.rows, other.today,
                                                                      other.place, other.config)
    assert one.refused == other.refused
    assert len(one.plans) == len(other.plans) > 0
    for a, b in zip(one.plans, other.plans):
        assert (a.row, a.key, a.answers, a.id_hash, a.answers_line, a.latest_fields, a.name_refused is None) == (
            b.row, b.key, b.answers, b.id_hash, b.answers_line, b.latest_fields, b.name_refused is None)
        if isinstance(a.scored, AnswersInvalid):
            assert b.scored.findings == a.scored.findings
        else:
            assert a.scored.text == b.scored.text and dict(a.scored) == dict(b.scored)
        assert (a.sealed is None) == (b.sealed is None)
        if a.sealed is not None:
            assert decrypt_json(keys, a.sealed[0]) == decrypt_json(keys, b.sealed[0]) and a.sealed[1] == b.sealed[1]
            assert a.personal is None and b.personal is None  # sealed, it is not sent in the clear


def started_reader(context, city, catalog) -> imports.ChunkReader:
    """A reader of `reader_rows` for station S1 in chunks of 7, its worker process started."""
    with context.database.session() as session:
        place = imports._place(session, city.stations["S1"])
    reader = imports.ChunkReader(catalog=catalog, keys=context.keys, place=place, frame=reader_rows(catalog),
                                 chunk_rows=7, earliest_assessed_on=date(2000, 1, 1))
    assert reader.started.result(timeout=120)
    return reader


def check_read_as_here(reader, chunks) -> None:
    for chunk in chunks:
        here = imports.prepare_chunk(catalog=reader.catalog, keys=reader.keys, place=reader.place, start=chunk.start,
                                     rows=reader.frame.iloc[chunk.start:chunk.start + reader.chunk_rows],
                                     config=chunk.config, earliest_assessed_on=reader.earliest_assessed_on,
                                     today=chunk.today)
        same_chunk(chunk, here, reader.keys)


def test_chunks_read_in_the_worker_process_are_the_chunks_read_here(app, city, catalog):
    config = catalog.default_config()
    with started_reader(app.state.context, city, catalog) as reader:
        first = reader.read(0, config)  # read here, the next two given to the worker
        assert sorted(reader.given) == [7, 14]
        chunks = [first, reader.read(7, config), reader.read(14, config)]
    assert [chunk.start for chunk in chunks] == [0, 7, 14]
    check_read_as_here(reader, chunks)
    assert [o.code for o in chunks[0].refused] == ["invalid_date"]
    assert isinstance(chunks[1].plans[2].scored, AnswersInvalid)  # row 9
    assert chunks[2].plans[-1].name_refused is not None and chunks[2].plans[-1].sealed is None  # row 20


def test_chunks_are_read_here_once_the_worker_died(app, city, catalog):
    import multiprocessing
    import os
    import signal

    config = catalog.default_config()
    with started_reader(app.state.context, city, catalog) as reader:
        reader.read(0, config)
        [worker] = multiprocessing.active_children()
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=30)
        chunks = [reader.read(7, config), reader.read(14, config)]
        assert reader.pool is None and not reader.given
    check_read_as_here(reader, chunks)


def test_a_chunk_read_under_a_configuration_no_longer_published_is_read_again(app, city, catalog):
    """A chunk read ahead under the configuration published then is stored under the one published when it is
    stored (and scored by it)."""
    from tests.api.workflow_helpers import publish_test_cutoffs

    context = app.state.context
    frame = reader_rows(catalog).iloc[:2]
    with context.database.session() as session:
        place = imports._place(session, city.stations["S1"])
    ahead = imports.prepare_chunk(catalog=catalog, keys=context.keys, place=place, start=0, rows=frame,
                                  config=catalog.default_config(), earliest_assessed_on=date(2000, 1, 1),
                                  today=date.today())
    version = publish_test_cutoffs(app)
    with context.database.session(write=True) as session:
        caller = user_caller(session, city.user_ids["caseworker_s1"])
        job = imports.start_job(session=session, caller=caller, station_id=city.stations["S1"], file_name="f.csv",
                                file_hash="later", rows=2)
        outcomes = imports.import_chunk(session=session, caller=caller, keys=context.keys, scorer=context.scorer,
                                        job_id=job["id"], start=0, rows=frame, prepared=ahead,
                                        earliest_assessed_on=date(2000, 1, 1))
    assert [o.outcome for o in outcomes] == ["stored", "stored"]
    region = place.region_id
    with context.database.session() as session:
        config = imports.published_config(session=session, catalog=catalog)
        assert config.version == version
        for outcome, answers in zip(outcomes, imports.answers_of(catalog, frame)):
            stored = session.get(Assessment, outcome.assessment_id)
            assert stored.config_version == stored.result["config_version"] == config.version
            assert stored.result == context.scorer.score(answers, region=region, year=2026, config=config).result
