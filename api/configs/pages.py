"""Analyst pages: a draft scoring configuration's weights and cut-offs in an editable table, its impact
preview against the published configuration, and publishing it after a confirmation."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth.access import require_role
from api.configs import service as configs
from api.configs.records import published_config
from api.deps import Context, PageCaller
from api.geography import service as geography
from api.web.charts import Bar, bar_chart
from api.web.i18n import translate
from api.web.session import language
from api.web.templating import pick_label, render

router = APIRouter()
MOVERS = 20


@router.get("/configurations")
def configurations(request: Request, context: Context, caller: PageCaller):
    """The configurations, and a new draft prefilled with the published weights and cut-offs."""
    require_role(caller, *configs.PREVIEW_ROLES)
    catalog = context.scorer.catalog
    with context.database.session() as session:
        listed = configs.list_configs(session=session, caller=caller)
        published = published_config(session=session, catalog=catalog)
    return render(request, "configurations.html", caller=caller, listed=listed, published=published,
                  catalog=catalog, can_edit=caller.role in configs.CONFIG_EDITORS)


@router.get("/configurations/{config_id}")
def configuration(request: Request, config_id: int, context: Context, caller: PageCaller):
    catalog = context.scorer.catalog
    lang = language(request)
    with context.database.session() as session:
        record = configs.get_config(session=session, caller=caller, config_id=config_id)
        published = published_config(session=session, catalog=catalog)
        stations = {s["id"]: s["name"] for s in geography.list_stations(session=session)}
        preview = configs.impact(session=session, caller=caller, catalog=catalog, config_id=config_id,
                                 movers=MOVERS) if record["status"] == "draft" else None
    chart = None
    if preview is not None:
        before = {tier: sum(row.values()) for tier, row in preview["tier_changes"].items()}
        after = {tier: sum(row.get(tier, 0) for row in preview["tier_changes"].values()) for tier in catalog.tier_ids}
        most = max([*before.values(), *after.values(), 1])
        chart = bar_chart([Bar(pick_label(t.label, lang), after.get(t.id, 0), before.get(t.id, 0))
                           for t in catalog.tiers], title=translate("households_by_tier", lang), maximum=most,
                          digits=0, legend=(translate("draft", lang), translate("published", lang)))
    return render(request, "configuration.html", caller=caller, record=record, published=published,
                  preview=preview, chart=chart, catalog=catalog, stations=stations,
                  tiers={t.id: t for t in catalog.tiers},
                  can_publish=caller.role in configs.CONFIG_EDITORS and record["status"] == "draft")
