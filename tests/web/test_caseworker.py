"""A caseworker's main flow in a real browser: register a household, fill the whole questionnaire
(with a closed tab in between), see the result, refer a service; a bad answer; another station."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from api.assessments.tables import Assessment
from api.auth.tables import Token
from api.configs.records import published_config
from api.geography.tables import Station
from api.households.tables import Household
from api.referrals.tables import Referral
from api.security import decrypt_json, token_hash
from assessment import assess
from tests.api.factories import calm_answers, resident_id_number
from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser


def answers_for_test(catalog) -> dict:
    """Least-deprived answers, but three members of whom one is disabled and no income at all:
    the disability questions apply, and the basic living allowance must be recommended."""
    return {**calm_answers(catalog), "fam_household_size": 3, "fam_disabled_count": 1,
            "econ_income_per_capita": 0}


def answer(page, indicator, value) -> None:
    kind = indicator.answer.type
    if kind == "yes_no":
        page.check(f'input[name="{indicator.id}"][value="{"true" if value else "false"}"]')
    elif kind in ("ordinal", "choice"):
        page.select_option(f"#a-{indicator.id}", str(value))
    else:
        page.fill(f"#a-{indicator.id}", str(value))


def register_household(page, shot) -> int:
    page.click("text=新建家庭 >> nth=-1")
    page.wait_for_url("**/households/new")
    page.fill("#name", "测试户")
    page.fill("#id_number", resident_id_number(serial=901, birth="19620305"))
    page.fill("#phone", "13800001111")
    page.fill('#member-rows [name="birth_year"]', "1962")
    page.select_option('#member-rows [name="sex"]', "female")
    shot(page, "new-household")
    page.click("#save")
    page.wait_for_url(re.compile(r".*/app/households/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def search_households(page, text: str) -> None:
    page.fill("#q", text)
    page.click(".search button[type=submit]")
    page.wait_for_load_state()


def test_caseworker_finds_households_by_name_without_it_in_the_address(site, page, shot):
    keys = site.app.state.context.keys
    with site.session() as session:
        own, other = (session.get(Household, household_id) for household_id in (site.own_household,
                                                                                  site.other_household))
        own_name, other_name = (decrypt_json(keys, household.personal)["name"] for household in (own, other))
        station_names = [decrypt_json(keys, personal)["name"] for personal in session.scalars(
            select(Household.personal).where(Household.station_id == site.caseworker_station))]
    sign_in(page, site, "caseworker")
    page.goto("/app/households")
    search_households(page, own_name[1:])
    shot(page, "search-by-name")
    assert page.url.endswith("/app/households")  # a POST: the name is in no address
    shown = page.locator("#households tbody tr td:nth-child(2)").all_inner_texts()
    assert own_name in shown
    assert sorted(shown) == sorted(name for name in station_names if own_name[1:] in name)
    if other_name not in station_names:
        search_households(page, other_name)
        assert page.locator("#no-households").is_visible()


def test_a_token_close_to_its_expiry_is_announced_on_every_page(site, page, shot):
    soon = datetime.now(timezone.utc) + timedelta(days=3)

    def set_expiry(moment):
        with site.session(write=True) as session:
            session.execute(update(Token).where(Token.token_hash == token_hash(site.tokens["caseworker"]))
                            .values(expires_at=moment))

    set_expiry(soon)
    try:
        sign_in(page, site, "caseworker")
        assert page.locator("#token-expiry").inner_text() == \
            f"您的访问令牌将于 {soon.date().isoformat()} 到期,请及早联系管理员签发新令牌。"
        page.goto(f"/app/households/{site.own_household}")
        assert page.locator("#token-expiry").is_visible()
        shot(page, "token-expiring")
    finally:
        set_expiry(None)  # the demo tokens last until revoked
    page.goto("/app/households")
    assert page.locator("#token-expiry").count() == 0


def test_caseworker_registers_fills_everything_and_refers(site, context, page, shot):
    catalog = site.app.state.context.scorer.catalog
    sign_in(page, site, "caseworker", shot)
    assert page.locator("#households tbody tr").count() > 0
    shot(page, "households")
    household_id = register_household(page, shot)
    assert page.locator("#household-name").inner_text() == "测试户"
    shot(page, "household-file-empty")

    page.click("#new-assessment")
    page.wait_for_url(f"**/households/{household_id}/assess")
    shot(page, "questionnaire-empty")
    assert not page.locator("#q-dis_severity").is_visible()  # no disabled member yet

    answers = answers_for_test(catalog)
    typed = {}
    for indicator in catalog.indicators:
        if indicator.dimension == "family" and page.locator(f"#q-{indicator.id}").is_visible():
            answer(page, indicator, answers[indicator.id])
            typed[indicator.id] = answers[indicator.id]
    assert page.locator("#q-dis_severity").is_visible()  # applies once a member is disabled
    page.wait_for_selector("#draft-status:has-text('草稿已保存')")

    # the tab is closed; the draft comes back in a new one
    page.close()
    page = context.new_page()
    page.goto(f"/app/households/{household_id}/assess")
    assert page.locator("#draft-status").inner_text() == "已恢复上次未提交的草稿。"
    assert page.input_value("#a-fam_household_size") == "3"
    assert page.locator("#q-dis_severity").is_visible()

    for indicator in catalog.indicators:
        if indicator.dimension != "family" and page.locator(f"#q-{indicator.id}").is_visible():
            answer(page, indicator, answers[indicator.id])
            typed[indicator.id] = answers[indicator.id]
    page.wait_for_selector("#live-index:has-text('当前估算指数')")
    assert page.locator(".field-error:visible").count() == 0
    shot(page, "questionnaire-filled")
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/app/assessments/\d+$"))
    shot(page, "result")

    with site.session() as session:  # another test may have published a configuration
        config = published_config(session=session, catalog=catalog)
    expected = assess(catalog, typed, region=page_region(site, household_id), year=date.today().year, config=config)
    assert set(typed) == {i.id for i in catalog.indicators} - set(expected.not_applicable)
    assert expected.missing == ()
    assert page.inner_text("#index-value") == f"{expected.index:.1f}"
    tier_label = next(t.label.zh for t in catalog.tiers if t.id == expected.tier)
    assert page.inner_text("#tier-value") == tier_label
    assert page.locator("#dimension-chart svg rect.bar").count() == len(catalog.dimensions)
    assert page.locator("#top-reasons li").count() == len(expected.top_reasons)
    assert page.locator('[data-service="basic_living_allowance"]').count() >= 1
    with site.session() as session:
        stored = session.scalars(select(Assessment).where(Assessment.household_id == household_id)).all()
    assert len(stored) == 1 and stored[0].answers == typed

    service = page.locator('li[data-service="basic_living_allowance"]')
    service.locator("select[name=provider_id]").select_option(label="区社会救助服务中心")
    service.locator("button.refer").click()
    service.locator(".refer-status:has-text('已转介')").wait_for()
    assert service.locator("button.refer").is_disabled()
    shot(page, "result-referred")
    with site.session() as session:
        opened = session.scalars(select(Referral).where(Referral.household_id == household_id)).all()
    assert [(r.service_id, r.status, r.assessment_id) for r in opened] == [
        ("basic_living_allowance", "requested", stored[0].id)]
    page.reload()
    assert page.inner_text('li[data-service="basic_living_allowance"] .refer-status') == "已转介"

    # the draft is gone once submitted
    page.goto(f"/app/households/{household_id}/assess")
    assert page.input_value("#a-fam_household_size") == ""
    page.goto(f"/app/households/{household_id}")
    assert page.locator("#assessments tbody tr").count() == 1
    assert page.locator("svg.chart circle.point").count() == 1
    shot(page, "household-file")


def page_region(site, household_id: int) -> str:
    with site.session() as session:
        return session.get(Station, session.get(Household, household_id).station_id).town.region_id


def test_bad_answer_shows_the_api_message_and_keeps_the_rest(site, browser, shot):
    phone = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    try:
        sign_in(page, site, "caseworker")
        page.goto(f"/app/households/{site.own_household}/assess")
        page.fill("#a-fam_school_age_children", "1")
        page.fill("#a-fam_elderly_count", "2")
        page.fill("#a-fam_household_size", "0")
        error = page.locator("#a-fam_household_size-error")
        error.wait_for(state="visible")
        assert error.inner_text() == "家庭共同生活人口数:0 超出范围 1–20"
        assert page.input_value("#a-fam_school_age_children") == "1"
        assert page.input_value("#a-fam_elderly_count") == "2"
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "the questionnaire is wider than a phone screen"
        shot(page, "bad-answer-phone")

        with site.session() as session:
            before = len(session.scalars(select(Assessment)).all())
        page.click("#submit")
        page.wait_for_selector("#form-error:has-text('处需要修改')")
        assert page.locator("#a-fam_household_size-error").inner_text().startswith("家庭共同生活人口数:0 超出范围")
        assert page.input_value("#a-fam_household_size") == "0"
        assert page.input_value("#a-fam_elderly_count") == "2"
        with site.session() as session:
            assert len(session.scalars(select(Assessment)).all()) == before

        # in English, the same message in English; the draft survived the reload
        page.click("#switch-language")
        page.wait_for_selector("html[lang=en]")
        assert page.input_value("#a-fam_household_size") == "0"
        page.locator("#a-fam_household_size-error").wait_for(state="visible")
        assert page.inner_text("#a-fam_household_size-error") == "Household size: 0 is outside 1-20"
        shot(page, "bad-answer-english")
    finally:
        phone.close()


def test_caseworker_cannot_open_another_stations_household(site, page, shot):
    sign_in(page, site, "caseworker")
    for path in (f"/app/households/{site.other_household}", f"/app/households/{site.other_household}/assess"):
        response = page.goto(path)
        assert response.status == 403
        assert page.inner_text("#page-error") == "该记录超出您的角色或权限范围。"
    shot(page, "out-of-scope")
    page.goto("/app/households")
    search_households(page, resident_id_number(serial=1))
    assert page.locator("#no-households").is_visible()


def test_a_phone_number_that_is_not_one_is_explained_beside_it(site, page, shot):
    with site.session() as session:
        before = len(session.scalars(select(Household.id)).all())
    sign_in(page, site, "caseworker")
    page.goto("/app/households/new")
    page.fill("#name", "电话待改")
    page.fill("#id_number", resident_id_number(serial=902, birth="19700101"))
    page.fill("#phone", "abc")
    page.click("#save")
    error = page.locator("#phone-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("电话号码须为 5–15 位数字")
    assert page.input_value("#phone") == "abc" and page.input_value("#name") == "电话待改"
    shot(page, "bad-phone")
    with site.session() as session:
        assert len(session.scalars(select(Household.id)).all()) == before
