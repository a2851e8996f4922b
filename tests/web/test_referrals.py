"""The referral loop in a real browser, at 1280 and at 390 pixels wide: a caseworker refers, the provider declines
with a reason, the caseworker refers elsewhere, the other provider accepts, records a delivery and completes, the
caseworker records feedback and sees the history in the household file, and a supervisor sees the pipeline with
an overdue item and exports it. Each form is first sent with a mistake: the message is beside the field, what was
typed stays, and nothing is stored."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from api.auth.access import Role
from api.auth.tables import User
from api.referrals import providers
from api.referrals.tables import Referral, ReferralDelivery
from tests.api.support import snapshot
from tests.web.conftest import add_user, problem_beside
from tests.web.test_caseworker import answers_for_test
from tests.api.factories import household_payload, submission

pytestmark = pytest.mark.browser
SERVICE = "basic_living_allowance"


def assessed_household(site) -> tuple[int, int]:
    """A new household at the caseworker's station, assessed so that the basic living allowance is recommended."""
    catalog = site.app.state.context.scorer.catalog
    headers = {"Authorization": f"Bearer {site.tokens['caseworker']}"}
    with httpx.Client(base_url=site.url, headers=headers, timeout=30) as api:
        household = api.post("/v1/households", json=household_payload(site.caseworker_station)).json()["id"]
        stored = api.post(f"/v1/households/{household}/assessments", json=submission(answers_for_test(catalog)))
        assert stored.status_code == 201, stored.text
    return household, stored.json()["id"]


def two_providers(site) -> tuple[dict, dict]:
    """The demo provider (whose user is demo-provider) and another offering the same service."""
    with site.session() as session:
        own = session.scalar(select(User.provider_id).where(User.name == "demo-provider"))
        offering = providers.list_providers(session=session, service_id=SERVICE, active=True)
    first = next(p for p in offering if p["id"] == own)
    return first, next(p for p in offering if p["id"] != own)


