"""The household file at 1280 and 390 pixels wide: a caseworker corrects the last assessment starting from its
answers, edits the household (a bad phone first), exits it (without a reason first), prints the file; the list
shows ID numbers masked with an audited reveal."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from api.assessments.tables import Assessment
from api.audit.tables import AuditEntry
from api.households.tables import Household
from api.referrals.tables import Referral
from api.security import decrypt_json
from assessment import assess
from tests.api.factories import household_payload, resident_id_number, submission
from tests.api.support import snapshot
from tests.web.conftest import problem_beside
from tests.web.test_caseworker import answers_for_test

pytestmark = pytest.mark.browser


def household_with_assessment(site, name: str) -> tuple[int, dict, dict]:
    catalog = site.app.state.context.scorer.catalog
    headers = {"Authorization": f"Bearer {site.tokens['caseworker']}"}
    answers = answers_for_test(catalog)
    with httpx.Client(base_url=site.url, headers=headers, timeout=30) as api:
        household = api.post("/v1/households", json=household_payload(site.caseworker_station, name=name,
                                                                      id_number=resident_id_number())).json()
        stored = api.post(f"/v1/households/{household['id']}/assessments",
                          json=submission(answers, assessed_on="2026-01-15")).json()
        referral = api.post(f"/v1/households/{household['id']}/referrals", json={"service_id": "meal_assistance"})
        assert referral.status_code == 201, referral.text
    return household["id"], stored, answers


def test_a_caseworker_corrects_edits_exits_and_prints_a_household(site, browsing, shot):
    width = browsing.width
    household, stored, answers = household_with_assessment(site, f"更正户{width}")
    page = browsing.page_of("caseworker")
    page.goto(f"/app/households/{household}")
    assert page.locator("#next-assessment").inner_text().strip()
    shot(page, f"{width}-file")

    # The recommended service noted without a provider (a draft) is referred: first without choosing one.
    with site.session() as session:
        draft = session.scalar(select(Referral.id).where(Referral.household_id == household))
    page.goto(f"/app/referrals/{draft}")
    page.click('details[data-move="requested"] summary')
    form = 'details[data-move="requested"] form'
    page.fill(f"{form} textarea[name=note]", "请尽快联系")
    page.click(f"{form} button[type=submit]")
    assert problem_beside(page, form, "provider_id") == "变为“已转介”须指定服务机构。"
    assert page.input_value(f"{form} textarea[name=note]") == "请尽快联系"
    shot(page, f"{width}-refer-draft-without-provider")
    page.select_option(f"{form} select[name=provider_id]", index=1)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector('#referral-status[data-status="requested"]')
    page.goto(f"/app/households/{household}")

    # Correct the last assessment: the questionnaire holds its answers and date.
    page.click("#correct-last")
    page.wait_for_url(f"**/households/{household}/assess?corrects={stored['id']}")
    assert page.locator("#correcting").is_visible()
    assert page.input_value("#assessed_on") == "2026-01-15"
    assert page.input_value("#a-fam_household_size") == str(answers["fam_household_size"])
    assert page.input_value("#a-econ_income_per_capita") == str(answers["econ_income_per_capita"])
    shot(page, f"{width}-correction-prefilled")
    page.fill("#a-fam_household_size", "4")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/app/assessments/\d+$"))
    with site.session() as session:
        rows = session.scalars(select(Assessment).where(Assessment.household_id == household)
                               .order_by(Assessment.id)).all()
    assert [(r.id, r.corrects_id) for r in rows] == [(stored["id"], None), (rows[1].id, stored["id"])]
    changed = {**answers, "fam_household_size": 4}
    hidden = assess(site.app.state.context.scorer.catalog, changed, region=rows[0].region_id, year=2026).not_applicable
    assert rows[1].answers == {k: v for k, v in changed.items() if k not in hidden}  # what applies, as sent
    assert str(rows[1].assessed_on) == "2026-01-15"
    page.goto(f"/app/households/{household}")
    assert page.locator(f'#assessments tr.corrected[data-assessment="{stored["id"]}"]').count() == 1

    # Edit: a phone that is not one is explained beside it, nothing typed is lost, nothing stored.
    page.click("#edit-household")
    page.wait_for_url(f"**/households/{household}/edit")
    page.fill("#name", f"更正户{width}甲")
    page.fill("#phone", "12ab")
    before = snapshot(site.app)
    page.click("#save")
    assert problem_beside(page, "#household-form", "phone").startswith("电话号码须为")
    assert page.input_value("#name") == f"更正户{width}甲" and page.input_value("#phone") == "12ab"
    assert snapshot(site.app) == before
    shot(page, f"{width}-edit-bad-phone")
    page.fill("#phone", "0631-5201234")
    page.click("#save")
    page.wait_for_url(f"**/app/households/{household}")
    assert page.inner_text("#household-name") == f"更正户{width}甲"
    assert page.inner_text("#household-phone") == "0631-5201234"

    # Exit: a reason is needed; the open referral is cancelled with the exit.
    page.click("#status-action")
    page.fill("#note", "已搬到外市")
    page.click("#save-status")
    page.locator("#exit-reason-error").wait_for(state="visible")
    assert page.input_value("#note") == "已搬到外市"
    shot(page, f"{width}-exit-without-reason")
    page.select_option("#exit-reason", "moved")
    page.click("#save-status")
    page.wait_for_selector("#household-status:has-text('已退出')")
    with site.session() as session:
        statuses = session.scalars(select(Referral.status).where(Referral.household_id == household)).all()
    assert statuses == ["cancelled"]

    # Print: no navigation, one file to a page.
    page.click("#print-household")
    page.wait_for_url(f"**/households/print?id={household}")
    assert page.locator("header.top").count() == 0 and page.locator("article.print-file").count() == 1
    assert f"更正户{width}甲" in page.inner_text("article.print-file h1")
    shot(page, f"{width}-print")


def test_lists_show_id_numbers_masked_with_an_audited_reveal(site, browsing, shot):
    width = browsing.width
    page = browsing.page_of("caseworker")
    page.goto("/app/households")
    row = page.locator("#households tbody tr").first
    household = int(row.get_attribute("data-household"))
    with site.session() as session:
        number = decrypt_json(site.app.state.context.keys, session.get(Household, household).personal)["id_number"]
    masked = page.inner_text(f"#id-number-{household}")
    assert masked == number[:4] + "*" * 10 + number[-4:]
    assert number not in page.content()
    shot(page, f"{width}-households-masked")
    with site.session() as session:
        reveals_before = len(session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal_id_number")).all())
    row.locator("form.reveal button").click()
    page.wait_for_selector(f"#id-number-{household}:has-text('{number}')")
    assert number not in page.url
    with site.session() as session:
        reveals = session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal_id_number")
                                  .order_by(AuditEntry.id)).all()
    assert len(reveals) == reveals_before + 1 and reveals[-1].household_id == household
    shot(page, f"{width}-households-revealed")
    page.click("#print-files")
    page.wait_for_url("**/households/print?id=*")
    assert page.locator("article.print-file").count() == page.url.count("id=")
