"""The intake queue page in a real browser: a KoboToolbox submission with an answer out of range waits in the
queue; a wrong correction is shown beside its field and stores nothing; the right one stores it; another is
rejected, first without a reason (refused), then with one."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pandas as pd
import pytest
from sqlalchemy import func, select

from api.assessments.tables import Assessment
from api.id_numbers import check_character
from api.intake import service as intake
from api.intake.imports import row_key
from api.intake.tables import IntakeSubmission
from indicators.xlsform import form_version
from tests.api.factories import calm_answers, with_answer
from tests.web.test_dynamic import browse, caller_of, fits, new_household

pytestmark = pytest.mark.browser


def kobo(catalog, household: int, answers: dict) -> dict:
    body = {f"{catalog.indicator_by_id[k].dimension}/{k}": ("yes" if v is True else "no" if v is False else str(v))
            for k, v in answers.items()}
    instance = str(uuid.uuid4())
    return {**body, "household_id": str(household), "meta/instanceID": f"uuid:{instance}", "_uuid": instance,
            "_submission_time": "2026-03-01T09:00:00", "form_version": form_version(catalog),
            "__version__": "vQ8nGk3rKp2aB7xYzW4mLc"}


def test_a_queued_submission_fixed_and_another_rejected(site, browser, shot):
    catalog = site.app.state.context.scorer.catalog
    household, _ = new_household(site)
    caseworker = caller_of(site, "caseworker")
    with site.session(write=True) as session:
        token = intake.create_token(session=session, caller=caller_of(site, "admin"),
                                    station_id=site.caseworker_station, label="Kobo", user_id=caseworker.id)["token"]
    size = catalog.indicator_by_id["fam_household_size"].answer
    calm = calm_answers(catalog)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=site.url) as http:
        queued = [http.post("/v1/intake/submissions", json=kobo(catalog, household, with_answer(
            calm, fam_household_size=size.max + 5)), headers=headers).json() for _ in range(2)]
    assert [record["status"] for record in queued] == ["queued", "queued"]
    first, second = (record["id"] for record in queued)

    def stored() -> int:
        with site.session() as session:
            return session.scalar(select(func.count()).select_from(Assessment)
                                  .where(Assessment.household_id == household))

    context, page = browse(browser, site, 1280, "caseworker")
    try:
        page.goto("/app/intake")
        card = page.locator(f"#intake-{first}")
        assert card.locator("[data-code=out_of_range]").is_visible()
        answer = card.locator("[data-answer=fam_household_size]")
        assert answer.input_value() == str(size.max + 5)
        fits(page, 1280)
        shot(page, "intake-queue")
        answer.fill(str(size.max + 1))
        card.locator("button.primary").click()
        card.locator("[data-path='answers.fam_household_size'] .field-error").wait_for(state="visible")
        assert answer.input_value() == str(size.max + 1) and stored() == 0
        shot(page, "intake-fix-refused")
        answer.fill(str(calm["fam_household_size"]))
        card.locator("button.primary").click()
        page.locator(f"#intake-{first}").wait_for(state="detached")
        assert stored() == 1
        other = page.locator(f"#intake-{second}")
        other.locator("button:not(.primary)").click()
        other.locator("[data-path=reason] .field-error").wait_for(state="visible")
        other.locator("textarea[name=reason]").fill("重复录入")
        other.locator("button:not(.primary)").click()
        page.locator(f"#intake-{second}").wait_for(state="detached")
        shot(page, "intake-queue-empty")
    finally:
        context.close()
    with site.session() as session:
        statuses = dict(session.execute(select(IntakeSubmission.id, IntakeSubmission.status)
                                        .where(IntakeSubmission.id.in_([first, second]))).all())
    assert statuses == {first: "stored", second: "rejected"} and stored() == 1


def test_an_upload_imports_a_file_with_a_bad_row_and_again_adds_nothing(site, browser, shot, tmp_path):
    catalog = site.app.state.context.scorer.catalog
    calm = calm_answers(catalog)
    numbers = [f"37100219770707{n:03d}" for n in (811, 812)]
    rows = [{**calm, "household_id": f"U{n}", "id_number": number + check_character(number), "name": "上传户",
             "assessed_on": "2026-02-02"} for n, number in enumerate(numbers)]
    rows.append({**calm, "household_id": "U-bad", "assessed_on": "2026-02-02"})  # no ID number, not a household
    path = tmp_path / "roll.csv"
    pd.DataFrame(rows).to_csv(path, index=False)

    def imported() -> int:
        keys = [row_key(site.caseworker_station, f"U{n}", date(2026, 2, 2)) for n in range(2)]
        with site.session() as session:
            return session.scalar(select(func.count()).select_from(Assessment)
                                  .where(Assessment.idempotency_key.in_(keys)))

    context, page = browse(browser, site, 390, "caseworker")
    try:
        page.goto("/app/import")
        page.set_input_files("#file", str(path))
        page.click("#import-send")
        page.locator("#import-counts").wait_for()
        assert page.inner_text("#count-stored") == "2" and page.inner_text("#count-refused") == "1"
        assert "U-bad" in page.inner_text("#refused-rows")
        fits(page, 390)
        shot(page, "import-result")
        with page.expect_download() as download:
            page.click("#import-report")
        report = download.value.path().read_text(encoding="utf-8-sig").splitlines()
        assert len(report) == 4 and report[3].startswith("3,U-bad,refused")
        page.goto("/app/import")
        page.set_input_files("#file", str(path))
        page.click("#import-send")
        page.locator("#import-counts").wait_for()
        assert page.inner_text("#count-stored") == "0" and page.inner_text("#count-already") == "2"
    finally:
        context.close()
    assert imported() == 2