def test_the_referral_loop(site, browsing, shot):
    width = browsing.width
    first, second = two_providers(site)
    other_user = add_user(site, f"provider-b-{width}", Role.provider, provider_id=second["id"])
    household, assessment = assessed_household(site)

    # The caseworker refers the recommended service to the first provider.
    caseworker = browsing.page_of("caseworker")
    caseworker.goto(f"/app/assessments/{assessment}")
    offer = caseworker.locator(f'li[data-service="{SERVICE}"]')
    offer.locator("select[name=provider_id]").select_option(label=first["name"])
    offer.locator("button.refer").click()
    offer.locator(".refer-status:has-text('已转介')").wait_for()
    shot(caseworker, f"{width}-referred")
    with site.session() as session:
        referral_id = session.scalar(select(Referral.id).where(Referral.household_id == household,
                                                               Referral.service_id == SERVICE))

    # The provider finds it in its inbox and declines it; first without a reason.
    provider = browsing.page_of("provider")
    provider.wait_for_url("**/app/inbox")
    card = provider.locator(f'#inbox li[data-referral="{referral_id}"]')
    assert card.is_visible()
    shot(provider, f"{width}-inbox")
    card.locator('details[data-move="rejected"] summary').click()
    form = f'#inbox li[data-referral="{referral_id}"] details[data-move="rejected"] form'
    provider.fill(f"{form} textarea[name=note]", "本月名额已满")
    before = snapshot(site.app)
    provider.click(f"{form} button[type=submit]")
    assert problem_beside(provider, form, "reason") == "变为“已拒绝”须选择原因。"
    assert provider.input_value(f"{form} textarea[name=note]") == "本月名额已满"
    assert snapshot(site.app) == before
    shot(provider, f"{width}-decline-without-reason")
    provider.select_option(f"{form} select[name=reason]", "no_capacity")
    provider.click(f"{form} button[type=submit]")
    provider.locator(f'#inbox li[data-referral="{referral_id}"]').wait_for(state="detached")
    provider.click("#tab-closed")
    provider.locator(f'#inbox li[data-referral="{referral_id}"][data-status="rejected"]').wait_for()
    shot(provider, f"{width}-inbox-closed")

    # It is back with the caseworker, who refers it elsewhere (first to the same provider: refused).
    caseworker.goto("/app/referrals/open")
    returned = caseworker.locator(f'#returned-referrals tr[data-referral="{referral_id}"]')
    assert "名额已满" in returned.inner_text()
    shot(caseworker, f"{width}-returned")
    returned.locator("a.button").click()
    caseworker.wait_for_url(f"**/app/referrals/{referral_id}")
    caseworker.select_option("#elsewhere-provider", str(first["id"]))
    caseworker.fill("#elsewhere-note", "改由慈善机构")
    caseworker.click("#refer-elsewhere-form button[type=submit]")
    assert problem_beside(caseworker, "#refer-elsewhere-form", "provider_id") == "请选择其他服务机构。"
    assert caseworker.input_value("#elsewhere-note") == "改由慈善机构"
    shot(caseworker, f"{width}-elsewhere-same-provider")
    caseworker.select_option("#elsewhere-provider", str(second["id"]))
    caseworker.click("#refer-elsewhere-form button[type=submit]")
    caseworker.wait_for_url(lambda url: re.search(r"/app/referrals/\d+$", url) and
                            not url.endswith(f"/referrals/{referral_id}"))
    second_id = int(caseworker.url.rsplit("/", 1)[1])
    assert second_id != referral_id and caseworker.locator("#follows-link").is_visible()
    shot(caseworker, f"{width}-referred-elsewhere")

    # The other provider accepts, starts, records a delivery (first with no units) and completes.
    other = browsing.page_of(other_user)
    other.goto(f"/app/referrals/{second_id}")
    other.click('form[data-move="accepted"] button')
    other.wait_for_selector('#referral-status[data-status="accepted"]')
    far = (date.today() + timedelta(days=800)).isoformat()
    other.fill("#scheduled_on", far)
    other.fill("#schedule-note", "上午上门")
    other.click("#schedule-form button[type=submit]")
    assert problem_beside(other, "#schedule-form", "scheduled_on").startswith("预约日期须在")
    assert other.input_value("#scheduled_on") == far and other.input_value("#schedule-note") == "上午上门"
    shot(other, f"{width}-schedule-too-far")
    other.fill("#scheduled_on", (date.today() + timedelta(days=2)).isoformat())
    other.click("#schedule-form button[type=submit]")
    other.wait_for_selector("#referral-scheduled")
    other.click('form[data-move="in-progress"] button')
    other.wait_for_selector('#referral-status[data-status="in-progress"]')
    other.fill("#description", "发放生活物资一批")
    other.fill("#units", "0")
    before = snapshot(site.app)
    other.click("#delivery-form button[type=submit]")
    assert problem_beside(other, "#delivery-form", "units") == "数值太小"
    assert other.input_value("#description") == "发放生活物资一批" and other.input_value("#units") == "0"
    assert snapshot(site.app) == before
    shot(other, f"{width}-delivery-without-units")
    other.fill("#units", "3")
    other.click("#delivery-form button[type=submit]")
    other.wait_for_selector("#deliveries tbody tr")
    assert "发放生活物资一批" in other.inner_text("#deliveries")
    other.click('details[data-move="completed"] summary')
    other.select_option('details[data-move="completed"] select[name=outcome]', "needs_met")
    other.click('details[data-move="completed"] button[type=submit]')
    other.wait_for_selector('#referral-status[data-status="completed"]')
    shot(other, f"{width}-completed")
    with site.session() as session:
        assert [(d.description, d.units) for d in session.scalars(
            select(ReferralDelivery).where(ReferralDelivery.referral_id == second_id))] == [("发放生活物资一批", 3.0)]

    # The caseworker records the household's feedback (first without the satisfaction) and reads the history.
    caseworker.goto(f"/app/referrals/{second_id}")
    caseworker.select_option("#feedback-outcome", "needs_met")
    caseworker.fill("#feedback-note", "按时送到")
    caseworker.click("#feedback-form button[type=submit]")
    assert problem_beside(caseworker, "#feedback-form", "satisfaction") == "缺少必填字段"
    assert caseworker.input_value("#feedback-note") == "按时送到"
    caseworker.select_option("#satisfaction", "5")
    caseworker.click("#feedback-form button[type=submit]")
    caseworker.wait_for_selector("#referral-feedback")
    assert caseworker.inner_text("#referral-feedback").startswith("5/5")
    caseworker.goto(f"/app/households/{household}")
    cards = caseworker.locator("#household-referrals > li")
    assert cards.count() == 2
    first_card = caseworker.locator(f'#household-referrals > li[data-referral="{referral_id}"]')
    first_card.locator("summary").click()
    history = first_card.locator("ol.history").inner_text()
    assert "已拒绝" in history and "名额已满" in history and "本月名额已满" in history and f"#{second_id}" in history
    assert "5/5" in caseworker.inner_text(f'#household-referrals > li[data-referral="{second_id}"]')
    shot(caseworker, f"{width}-file-with-referrals")

    # The supervisor sees the pipeline with an overdue referral and exports the referrals.
    with site.session(write=True) as session:
        late = session.scalar(select(Referral.id).where(Referral.open_slot.is_(True), Referral.status != "draft",
                                                        Referral.household_id != household).order_by(Referral.id))
        session.execute(update(Referral).where(Referral.id == late)
                        .values(due_at=datetime.now(timezone.utc) - timedelta(days=2)))
    supervisor = browsing.page_of("supervisor")
    supervisor.goto("/app/referrals")
    assert supervisor.locator(f'#overdue-referrals tr[data-referral="{late}"]').is_visible()
    completed = supervisor.locator(f'section[data-provider="{second["id"]}"] tr[data-service="{SERVICE}"] '
                                   'td[data-column="completed"]')
    assert int(completed.inner_text()) >= 1
    shot(supervisor, f"{width}-pipeline")
    with supervisor.expect_download() as download:
        supervisor.click("#export-csv")
    content = download.value.path().read_bytes()
    assert content.startswith("\ufeff".encode())
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))}
    assert rows[late]["overdue"] == "True" and rows[second_id]["status_label"] == "已完成"
    assert rows[referral_id]["reason"] == "名额已满" and "name" not in rows[late]
    with supervisor.expect_download() as download:
        supervisor.click("#export-xlsx")
    table = list(load_workbook(io.BytesIO(download.value.path().read_bytes())).active.iter_rows(values_only=True))
    assert {row[0] for row in table[1:]} == set(rows)
