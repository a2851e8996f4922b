"""An analyst edits a draft configuration (a bad weight first), previews its impact and publishes it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from api.assessments.tables import HouseholdLatest
from api.configs.tables import ScoringConfigRecord
from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser


def test_analyst_previews_and_publishes_a_draft(site, page, shot):
    with site.session() as session:
        latest = session.execute(select(HouseholdLatest.index, HouseholdLatest.tier)).all()
    # Lowering the severe cut-off from 50 to 40 (weights unchanged) moves exactly the moderate households
    # with an index in [40, 50) up to severe, and nobody down.
    moving = sum(1 for index, tier in latest if tier == "moderate" and 40 <= index < 50)
    assert moving >= 1, "the demo city should have moderate households with an index in [40, 50)"

    sign_in(page, site, "analyst", shot)
    page.wait_for_url("**/app/configurations")
    shot(page, "configurations")
    page.fill("#label", "严重档下调到 40")
    page.fill("#w-tier_cutoffs-severe", "40")
    page.fill("#w-dimension_weights-health", "-1")
    page.click("#save-draft")
    error = page.locator("#w-dimension_weights-health-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "权重必须为正数,实际为 -1"
    assert page.input_value("#label") == "严重档下调到 40"
    assert page.input_value("#w-tier_cutoffs-severe") == "40"
    shot(page, "draft-bad-weight")

    page.fill("#w-dimension_weights-health", "1.5")
    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/app/configurations/\d+$"))
    config_id = int(page.url.rsplit("/", 1)[1])
    shot(page, "impact-preview")
    assert int(page.inner_text("#impact-compared")) == len(latest)
    assert int(page.inner_text("#impact-changed_tier")) == moving
    assert int(page.inner_text("#impact-tier_up")) == moving
    assert int(page.inner_text("#impact-tier_down")) == 0
    assert int(page.inner_text('#tier-changes td[data-from="moderate"][data-to="severe"]')) == moving
    cells = page.locator("#tier-changes td").all_inner_texts()
    assert sum(int(c) for c in cells) == len(latest)
    assert page.locator("#impact-chart svg rect.bar").count() >= 1

    page.click("#publish")
    page.locator("#publish-confirm").wait_for(state="visible")
    shot(page, "publish-confirmation")
    with site.session() as session:
        assert session.get(ScoringConfigRecord, config_id).status == "draft"  # not before confirming
    page.click("#confirm-publish")
    page.wait_for_selector("#config-status:text('已发布')")
    shot(page, "published")
    with site.session() as session:
        assert session.get(ScoringConfigRecord, config_id).status == "published"
