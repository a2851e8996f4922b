"""Helpers for the workflow tests: answers with known indices, tier cut-offs that spread them over tiers."""

from __future__ import annotations

from api.configs import service as configs
from tests.api.factories import calm_answers, household_payload, submission

# Under the default catalog, n deprived yes/no answers give these indices (from the catalog's weights);
# with TEST_CUTOFFS they fall in: 0 none, 1 none, 2 light, 3 moderate, 4 severe.
TEST_CUTOFFS = {"none": 0, "light": 2, "moderate": 5, "severe": 9}
TIER_BY_DEPRIVED = {0: "none", 1: "none", 2: "light", 3: "moderate", 4: "severe"}


def deprived(catalog, n: int, *, critical: bool = False) -> dict:
    """Calm answers with the first n non-critical yes/no questions answered the deprived way; with
    `critical`, the first critical indicator is answered with its worst option as well."""
    answers = calm_answers(catalog)
    plain = [i for i in catalog.indicators if i.answer.type == "yes_no" and i.critical is None]
    for indicator in plain[:n]:
        answers[indicator.id] = indicator.answer.score_yes > indicator.answer.score_no
    if critical:
        answers.update(_critical_answer(catalog, answers))
    return answers


def _critical_answer(catalog, answers: dict) -> dict:
    """The worst answer of the first critical indicator that applies to these answers and raises the tier."""
    from assessment import assess

    region = next(r.id for r in catalog.regions if r.parent)
    for indicator in catalog.indicators:
        spec = indicator.answer
        if indicator.critical is None or spec.type not in ("ordinal", "choice"):
            continue
        choices = spec.levels if spec.type == "ordinal" else spec.options
        change = {indicator.id: max(choices, key=lambda choice: choice.score).value}
        if assess(catalog, {**answers, **change}, region=region, year=2026).raised_by:
            return change
    raise AssertionError("the catalog has no critical indicator these answers can trigger")


def publish_test_cutoffs(app, version: str = "test-cutoffs") -> str:
    context = app.state.context
    with context.database.session(write=True) as session:
        draft = configs.create_draft(session=session, caller=None, catalog=context.scorer.catalog,
                                     document={"version": version, "tier_cutoffs": TEST_CUTOFFS})
        configs.publish(session=session, caller=None, catalog=context.scorer.catalog, config_id=draft["id"])
    return version


def new_household(client, city, station: str, user: str, **extra) -> int:
    response = client.post("/v1/households", json=household_payload(city.stations[station], **extra),
                           headers=city.auth(user))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def assess(client, city, user: str, household_id: int, answers: dict, assessed_on: str = "2026-03-01",
           **extra) -> dict:
    response = client.post(f"/v1/households/{household_id}/assessments",
                           json=submission(answers, assessed_on=assessed_on, **extra), headers=city.auth(user))
    assert response.status_code == 201, response.text
    return response.json()
