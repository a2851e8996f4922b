"""`assess serve --demo`: a synthetic city to try every role at once.

Towns and stations under each of the catalog's lowest regions, a few thousand households with invented
personal data and one or two assessments each (with their ranking rows), a provider of each kind, one user per
role (the provider's user acts for the first provider), and one of each thing to try: referrals at the
caseworker's station in every status (a few of them overdue), a transfer waiting for the caseworker's station,
an open appeal and a verified tier in the supervisor's towns, and a household proposed for exit. Nothing here is
real data.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api import id_numbers
from api.assessments.scoring import Scorer
from api.assessments.store import refresh_latest
from api.assessments.submission import request_hash
from api.assessments.tables import Assessment, HouseholdLatest
from api.auth.access import Caller, Role
from api.auth.service import create_user, issue_token
from api.auth.tables import User
from api.geography.tables import Station, Town
from api.households.tables import Household, HouseholdMember
from api.persons import person_hash
from api.referrals import service as referrals
from api.referrals.providers import create_provider
from api.referrals.reasons import sync_reasons
from api.referrals.tables import Referral
from api.referrals.workflow import workflow
from api.reviews.appeals import lodge
from api.reviews.verification import verify_tier
from api.security import Keys, encrypt_json, id_number_hash
from api.transfers.service import request_transfer
from assessment import AnswersInvalid
from indicators.synth import generate_households, load_spec

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "秀兰建国桂英玉梅志强海燕红霞明德淑珍春华文静家豪子涵欣怡"
TOWN_SUFFIXES = ("街道", "镇", "乡")
DEMO_USERS = {Role.admin: "demo-admin", Role.analyst: "demo-analyst", Role.supervisor: "demo-supervisor",
              Role.caseworker: "demo-caseworker", Role.provider: "demo-provider"}
LATEST_VISIT_DAYS = 200
PROVIDER_NAMES = {"government_department": "区民政局社会救助科", "social_organisation": "社区社会工作服务站",
                  "volunteer_team": "邻里志愿服务队", "charity": "慈善总会救助部"}


def generated_answers(catalog, n: int, seed: int) -> list[dict]:
    """Answers from the synthetic-household generator (`indicators.synth`)."""
    frame = generate_households(catalog, load_spec(), n, seed)
    columns = [i.id for i in catalog.indicators if i.id in frame.columns]
    return [{k: (None if v != v else v) for k, v in row.items()}
            for row in frame[columns].astype(object).to_dict(orient="records")]


def _providers(session: Session, catalog) -> list[dict]:
    """One provider of each kind, each offering two shares of the catalog's service items (so every item has
    two providers, and a declined referral can go elsewhere), so referrals can be tried at once."""
    services = [service.id for service in catalog.services]
    kinds = list(workflow().provider_kinds)
    shares = [services[position::len(kinds)] for position in range(len(kinds))]
    return [create_provider(session=session, caller=None, catalog=catalog, name=f"示范{PROVIDER_NAMES.get(kind, kind)}",
                            kind=kind, services=(shares[position] + shares[(position + 1) % len(kinds)]) or services,
                            capacity=50)
            for position, kind in enumerate(kinds)]


# How a demo referral reaches each status: the moves after it is requested of the demo provider, by side.
DEMO_PATHS = {"draft": [], "requested": [], "received": [("received", "provider")],
              "accepted": [("accepted", "provider")], "rejected": [("rejected", "provider")],
              "in-progress": [("accepted", "provider"), ("in-progress", "provider")],
              "on-hold": [("accepted", "provider"), ("in-progress", "provider"), ("on-hold", "provider")],
              "completed": [("accepted", "provider"), ("in-progress", "provider"), ("completed", "provider")],
              "cancelled": [("cancelled", "station")],
              "failed": [("accepted", "provider"), ("in-progress", "provider"), ("failed", "provider")]}


def _referrals(session: Session, keys: Keys, catalog, rng: random.Random, households: list[int],
               callers: dict[str, Caller], providers: list[dict]) -> None:
    """Two referrals in every status at the caseworker's station, most of them sent to the demo provider (whose
    user sees them in its inbox): a delivery recorded where one is in progress, feedback on the completed ones,
    a declined one referred elsewhere, and a few with no move for long enough to be overdue."""
    rules, own = workflow(), providers[0]
    first_reason = {status: next(iter(reasons)) for status, reasons in rules.reasons.items()}
    pairs = [(household, service_id) for service_id in own["services"] for household in households]
    created = []
    for (household, service_id), status in zip(pairs, (status for status in DEMO_PATHS for _ in range(2))):
        referral = referrals.create_referral(
            session=session, caller=callers["station"], keys=keys, catalog=catalog, household_id=household,
            service_id=service_id, provider_id=None if status == "draft" else own["id"])
        for to, side in DEMO_PATHS[status]:
            current = session.get(Referral, referral["id"])
            referrals.move_referral(session=session, caller=callers[side], keys=keys, referral_id=referral["id"],
                                    version=current.version, to=to, reason=first_reason.get(to),
                                    outcome="needs_met" if to == "completed" else None)
        current = session.get(Referral, referral["id"])
        if status == "in-progress":
            referrals.record_delivery(session=session, caller=callers["provider"], keys=keys,
                                      referral_id=referral["id"], version=current.version,
                                      delivered_on=datetime.now(timezone.utc).date(),
                                      description="上门服务 2 小时", units=2)
        elif status == "completed":
            referrals.add_feedback(session=session, caller=callers["station"], keys=keys, referral_id=referral["id"],
                                   version=current.version, satisfaction=rng.randint(3, 5), outcome="needs_met")
        elif status == "rejected" and len(created) % 2 == 0:
            other = next(p for p in providers[1:] if service_id in p["services"])
            referrals.refer_elsewhere(session=session, caller=callers["station"], keys=keys, catalog=catalog,
                                      referral_id=referral["id"], version=current.version, provider_id=other["id"])
        created.append(referral["id"])
    now = datetime.now(timezone.utc)
    late = session.scalars(select(Referral.id).where(Referral.id.in_(created), Referral.open_slot.is_(True))
                           .order_by(Referral.id)).all()[::3]
    session.execute(update(Referral).where(Referral.id.in_(late)).values(changed_at=now - timedelta(days=40),
                                                                         due_at=now - timedelta(days=5)))


def fake_id_number(rng: random.Random) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65))
    first17 = f"3710{rng.randint(0, 99):02d}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_numbers.check_character(first17)


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


def seed(*, session: Session, keys: Keys, scorer: Scorer, households: int = 3000, seed: int = 7,
         valid_days: int = 0, today: date | None = None) -> dict[str, str]:
    """Fill an empty database with a synthetic city; returns a token per role, valid for `valid_days` (0:
    until revoked). Run again, it only issues new tokens for the demo users. Assessments are dated before
    `today` (default: the day it runs): each household's latest in the last `LATEST_VISIT_DAYS` days, so that
    on any day the demo shows a few overdue re-assessments, not nearly all."""
    today = today or date.today()
    existing = {u.role: u for u in session.scalars(select(User).where(User.name.in_(DEMO_USERS.values())))}
    if len(existing) == len(DEMO_USERS):
        admin = Caller(id=existing["admin"].id, name="demo-admin", role=Role.admin)
        return {role: issue_token(session=session, caller=admin, user_id=user.id, valid_days=valid_days)["token"]
                for role, user in existing.items()}
    rng = random.Random(seed)
    catalog = scorer.catalog
    sync_reasons(session=session)
    stations = _geography(session, catalog, rng)
    providers = _providers(session, catalog)
    tokens, callers = {}, {}
    first_station, _, first_region = stations[0]
    scopes = {Role.caseworker: {"station_id": first_station},
              Role.supervisor: {"town_ids": sorted({t for _, t, r in stations if r == first_region})},
              Role.provider: {"provider_id": providers[0]["id"]}}
    for role, name in DEMO_USERS.items():
        user, token = create_user(session=session, caller=None, name=name, role=role, valid_days=valid_days,
                                  **scopes.get(role, {}))
        tokens[role.value] = token["token"]
        callers[role] = _caller(user)
    creator = session.scalar(select(User.id).where(User.name == DEMO_USERS[Role.caseworker]))

    household_rows, heads, visits = [], [], []
    drawn = generated_answers(catalog, households * 2, seed)
    calm = _calm(scorer, first_region, today.year, rng)
    for number in range(households):
        station_id, _, region_id = stations[0] if number % 10 == 0 else rng.choice(stations)
        id_number = fake_id_number(rng)
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
        phone = f"13{rng.randint(0, 999999999):09d}"
        exited = rng.random() >= 0.95 and number > 0
        household_rows.append({
            "station_id": station_id, "status": "exited" if exited else "active",
            "personal": encrypt_json(keys, {"name": name, "id_number": id_number, "phone": phone}),
            "id_number_hash": id_number_hash(keys, id_number), "name_birth_hash": person_hash(keys, name, id_number),
            "created_by": creator})
        heads.append({"position": 0, "relation": "head", "birth_year": int(id_number[6:10]),
                      "sex": rng.choice(["female", "male"])})
        latest_visit = today - timedelta(days=rng.randint(0, LATEST_VISIT_DAYS))
        dates = ([latest_visit - timedelta(days=rng.randint(90, 300))] if rng.random() < 0.4 else []) + [latest_visit]
        if number == 0:  # assessed twice without hardship: proposed for exit
            dates = [today - timedelta(days=120), today - timedelta(days=10)]
        for visit, assessed_on in enumerate(dates):
            visits.append((number, region_id, assessed_on, calm[visit] if number == 0 else drawn[2 * number + visit]))
    ids = session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True),
                          household_rows).all()
    session.execute(insert(HouseholdMember), [{**head, "household_id": household_id}
                                              for household_id, head in zip(ids, heads)])

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
    refresh_latest(session, household_ids=ids, catalog=catalog)
    at_station = [household_id for household_id, row in zip(ids, household_rows)
                  if row["station_id"] == first_station and row["status"] == "active"]
    _referrals(session, keys, catalog, rng, at_station, {"station": callers[Role.caseworker],
                                                         "provider": callers[Role.provider]}, providers)
    _reviews(session, scorer, callers, proposed=ids[0])
    return tokens


def _caller(user: dict) -> Caller:
    return Caller(id=user["id"], name=user["name"], role=Role(user["role"]), station_id=user["station_id"],
                  town_ids=frozenset(user["town_ids"]), provider_id=user["provider_id"])


def _calm(scorer: Scorer, region: str, year: int, rng: random.Random) -> list[dict]:
    """Two answer sets from the synthetic generator that score the lowest tier (no hardship)."""
    catalog = scorer.catalog
    return [answers for answers in generated_answers(catalog, 60, rng.randint(0, 10**6))
            if _tier(scorer, answers, region, year) == catalog.tier_ids[0]][:2]


def _reviews(session: Session, scorer: Scorer, callers: dict[Role, Caller], *, proposed: int) -> None:
    """One of each review to try, through the service functions (the household `proposed` for exit is seeded with
    the others): a verified tier and an open appeal at the caseworker's station, and a transfer from another
    station of the supervisor's towns waiting for the caseworker's station to accept it."""
    caseworker, supervisor = callers[Role.caseworker], callers[Role.supervisor]
    catalog = scorer.catalog
    latest = select(HouseholdLatest).order_by(HouseholdLatest.household_id)
    here = session.scalars(latest.where(HouseholdLatest.station_id == caseworker.station_id,
                                        HouseholdLatest.household_id != proposed).limit(2)).all() \
        or session.scalars(latest.where(HouseholdLatest.household_id == proposed)).all()
    verify_tier(session=session, caller=supervisor, catalog=catalog, assessment_id=here[0].assessment_id,
                tier=next(tier for tier in catalog.tier_ids if tier != here[0].tier),
                reason="入户核查:家庭实际情况与问卷不同(示例)")
    lodge(session=session, caller=caseworker, catalog=catalog, assessment_id=here[-1].assessment_id,
          reason="申请人称收入已减少(示例)")
    elsewhere = session.scalars(select(HouseholdLatest).order_by(HouseholdLatest.household_id.desc()).where(
        HouseholdLatest.station_id != caseworker.station_id, HouseholdLatest.town_id.in_(supervisor.town_ids))).first()
    if elsewhere is not None:
        request_transfer(session=session, caller=supervisor, household_id=elsewhere.household_id,
                         to_station_id=caseworker.station_id, kind="residence", reason="随子女居住,户籍不变(示例)")


def _tier(scorer: Scorer, answers: dict, region: str, year: int) -> str | None:
    try:
        return scorer.score(answers, region=region, year=year).result["tier"]
    except AnswersInvalid:
        return None
