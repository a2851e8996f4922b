"""The ranking, its exports and its snapshots."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Context, CurrentCaller
from api.encoding import FastJSONResponse
from api.exports import MEDIA
from api.rankings import schemas
from api.rankings import service as rankings
from api.rankings.schemas import RankingFilters
from api.request_checks import CheckedRoute
from api.schemas import Offset, RowId, page_limit, problem_responses

router = APIRouter(tags=["rankings"], responses=problem_responses(401, 413), route_class=CheckedRoute)
EXPORTS = {200: {"description": "The ranking page (JSON), or the whole filtered ranking as a file (`format`)",
                 "headers": {"X-Snapshot-Id": {"description": "exports: the id of the snapshot recorded",
                                               "schema": {"type": "integer"}}},
                 "content": {MEDIA["csv"].split(";")[0]: {"schema": {"type": "string"}},
                             MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}


def _filters(town_id, station_id, region_id, tier, dimension, min_score, service, status, assessed_from,
             assessed_to) -> RankingFilters:
    return RankingFilters(town_id=town_id, station_id=station_id, region_id=region_id, tier=tier,
                          dimension=dimension, min_score=min_score, service=service, status=status,
                          assessed_from=assessed_from, assessed_to=assessed_to)


# A page is sent as orjson renders it, its keys in the export's column order (`response_model` documents it).
@router.get("/rankings", response_model=schemas.RankingPage, responses={**EXPORTS, **problem_responses(403, 422)},
            summary="Households ranked by their latest assessment, within the caller's scope",
            description="Order: index, tier, completeness (all descending), then household id ascending. "
                        "`format=csv|xlsx` exports the whole filtered ranking with exactly the JSON items' "
                        "columns (lists joined with ';') and records it as a snapshot (X-Snapshot-Id).")
def ranking(context: Context, caller: CurrentCaller, town_id: RowId | None = None, station_id: RowId | None = None,
            region_id: str | None = None, tier: str | None = None,
            dimension: str | None = Query(None, description="a dimension id; with min_score"),
            min_score: float | None = Query(None, ge=0, le=1, description="dimension score strictly above this"),
            service: str | None = Query(None, description="a recommended service item id"),
            status: Literal["active", "exited"] | None = "active", assessed_from: date | None = None,
            assessed_to: date | None = None, limit: page_limit(500) = 50, offset: Offset = 0,
            count: bool = Query(True, description="count the whole filtered ranking (`total`); "
                                                  "`next_offset` tells whether there is a next page either way"),
            format: Literal["json", "csv", "xlsx"] = "json"):
    filters = _filters(town_id, station_id, region_id, tier, dimension, min_score, service, status, assessed_from,
                       assessed_to)
    catalog = context.scorer.catalog
    with context.database.session(write=True) as session:  # writes the audit log (and snapshots)
        if format == "json":
            return FastJSONResponse(rankings.ranking_page(session=session, caller=caller, keys=context.keys,
                                                          catalog=catalog, filters=filters, limit=limit,
                                                          offset=offset, count=count))
        content, snapshot_id = rankings.export(session=session, caller=caller, keys=context.keys, catalog=catalog,
                                               filters=filters, fmt=format)
    return Response(content, media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="ranking-{snapshot_id}.{format}"',
        "X-Snapshot-Id": str(snapshot_id)})


@router.post("/rankings/snapshots", status_code=201, response_model=schemas.Snapshot,
             responses=problem_responses(403, 422), summary="Publish the current ranking as a snapshot",
             description="Records the filtered ranking (rank, household, assessment, index, tier) with who, when, "
                         "the filters and the configuration versions; supervisors, analysts and admins.")
def publish(body: RankingFilters, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session(write=True) as session:
        return rankings.publish_ranking(session=session, caller=caller, keys=context.keys,
                                        catalog=context.scorer.catalog, filters=body)


@router.get("/rankings/snapshots", response_model=list[schemas.Snapshot], responses=problem_responses(422),
            summary="Exports and published rankings (one's own; all for analysts, admins)")
def snapshots(context: Context, caller: CurrentCaller, limit: page_limit(200) = 50,
              offset: Offset = 0) -> list[dict]:
    with context.database.session() as session:
        return rankings.list_snapshots(session=session, caller=caller, limit=limit, offset=offset)


@router.get("/rankings/snapshots/{snapshot_id}/households/{household_id}", response_model=schemas.SnapshotPlace,
            responses=problem_responses(404, 422), summary="Why a household was ranked where it was in a snapshot")
def explain(snapshot_id: RowId, household_id: RowId, context: Context, caller: CurrentCaller) -> dict:
    with context.database.session() as session:
        return rankings.explain(session=session, caller=caller, snapshot_id=snapshot_id, household_id=household_id)
