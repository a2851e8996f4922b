"""Dynamic management in a real browser, at 1280 and 390 px wide: a transfer asked by the caseworker and refused
then accepted by the supervisor; an appeal lodged with a corrected answer and decided; an exit proposal dismissed
then confirmed; an exit and a re-entry; a verified tier; a member's ID number already registered. Every form is
first sent with bad input: the API's message beside the field, what was typed kept, nothing stored."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from api.assessments.submission import submit
from api.assessments.tables import Assessment
from api.auth.service import authenticate
from api.geography.tables import Station
from api.households import service as households
from api.households.tables import Household
from api.reviews.tables import Appeal, TierVerification
from api.transfers.tables import Transfer
from tests.api.factories import calm_answers, resident_id_number
from tests.web.conftest import sign_in
from tests.api.workflow_helpers import deprived

pytestmark = pytest.mark.browser
WIDTHS = [1280, 390]
_serial = iter(range(700, 1000))


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def width(request) -> int:
    return request.param


def browse(browser, site, width: int, role: str):
    """A signed-in page of `role` at this width (a phone's height at 390 px)."""
    created = browser.new_context(base_url=site.url, viewport={"width": width, "height": 844 if width < 500 else 900},
                                  is_mobile=width < 500)
    created.set_default_timeout(15000)
    page = created.new_page()
    sign_in(page, site, role)
    return created, page


def fits(page, width: int) -> None:
    """Usable at this width: nothing wider than the window (wide tables scroll inside their own box)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def caller_of(site, role: str):
    with site.session() as session:
        return authenticate(session=session, token=site.tokens[role])


def new_household(site, *answers_by_days) -> tuple[int, list[int]]:
    """A household of the caseworker's station with an assessment per (days ago, answers): its id and theirs."""
    context = site.app.state.context
    caseworker = caller_of(site, "caseworker")
    with site.session(write=True) as session:
        household = households.create_household(session=session, caller=caseworker, keys=context.keys, name="动态户",
                                                id_number=resident_id_number(next(_serial), birth="19580808"))["id"]
        stored = [submit(session=session, caller=caseworker, scorer=context.scorer, household_id=household,
                         submission_id=str(uuid.uuid4()), answers=answers, earliest_assessed_on=date(2000, 1, 1),
                         assessed_on=date.today() - timedelta(days=days))["id"] for days, answers in answers_by_days]
    return household, stored


def count(site, model, *conditions) -> int:
    with site.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_a_transfer_refused_then_accepted(site, browser, shot, width):
    household, _ = new_household(site)
    supervisor = caller_of(site, "supervisor")
    with site.session() as session:
        target = session.scalar(select(Station).where(Station.town_id.in_(supervisor.town_ids),
                                                      Station.id != site.caseworker_station).order_by(Station.id))
        target_id, target_name = target.id, target.name
    context, page = browse(browser, site, width, "caseworker")
    try:
        page.goto(f"/app/households/{household}")
        page.goto(f"/app/households/{household}/transfer")
        page.select_option("#to_station_id", str(target_id))
        page.click("#send-transfer")
        page.locator("#reason-error").wait_for(state="visible")  # the reason is required
        assert page.input_value("#to_station_id") == str(target_id)
        assert count(site, Transfer, Transfer.household_id == household) == 0
        fits(page, width)
        shot(page, "transfer-request-refused")
        page.fill("#reason", "随女儿居住,户籍不变")
        page.click("#send-transfer")
        page.wait_for_url("**/app/transfers")
        with site.session() as session:
            transfer = session.scalar(select(Transfer).where(Transfer.household_id == household))
        assert page.locator(f"#transfer-out-{transfer.id}").is_visible()
        shot(page, "transfer-outgoing")
    finally:
        context.close()

    context, page = browse(browser, site, width, "supervisor")
    try:
        page.goto("/app/transfers")
        card = page.locator(f"#transfer-in-{transfer.id}")
        card.locator("button[value=refused]").click()
        card.locator("[data-path=reason] .field-error").wait_for(state="visible")  # a refusal needs a reason
        assert count(site, Transfer, Transfer.id == transfer.id, Transfer.status == "requested") == 1
        fits(page, width)
        shot(page, "transfer-incoming-refusal-without-reason")
        card.locator("textarea[name=reason]").fill("已电话确认,同意接收")
        card.locator("button[value=accepted]").click()
        page.locator(f"#transfer-in-{transfer.id}").wait_for(state="detached")
        shot(page, "transfer-accepted")
    finally:
        context.close()
    with site.session() as session:
        moved = session.get(Household, household)
        assert (moved.station_id, moved.registered_station_id) == (target_id, site.caseworker_station)

    context, page = browse(browser, site, width, "caseworker")
    try:
        page.goto(f"/app/households/{household}")
        assert page.locator("#read-only").is_visible()  # registered here, served there
        assert page.locator("#new-assessment").count() == 0
        assert target_name in page.inner_text("#file-transfers")
        fits(page, width)
        shot(page, "transfer-registered-station-view")
    finally:
        context.close()


def test_an_appeal_with_a_corrected_answer_is_decided(site, browser, shot, width):
    catalog = site.app.state.context.scorer.catalog
    household, [assessment] = new_household(site, (30, deprived(catalog, 1)))
    count_question = next(i for i in catalog.indicators if i.answer.type == "count" and not i.applies_when)
    context, page = browse(browser, site, width, "caseworker")
    try:
        page.goto(f"/app/assessments/{assessment}")
        page.click("#lodge-appeal")
        page.wait_for_url(f"**/assessments/{assessment}/appeal")
        page.fill("#appeal-reason", "家中老人已失能,原答案有误")
        page.fill(f"#a-{count_question.id}", "两个")
        page.click("#submit-appeal")
        error = page.locator(f"#a-{count_question.id}-error")
        error.wait_for(state="visible")
        assert page.input_value("#appeal-reason") == "家中老人已失能,原答案有误"
        assert count(site, Appeal, Appeal.assessment_id == assessment) == 0
        fits(page, width)
        shot(page, "appeal-bad-answer")
        worst = max(deprived(catalog, 0)[count_question.id] + 1, count_question.answer.min)
        page.fill(f"#a-{count_question.id}", str(worst))
        page.click("#submit-appeal")
        page.wait_for_url("**/app/appeals/*")
        appeal_id = int(page.url.rsplit("/", 1)[1])
        assert page.locator("#changed-answers tbody tr").count() == 1
        shot(page, "appeal-lodged")
    finally:
        context.close()

    context, page = browse(browser, site, width, "supervisor")
    try:
        page.goto(f"/app/appeals/{appeal_id}")
        page.check("input[name=decision][value=upheld]")
        page.click("#save-decision")
        page.locator("[data-path=reason] .field-error").wait_for(state="visible")
        assert page.is_checked("input[name=decision][value=upheld]")
        assert count(site, Appeal, Appeal.id == appeal_id, Appeal.status == "open") == 1
        fits(page, width)
        shot(page, "appeal-decision-without-reason")
        page.check("input[name=decision][value=changed]")
        page.fill("#decision-reason", "入户核实,老人确已失能")
        page.click("#save-decision")
        page.locator("#correction-link").wait_for()
        assert page.inner_text("#appeal-status") == "已决定"
        shot(page, "appeal-decided")
    finally:
        context.close()
    with site.session() as session:
        correction = session.scalar(select(Assessment).where(Assessment.corrects_id == assessment))
        assert correction is not None and correction.answers[count_question.id] == worst


def test_an_exit_proposal_dismissed_without_a_reason_then_confirmed(site, browser, shot, width):
    catalog = site.app.state.context.scorer.catalog
    household, _ = new_household(site, (120, calm_answers(catalog)), (5, calm_answers(catalog)))
    context, page = browse(browser, site, width, "supervisor")
    try:
        page.goto("/app/exit-proposals")
        card = page.locator(f"#proposal-{household}")
        card.locator("button[value=dismiss]").click()
        card.locator("[data-path=reason] .field-error").wait_for(state="visible")
        fits(page, width)
        shot(page, "exit-proposal-dismissal-without-reason")
        card.locator("textarea[name=reason]").fill("两次评估均无困难,已核实")
        card.locator("button[value=confirm]").click()
        page.locator(f"#proposal-{household}").wait_for(state="detached")
        shot(page, "exit-proposal-confirmed")
    finally:
        context.close()
    with site.session() as session:
        assert session.get(Household, household).status == "exited"


def test_an_exit_and_a_re_entry_on_their_page(site, browser, shot, width):
    catalog = site.app.state.context.scorer.catalog
    household, _ = new_household(site, (20, deprived(catalog, 2)))
    context, page = browse(browser, site, width, "caseworker")
    try:
        page.goto(f"/app/households/{household}")
        page.click("#status-action")
        page.fill("#note", "迁往外地" * 130)  # longer than a note may be
        page.click("#save-status")
        page.locator("#exit-reason-error").wait_for(state="visible")  # no reason chosen
        page.locator("#note-error").wait_for(state="visible")
        assert page.input_value("#note") == "迁往外地" * 130
        fits(page, width)
        shot(page, "exit-bad-input")
        page.select_option("#exit-reason", "moved")
        page.fill("#note", "迁往外地")
        page.click("#save-status")
        page.wait_for_url(f"**/app/households/{household}")
        assert "迁出" in page.inner_text("#status-history")
        page.click("#status-action")
        page.select_option("#reentry-reason", "returned_to_area")
        page.click("#save-status")
        page.wait_for_url(f"**/app/households/{household}")
        shot(page, "re-entered")
    finally:
        context.close()
    with site.session() as session:
        assert session.get(Household, household).status == "active"


def test_a_supervisor_verifies_a_tier_beside_the_computed_one(site, browser, shot, width):
    catalog = site.app.state.context.scorer.catalog
    household, [assessment] = new_household(site, (15, deprived(catalog, 2)))
    with site.session() as session:
        computed = session.get(Assessment, assessment).tier
    other = next(tier for tier in catalog.tiers if tier.id != computed)
    context, page = browse(browser, site, width, "supervisor")
    try:
        page.goto(f"/app/assessments/{assessment}")
        page.select_option("#verify-tier", other.id)
        page.click("#save-verification")
        page.locator("#verify-form [data-path=reason] .field-error").wait_for(state="visible")
        assert page.input_value("#verify-tier") == other.id
        assert count(site, TierVerification, TierVerification.assessment_id == assessment) == 0
        fits(page, width)
        shot(page, "verification-without-reason")
        page.fill("#verify-reason", "入户核查后更改")
        page.click("#save-verification")
        page.locator("#verified-tier").wait_for()
        assert page.inner_text("#verified-tier") == other.label.zh
        page.goto(f"/app/households/{household}")
        assert page.locator(f"#assessments [data-verified={other.id}]").count() == 1
        shot(page, "verified-tier-in-the-file")
    finally:
        context.close()


def test_a_member_already_registered_elsewhere_is_named_beside_the_member(site, browser, shot, width):
    taken = resident_id_number(next(_serial), birth="19660606")
    supervisor = caller_of(site, "supervisor")
    with site.session(write=True) as session:
        other = session.scalar(select(Station.id).where(Station.town_id.in_(supervisor.town_ids),
                                                        Station.id != site.caseworker_station).order_by(Station.id))
        households.create_household(session=session, caller=supervisor, keys=site.app.state.context.keys,
                                    name="他站户", id_number=taken, station_id=other)
    before = count(site, Household)
    context, page = browse(browser, site, width, "caseworker")
    try:
        page.goto("/app/households/new")
        page.fill("#name", "成员重复户")
        page.fill("#id_number", resident_id_number(next(_serial), birth="19700101"))
        row = page.locator("#member-rows .member").first
        row.locator("[name=member_name]").fill("张三")
        row.locator("[name=member_id_number]").fill(taken)
        page.click("#save")
        row.locator(".field-error").wait_for(state="visible")
        assert "已在" in row.locator(".field-error").inner_text()
        assert page.locator("#existing-link").is_visible()
        assert row.locator("[name=member_id_number]").input_value() == taken
        assert page.input_value("#name") == "成员重复户"
        fits(page, width)
        shot(page, "member-already-registered")
    finally:
        context.close()
    assert count(site, Household) == before
