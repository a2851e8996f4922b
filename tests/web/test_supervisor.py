"""A supervisor filters, sorts and pages the ranking, downloads both exports, and sees the alert,
overdue and referral pipeline pages."""

from __future__ import annotations

import csv
import io
from datetime import date

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from api.alerts import service as alerts
from api.assessments.tables import HouseholdLatest
from api.auth.service import authenticate
from api.geography.tables import Station
from api.referrals import providers
from api.referrals import service as referrals
from tests.api.factories import household_payload, submission
from tests.api.workflow_helpers import deprived
from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser


def moderate_households(site) -> set[int]:
    """Straight from the table the ranking reads: active, moderate, in the supervisor's towns."""
    with site.session() as session:
        caller = authenticate(session=session, token=site.tokens["supervisor"])
        return set(session.scalars(select(HouseholdLatest.household_id).where(
            HouseholdLatest.tier == "moderate", HouseholdLatest.status == "active",
            HouseholdLatest.town_id.in_(caller.town_ids))))


def test_supervisor_filters_sorts_and_exports_the_ranking(site, page, shot, tmp_path):
    expected = moderate_households(site)
    assert len(expected) >= 2, "the demo city should have moderate households in the supervisor's towns"
    sign_in(page, site, "supervisor", shot)
    page.wait_for_url("**/app/ranking")
    shot(page, "ranking")

    page.select_option("#tier", "moderate")
    page.click("#apply-filters")
    page.wait_for_url("**tier=moderate**")
    assert page.inner_text("#ranking-total") == f"共 {len(expected)} 户"
    tiers = page.locator("#ranking tbody tr").evaluate_all("rows => rows.map(r => r.dataset.tier)")
    assert tiers and set(tiers) == {"moderate"}
    ranks = [int(v) for v in page.locator("#ranking tbody td:first-child").all_inner_texts()]
    assert ranks == list(range(1, len(ranks) + 1))

    page.click("#ranking th:nth-child(4) button")  # index, ascending
    indices = [float(v) for v in page.locator("#ranking tbody td:nth-child(4)").all_inner_texts()]
    assert indices == sorted(indices)
    page.click("#ranking th:nth-child(4) button")  # and back
    indices = [float(v) for v in page.locator("#ranking tbody td:nth-child(4)").all_inner_texts()]
    assert indices == sorted(indices, reverse=True)
    shot(page, "ranking-moderate-sorted")

    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "ranking.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert {int(r["household_id"]) for r in rows} == expected
    assert {r["tier"] for r in rows} == {"moderate"}
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["name"] for r in rows)  # supervisors see names

    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = tmp_path / "ranking.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).active
    table = list(sheet.iter_rows(values_only=True))
    header = list(table[0])
    assert len(table) - 1 == len(expected)
    assert {int(row[header.index("household_id")]) for row in table[1:]} == expected


def test_a_bad_filter_is_shown_beside_it_and_kept(site, page, shot):
    sign_in(page, site, "supervisor")
    page.goto("/app/ranking")
    page.select_option("#dimension", "health")
    page.select_option("#tier", "severe")
    page.click("#apply-filters")
    page.wait_for_url("**dimension=health**")
    assert page.inner_text("#min_score-error") == "dimension 与 min_score 须同时给出。"
    assert page.input_value("#dimension") == "health" and page.input_value("#tier") == "severe"
    page.fill("#min_score", "abc")
    page.click("#apply-filters")
    page.wait_for_url("**min_score=abc**")
    assert page.inner_text("#min_score-error").strip()
    assert page.input_value("#min_score") == "abc"
    shot(page, "ranking-bad-filter")


