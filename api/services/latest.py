"""Each household's latest current assessment (the `household_latest` row), and stored answers as a frame.

`refresh_latest` runs in the submission's transaction, so rankings, alerts and due dates never lag
behind the assessments. `answers_frame` turns stored answers into the frame `assessment.assess_frame`
takes, parsing the JSON column by column (pyarrow) rather than row by row.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
from sqlalchemy import Text, and_, cast, exists, select
from sqlalchemy.orm import Session, aliased

from api.services.workflows import workflows
from api.tables import Assessment, AssessmentRescore, Household, HouseholdLatest, Station


def services_text(service_ids) -> str:
    """Service ids as `;a;b;`, so `LIKE '%;a;%'` finds one exactly."""
    ids = [s for s in service_ids if s]
    return f";{';'.join(ids)};" if ids else ""


def current_assessments():
    """A filter: assessments no later assessment corrects."""
    correction = aliased(Assessment)
    return ~exists().where(correction.corrects_id == Assessment.id)


def _figures(session: Session, assessment: Assessment, config_version: str | None) -> tuple[float, str]:
    """The index and tier of an assessment, as re-scored under `config_version` when it was."""
    if config_version and config_version != assessment.config_version:
        again = session.execute(select(AssessmentRescore.index, AssessmentRescore.tier).where(
            AssessmentRescore.assessment_id == assessment.id,
            AssessmentRescore.config_version == config_version)).first()
        if again is not None:
            return again.index, again.tier
    return assessment.index, assessment.tier


def refresh_latest(session: Session, *, household_id: int, catalog) -> None:
    """Point the household's `household_latest` row at its latest current assessment."""
    latest_two = session.scalars(select(Assessment).where(Assessment.household_id == household_id,
                                                          current_assessments())
                                 .order_by(Assessment.assessed_on.desc(), Assessment.id.desc()).limit(2)).all()
    row = session.get(HouseholdLatest, household_id)
    if not latest_two:
        if row is not None:
            session.delete(row)
        return
    latest = latest_two[0]
    household = session.execute(select(Household.status, Station.id, Station.town_id)
                                .join(Station, Household.station_id == Station.id)
                                .where(Household.id == household_id)).one()
    tier_code = {tier: code for code, tier in enumerate(catalog.tier_ids)}
    result = latest.result
    previous = latest_two[1] if len(latest_two) > 1 else None
    previous_index, previous_tier = _figures(session, previous, latest.config_version) if previous else (None, None)
    values = dict(
        assessment_id=latest.id, station_id=household.id, town_id=household.town_id,
        region_id=latest.region_id,
        assessed_on=latest.assessed_on, index=latest.index, tier=latest.tier,
        tier_code=tier_code.get(latest.tier, 0), completeness=latest.completeness,
        provisional=latest.provisional, critical=bool(result.get("raised_by")),
        dimension_scores=result.get("dimension_scores", {}),
        services=services_text(r["service"] for r in result.get("recommendations", [])),
        config_version=latest.config_version,
        due_on=workflows().due_on(latest.assessed_on, latest.tier, latest.provisional),
        previous_assessment_id=previous.id if previous else None, previous_index=previous_index,
        previous_tier_code=tier_code.get(previous_tier) if previous else None)
    if row is None:
        session.add(HouseholdLatest(household_id=household_id, status=household.status, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()


def sync_status(session: Session, *, household_id: int, status: str) -> None:
    """Copy a household's status to its `household_latest` row (rankings filter on it)."""
    row = session.get(HouseholdLatest, household_id)
    if row is not None:
        row.status = status


def _arrow_type(values) -> pa.DataType:
    return pa.float64() if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) \
        else pa.string()


def answers_schema(catalog) -> pa.Schema:
    """The Arrow type of each indicator's answers, from the catalog's answer types."""
    fields = []
    for indicator in catalog.indicators:
        spec = indicator.answer
        kind = {"yes_no": pa.bool_(), "count": pa.float64(), "amount": pa.float64()}.get(spec.type)
        if kind is None:
            kind = _arrow_type([level.value for level in spec.levels] if spec.type == "ordinal"
                               else [option.value for option in spec.options])
        fields.append(pa.field(indicator.id, kind))
    return pa.schema(fields)


def answers_frame(catalog, answers_json: list[str]) -> pd.DataFrame:
    """One row per stored answers document (JSON text), one column per indicator."""
    if not answers_json:
        return pd.DataFrame({i.id: pd.Series(dtype=object) for i in catalog.indicators})
    data = "\n".join(answers_json).encode("utf-8")
    try:
        table = pa_json.read_json(io.BytesIO(data), parse_options=pa_json.ParseOptions(
            explicit_schema=answers_schema(catalog), unexpected_field_behavior="ignore"))
        return table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # answers in another accepted form (e.g. "yes"): row by row
        records = [json.loads(text) for text in answers_json]
        return pd.DataFrame.from_records(records, columns=[i.id for i in catalog.indicators])


def latest_frame(session: Session, catalog, *, scope=None) -> pd.DataFrame:
    """The latest current assessments' answers with household_id, region, year and station_id columns."""
    query = (select(HouseholdLatest.household_id, HouseholdLatest.station_id, HouseholdLatest.town_id,
                    HouseholdLatest.region_id, HouseholdLatest.assessed_on, cast(Assessment.answers, Text))
             .join(Assessment, and_(Assessment.id == HouseholdLatest.assessment_id))
             .order_by(HouseholdLatest.household_id))
    if scope is not None:
        query = query.where(scope)
    rows = session.execute(query).all()
    frame = answers_frame(catalog, [row[5] for row in rows])
    frame.insert(0, "household_id", np.array([row[0] for row in rows], dtype=np.int64))
    frame["station_id"] = np.array([row[1] for row in rows], dtype=np.int64)
    frame["town_id"] = np.array([row[2] for row in rows], dtype=np.int64)
    frame["region"] = np.array([row[3] for row in rows], dtype=object)
    frame["year"] = np.array([row[4].year for row in rows], dtype=np.int64)
    return frame
