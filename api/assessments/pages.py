"""The questionnaire and an assessment's result, for caseworkers (supervisors too, within their towns).
The questionnaire's script posts to the JSON API."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request

from api.assessments import service as assessments
from api.assessments.submission import latest_assessment_id
from api.auth.access import Role
from api.deps import Context, PageCaller
from api.errors import not_found
from api.geography import service as geography
from api.households import service as households
from api.referrals import providers
from api.referrals import service as referrals
from api.reviews.pages import result_reviews
from api.schemas import RowId
from api.web.charts import Bar, bar_chart
from api.web.i18n import translate
from api.web.offline import keep_offline
from api.web.session import language
from api.web.templating import pick_label, render

router = APIRouter()
PERSONAL_ROLES = (Role.caseworker, Role.supervisor)


def _questionnaire_data(catalog) -> dict:
    """What the questionnaire script needs: each question's answer type and when it applies."""
    return {"indicators": [{"id": i.id, "type": i.answer.type, "required": i.required,
                            "applies_when": [c.model_dump(exclude_none=True) for c in i.applies_when]}
                           for i in catalog.indicators]}


@router.get("/households/{household_id}/assess")
def questionnaire(request: Request, household_id: RowId, context: Context, caller: PageCaller,
                  corrects: RowId | None = None):
    """The questionnaire; with `corrects`, prefilled with that assessment's answers and date, and submitted as
    its correction."""
    with context.database.session(write=True) as session:
        household = households.get_household(session=session, caller=caller, keys=context.keys,
                                             household_id=household_id)
        region_id = geography.region_of_town(session=session, town_id=household["town_id"])
        corrected = None if corrects is None else assessments.get_assessment(session=session, caller=caller,
                                                                            assessment_id=corrects)
        based_on = latest_assessment_id(session, household_id)
    if corrected is not None and corrected["household_id"] != household_id:
        raise not_found(f"Assessment {corrects} of household {household_id}", f"家庭 {household_id} 的评估 {corrects}",
                        "corrects")
    catalog = context.scorer.catalog
    groups = [(d, [i for i in catalog.indicators if i.dimension == d.id]) for d in catalog.dimensions]
    data = _questionnaire_data(catalog)
    if corrected is not None:
        data["corrects"], data["prefill"] = corrected["id"], corrected["answers"]
    return keep_offline(render(request, "questionnaire.html", caller=caller, household=household,
                               region_id=region_id, based_on=based_on, groups=groups, data=data, corrected=corrected,
                               today=corrected["assessed_on"] if corrected else date.today().isoformat()), caller)


@router.get("/assessments/{assessment_id}")
def assessment_result(request: Request, assessment_id: int, context: Context, caller: PageCaller):
    can_refer = caller.role in PERSONAL_ROLES
    with context.database.session() as session:
        stored = assessments.get_assessment(session=session, caller=caller, assessment_id=assessment_id)
        offering, open_referrals = {}, {}
        if can_refer:
            for provider in providers.list_providers(session=session, active=True):
                for service_id in provider["services"]:
                    offering.setdefault(service_id, []).append(provider)
            listed = referrals.list_referrals(session=session, caller=caller, keys=context.keys,
                                              household_id=stored["household_id"], open=True, limit=500,
                                              with_contact=False)
            open_referrals = {r["service_id"]: r for r in listed["items"] if r["open"]}
        reviews = result_reviews(session, caller, stored)
    lang = language(request)
    catalog = context.scorer.catalog
    result = stored["result"]
    chart = bar_chart([Bar(pick_label(d.label, lang), result["dimension_scores"].get(d.id))
                       for d in catalog.dimensions], title=translate("dimension_scores", lang))
    return render(request, "result.html", caller=caller, stored=stored, result=result, chart=chart,
                  tiers={t.id: t for t in catalog.tiers}, indicators=catalog.indicator_by_id,
                  can_refer=can_refer, providers=offering, referrals=open_referrals, reviews=reviews)