def test_supervisor_sees_alerts_overdue_and_the_referral_pipeline(site, page, shot):
    with site.session(write=True) as session:
        caller = authenticate(session=session, token=site.tokens["supervisor"])
        provider = providers.list_providers(session=session, service_id="emergency_assistance")[0]
        referrals.create_referral(session=session, caller=caller, keys=site.app.state.context.keys,
                                  catalog=site.app.state.context.scorer.catalog, household_id=site.own_household,
                                  service_id="emergency_assistance", provider_id=provider["id"])
    sign_in(page, site, "supervisor")
    page.goto("/app/alerts")
    assert page.locator("#overdue-by-station tbody tr").count() >= 1
    shot(page, "alerts")
    page.goto("/app/referrals")
    row = page.locator(f'section[data-provider="{provider["id"]}"] tr[data-service="emergency_assistance"]')
    assert int(row.locator('td[data-column="open"]').inner_text()) >= 1
    shot(page, "referral-pipeline")


def test_a_dimension_score_above_one_is_explained_beside_the_field(site, page, shot):
    """The label says the scale, and a score outside it is the API's message beside the field, not an empty
    ranking (the page used to say "0 households")."""
    sign_in(page, site, "supervisor")
    page.goto("/app/ranking")
    assert page.inner_text('label[for="min_score"]') == "维度得分高于(0–1)"
    page.select_option("#dimension", "health")
    page.fill("#min_score", "2")
    page.click("#apply-filters")
    page.wait_for_url("**min_score=2**")
    assert page.inner_text("#min_score-error").strip() == \
        "min_score 须在 0 到 1 之间:维度得分从 0(无困难)到 1(该维度最困难)。"
    assert page.locator("#ranking-total").count() == 0 and page.locator("#ranking tbody tr").count() == 0
    assert page.input_value("#min_score") == "2"
    shot(page, "ranking-score-above-one")
    page.click("#switch-language")
    page.wait_for_url("**min_score=2**")
    assert page.inner_text('label[for="min_score"]') == "Dimension score above (0-1)"
    assert page.inner_text("#min_score-error").strip().startswith("min_score must be from 0 to 1")


def test_the_alerts_page_is_paged_at_phone_width(site, browser, shot):
    """Thirty more households with a critical answer in the supervisor's towns: the alerts come 25 to a
    page, and the pages together hold every alert once."""
    catalog = site.app.state.context.scorer.catalog
    headers = {"Authorization": f"Bearer {site.tokens['supervisor']}"}
    with site.session() as session:
        caller = authenticate(session=session, token=site.tokens["supervisor"])
        station = session.scalar(select(Station.id).where(Station.town_id.in_(caller.town_ids),
                                                          Station.id != site.caseworker_station))
    with httpx.Client(base_url=site.url, headers=headers, timeout=30) as api:
        for _ in range(30):
            household = api.post("/v1/households", json=household_payload(station)).json()["id"]
            stored = api.post(f"/v1/households/{household}/assessments",
                              json=submission(deprived(catalog, 0, critical=True), assessed_on=str(date.today())))
            assert stored.status_code == 201, stored.text
    with site.session() as session:
        expected = alerts.alerts(session=session, caller=caller, catalog=catalog, index_rise=10, limit=1000)
    total = expected["total"]
    assert total > 25
    phone = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844})
    try:
        page = phone.new_page()
        sign_in(page, site, "supervisor")
        page.goto("/app/alerts")
        pages = -(-total // 25)
        assert page.inner_text("#alerts-pager span") == f"第 1 / {pages} 页,共 {total} 条"
        seen = []
        for number in range(1, pages + 1):
            rows = page.locator("#alerts tbody tr td:first-child").all_inner_texts()
            assert len(rows) == min(25, total - 25 * (number - 1))
            seen += [int(row) for row in rows]
            assert page.evaluate("document.documentElement.scrollHeight") < 8000
            shot(page, f"alerts-page-{number}")
            if number < pages:
                page.click("#alerts-pager a[rel=next]")
                page.wait_for_url(f"**alerts_page={number + 1}**")
        assert seen == [item["household_id"] for item in expected["items"]]
        assert page.locator("#alerts-pager a[rel=next]").count() == 0
    finally:
        phone.close()
