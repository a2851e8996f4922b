"""The import's service functions: a row without a date is the same row when imported again another day; an
exited household assessed by an import comes back into the programme."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from api.auth.service import user_caller
from api.households import lifecycle
from api.households.tables import Household, StatusEvent
from api.intake import imports
from tests.api.factories import calm_answers, resident_id_number
from tests.api.support import count_rows
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
                                             job_id=job["id"], start=0, records=[record], today=day,
                                             earliest_assessed_on=date(2000, 1, 1))
    assert [outcome.outcome for outcome in outcomes] == ["stored", "already_stored"]
    assert outcomes[0].assessment_id == outcomes[1].assessment_id
    assert count_rows(app, "assessments") == 1


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
                                         records=[{**calm_answers(catalog), "household_id": str(household),
                                                   "assessed_on": "2026-03-03"}])
    assert outcome.outcome == "stored"
    with context.database.session() as session:
        assert session.get(Household, household).status == "active"
        events = session.execute(select(StatusEvent.status, StatusEvent.reason, StatusEvent.assessment_id)
                                 .where(StatusEvent.household_id == household).order_by(StatusEvent.id)).all()
    assert [tuple(event) for event in events] == [("exited", "moved", None),
                                                  ("active", "new_assessment", outcome.assessment_id)]
