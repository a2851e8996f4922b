"""`assess serve --demo`: a synthetic city to try every role at once.

Towns and stations under each of the catalog's lowest regions, a few thousand households with invented
personal data and one or two assessments each, and one user per role. Nothing here is real data.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.security import Keys, encrypt_json, id_number_hash
from api.services.access import Caller, Role
from api.services.households import id_number_check_character
from api.services.scoring import Scorer
from api.services.users import create_user, issue_token
from api.tables import Assessment, Household, Station, Town, User

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "秀兰建国桂英玉梅志强海燕红霞明德淑珍春华文静家豪子涵欣怡"
TOWN_SUFFIXES = ("街道", "镇", "乡")
DEMO_USERS = {Role.admin: "demo-admin", Role.analyst: "demo-analyst", Role.supervisor: "demo-supervisor",
              Role.caseworker: "demo-caseworker"}


def random_answer(indicator, rng: random.Random):
    spec = indicator.answer
    if spec.type == "yes_no":
        return rng.random() < 0.3
    if spec.type == "ordinal":
        return rng.choice(spec.levels).value
    if spec.type == "choice":
        return rng.choice(spec.options).value
    if spec.type == "count":
        return rng.randint(spec.min, min(spec.max, spec.min + 3))
    return round(rng.uniform(spec.min, min(spec.max, 4000.0)), 2)


def random_answers(catalog, rng: random.Random, region: str, year: int) -> dict | None:
    """Answers drawn per answer type; answers that the core rejects are set to their lowest value,
    and the household is dropped when that does not make them valid."""
    from assessment import validate_answers

    answers = {i.id: (None if not i.required and rng.random() < 0.04 else random_answer(i, rng))
               for i in catalog.indicators}
    for _ in range(4):
        errors = [f for f in validate_answers(catalog, answers, region=region, year=year) if f.severity == "error"]
        if not errors:
            return answers
        for finding in errors:
            indicator = catalog.indicator_by_id.get(finding.indicator or "")
            if indicator is not None:
                spec = indicator.answer
                answers[indicator.id] = getattr(spec, "min", None) if spec.type in ("count", "amount") else None
    return None


def generated_answers(catalog, n: int, seed: int) -> list[dict] | None:
    """Answers from the synthetic-household generator, when it is installed."""
    try:
        from indicators.synth import generate_households, load_spec
    except ImportError:
        return None
    frame = generate_households(catalog, load_spec(), n, seed)
    columns = [i.id for i in catalog.indicators if i.id in frame.columns]
    return [{k: (None if v != v else v) for k, v in row.items()}
            for row in frame[columns].astype(object).to_dict(orient="records")]


def fake_id_number(rng: random.Random) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65))
    first17 = f"3710{rng.randint(0, 99):02d}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_number_check_character(first17)


def _geography(session: Session, catalog, rng: random.Random) -> list[tuple[int, str]]:
    parents = {r.parent for r in catalog.regions if r.parent}
    leaves = [r for r in catalog.regions if r.id not in parents] or list(catalog.regions)
    stations = []
    for region in leaves:
        for number in range(1, 4):
            town = Town(region_id=region.id, name=f"{region.label.zh}{number}号{rng.choice(TOWN_SUFFIXES)}")
            session.add(town)
            session.flush()
            for station_number in range(1, 3):
                station = Station(town_id=town.id, name=f"{town.name}第{station_number}驿站")
                session.add(station)
                session.flush()
                stations.append((station.id, town.id, region.id))
    return stations


def seed(*, session: Session, keys: Keys, scorer: Scorer, households: int = 3000, seed: int = 7) -> dict[str, str]:
    """Fill an empty database with a synthetic city; returns a token per role. Run again, it only issues
    new tokens for the demo users."""
    existing = {u.role: u for u in session.scalars(select(User).where(User.name.in_(DEMO_USERS.values())))}
    if len(existing) == len(DEMO_USERS):
        admin = Caller(id=existing["admin"].id, name="demo-admin", role=Role.admin)
        return {role: issue_token(session=session, caller=admin, user_id=user.id) for role, user in existing.items()}
    rng = random.Random(seed)
    catalog = scorer.catalog
    stations = _geography(session, catalog, rng)
    tokens = {}
    first_station, _, first_region = stations[0]
    scopes = {Role.caseworker: {"station_id": first_station},
              Role.supervisor: {"town_ids": sorted({t for _, t, r in stations if r == first_region})}}
    for role, name in DEMO_USERS.items():
        user, token = create_user(session=session, caller=None, name=name, role=role, **scopes.get(role, {}))
        tokens[role.value] = token
    creator = session.scalar(select(User.id).where(User.name == DEMO_USERS[Role.caseworker]))

    household_rows, visits = [], []
    drawn = generated_answers(catalog, households * 2, seed)
    for number in range(households):
        station_id, _, region_id = stations[0] if number % 10 == 0 else rng.choice(stations)
        id_number = fake_id_number(rng)
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
        phone = f"13{rng.randint(0, 999999999):09d}"
        household_rows.append({
            "station_id": station_id, "status": "active" if rng.random() < 0.95 else "exited",
            "personal": encrypt_json(keys, {"name": name, "id_number": id_number, "phone": phone}),
            "id_number_hash": id_number_hash(keys, id_number), "created_by": creator,
            "members": [{"relation": "head", "birth_year": int(id_number[6:10]), "sex": rng.choice(["female", "male"])}]})
        first_visit = date(2025, 1, 1) + timedelta(days=rng.randint(0, 330))
        dates = [first_visit] + ([first_visit + timedelta(days=rng.randint(90, 300))] if rng.random() < 0.4 else [])
        for visit, assessed_on in enumerate(dates):
            answers = drawn[2 * number + visit] if drawn else random_answers(catalog, rng, region_id, assessed_on.year)
            if answers is not None:
                visits.append((number, region_id, assessed_on, answers))
    ids = session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True),
                          household_rows).all()

    from api.services.assessments import request_hash
    from assessment import AnswersInvalid

    assessment_rows = []
    for number, region_id, assessed_on, answers in visits:
        try:
            scored = scorer.score(answers, region=region_id, year=assessed_on.year)
        except AnswersInvalid:
            continue
        result = scored.result
        assessment_rows.append({
            "household_id": ids[number], "assessed_on": assessed_on, "region_id": region_id, "answers": answers,
            "result": result, "index": result["index"], "tier": result["tier"],
            "completeness": result["completeness"], "provisional": result["provisional"],
            "catalog_id": result["catalog_id"], "catalog_version": result["catalog_version"],
            "catalog_hash": result["catalog_hash"], "config_version": result["config_version"],
            "model_version": scored.model_version, "model_opinion": scored.model_opinion,
            "needs_review": scored.needs_review, "idempotency_key": str(uuid.UUID(int=rng.getrandbits(128))),
            "request_hash": request_hash(ids[number], answers, assessed_on, None), "created_by": creator})
    session.execute(insert(Assessment), assessment_rows)
    return tokens
