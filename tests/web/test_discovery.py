"""Discovery in a real browser: the supervisor uploads a department's file (a bad one first: every refused row
shown, nothing stored), the caseworker's visit list ranks the candidates with their reasons, one is marked not
found, another registered through the prefilled form, and the new household's file shows where it came from."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.discovery.tables import Candidate, DiscoveryRecord
from api.geography.tables import Station, Town
from api.households.tables import Household
from api.security import decrypt_json
from tests.api.discovery.helpers import DISABILITY, csv_bytes, days_ago
from tests.api.factories import resident_id_number
from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser


def test_upload_visit_list_and_registration_from_a_candidate(site, browser, shot, tmp_path):
    with site.session() as session:
        town = session.scalar(select(Town.name).join(Station, Station.town_id == Town.id)
                              .where(Station.id == site.caseworker_station))
        before = session.scalar(select(func.count()).select_from(DiscoveryRecord))
        on_file = decrypt_json(site.app.state.context.keys,
                               session.get(Household, site.own_household).personal)["id_number"]
    first, second = resident_id_number(951, birth="19420202"), resident_id_number(952, birth="19850505")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(DISABILITY, [[first, "柏秀兰", "1942-02-30", town, days_ago(2), "一级"]]))
    good = tmp_path / "残联.csv"
    good.write_bytes(csv_bytes(DISABILITY, [[first, "柏秀兰", "1942-02-02", town, days_ago(2), "一级"],
                                            [second, "岑海", "1985-05-05", town, days_ago(2), "三级"],
                                            [on_file, "户主", "1960-01-01", town, days_ago(0), "二级"]]))
    supervisor = browser.new_context(base_url=site.url)
    page = supervisor.new_page()
    sign_in(page, site, "supervisor")
    page.goto("/app/discovery/import")
    page.select_option("#source", "disability")
    page.set_input_files("#file", str(bad))
    page.click("#import-form button[type=submit]")
    rows = page.locator("#refused-rows tbody tr")
    assert rows.count() == 1 and "出生日期" in rows.first.inner_text()
    shot(page, "refused")
    with site.session() as session:
        assert session.scalar(select(func.count()).select_from(DiscoveryRecord)) == before
    page.select_option("#source", "disability")
    page.set_input_files("#file", str(good))
    page.click("#import-form button[type=submit]")
    assert "3" in page.locator("#import-report").inner_text()
    shot(page, "imported")
    page.goto("/app/alerts")  # the household on file: re-assess, new information
    row = page.locator(f"#new-information tr:has(a[href$='/households/{site.own_household}'])")
    assert "dis_severity" in row.inner_text()
    shot(page, "new-information")
    supervisor.close()

    caseworker = browser.new_context(base_url=site.url)
    page = caseworker.new_page()
    sign_in(page, site, "caseworker")
    page.goto("/app/discovery/visits")
    with site.session() as session:
        ids = dict(session.execute(select(Candidate.priority, Candidate.id)
                                   .where(Candidate.station_id == site.caseworker_station)).all())
    high, low = ids[40], ids[20]
    names = page.locator("#visits tbody tr td:nth-child(2)").all_inner_texts()
    assert names.index("柏秀兰") < names.index("岑海")
    shot(page, "visit-list")
    page.locator(f"#candidate-{low} button[value=not_found]").click()
    page.wait_for_url("**/discovery/visits")
    assert page.locator(f"#candidate-{low}").count() == 0
    page.locator(f"#candidate-{high} a.button").click()
    page.wait_for_url(f"**/households/new?candidate={high}")
    assert page.input_value("#name") == "柏秀兰" and page.input_value("#id_number") == first
    shot(page, "prefilled")
    page.click("#household-form button[type=submit]")
    page.wait_for_url(lambda url: "/households/new" not in url)
    assert f"#{high}" in page.locator("#discovery-origin").inner_text()
    shot(page, "file")
    with site.session() as session:
        assert session.get(Candidate, high).status == "registered"
        assert session.get(Candidate, low).status == "not_found"
    caseworker.close()


def test_supervisor_declares_a_cold_wave_ticks_the_checklist_and_prints_the_list(site, browser, shot):
    from api.discovery.tables import WarningEvent, WarningHousehold

    supervisor = browser.new_context(base_url=site.url)
    page = supervisor.new_page()
    sign_in(page, site, "supervisor")
    page.goto("/app/warnings")
    page.select_option("#kind", "cold_wave")
    page.locator("#declare-form input[name=town_ids]").first.check()
    page.click("#declare-form button[type=submit]")
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
    event_id = int(page.url.rstrip("/").split("/")[-1])
    shot(page, "event")
    with site.session() as session:
        event = session.get(WarningEvent, event_id)
        frozen = session.scalars(select(WarningHousehold).where(WarningHousehold.event_id == event_id)
                                 .order_by(WarningHousehold.risk.desc(), WarningHousehold.household_id)).all()
    assert event.kind == "cold_wave" and frozen, "the demo town has households at risk in a cold wave"
    risks = [int(v) for v in page.locator(".warning-list tbody tr td:first-child").all_inner_texts()]
    assert sorted(risks, reverse=True) == sorted([row.risk for row in frozen], reverse=True)
    first = frozen[0].household_id
    page.locator(f"#household-{first} button").first.click()  # contacted
    page.wait_for_url(f"**/warnings/{event_id}#household-{first}")
    assert "✓" in page.locator(f"#household-{first}").inner_text()
    page.goto(f"/app/warnings/{event_id}?print_view=true")
    assert page.locator("section.print-station").count() >= 1
    shot(page, "print")
    with site.session() as session:
        assert session.get(WarningHousehold, (event_id, first)).contacted_at is not None
    supervisor.close()



def test_a_match_by_name_is_confirmed_on_its_page_and_raises_new_information(site, browser, shot, tmp_path):
    from api.persons import birth_date_of

    with site.session() as session:
        town = session.scalar(select(Town.name).join(Station, Station.town_id == Town.id)
                              .where(Station.id == site.caseworker_station))
        households = session.scalars(select(Household).where(Household.station_id == site.caseworker_station)
                                     .order_by(Household.id.desc()).limit(1)).all()
    household = households[0]
    personal = decrypt_json(site.app.state.context.keys, household.personal)
    born = birth_date_of(personal["id_number"])
    file = tmp_path / "出院.csv"
    file.write_bytes(csv_bytes(("身份证号", "姓名", "出生日期", "镇街", "出院日期", "出院诊断"),
                               [["", personal["name"], born.isoformat(), town, days_ago(0), "脑梗"]]))
    supervisor = browser.new_context(base_url=site.url)
    page = supervisor.new_page()
    sign_in(page, site, "supervisor")
    page.goto("/app/discovery/import")
    page.select_option("#source", "discharges")
    page.set_input_files("#file", str(file))
    page.click("#import-form button[type=submit]")
    assert page.locator("#import-report").count() == 1
    supervisor.close()

    caseworker = browser.new_context(base_url=site.url)
    page = caseworker.new_page()
    sign_in(page, site, "caseworker")
    page.goto("/app/discovery/matches")
    row = page.locator("#matches tbody tr", has_text=personal["name"]).filter(
        has=page.locator(f"a[href$='/households/{household.id}']"))
    assert row.count() >= 1
    shot(page, "to-confirm")
    row.first.locator("button[value=true]").click()
    page.wait_for_url("**/discovery/matches")
    with site.session() as session:
        confirmed = session.scalars(select(DiscoveryRecord).where(DiscoveryRecord.household_id == household.id,
                                                                  DiscoveryRecord.match_kind == "name_birth")).all()
    assert any(r.match_confirmed for r in confirmed)
    caseworker.close()
