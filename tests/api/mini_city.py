"""The service on the small hand-checkable catalog of tests/factories.py (written out as a catalog folder), with a
town of the district region, two stations and one user per role: for figures worked out by hand."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.access import Role
from api.auth.service import create_user
from api.geography.service import create_station, create_town
from tests.api.support import settings_for

# Every question answered; under the catalog's default weights (family 1, economy 2, health 1) the index is
# 100 * 2 * 0.75 / 4 = 37.5: the income per person (2000 / 2 = 1000 a month) is below the district's minimum
# living standard of 1500 in 2026 (d = 1, weight 3), no debt (d = 0, weight 1), so the economy scores 3/4;
# family and health score 0.
ANSWERS = {"fam_size": 2, "fam_alone": False, "fam_children": 0, "econ_income": 2000, "econ_debt": "none",
           "health_chronic": 0, "health_costs": 0, "health_insured": True}


def write_catalog(folder: Path, documents: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        (folder / name).write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@dataclass
class MiniCity:
    app: object
    client: TestClient
    stations: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@contextmanager
def mini_city(database_url: str, catalog_dir: Path, *, populate: bool = True):
    """The app on `catalog_dir` over the test database; with `populate`, a town, stations S1 and S2 and users."""
    app = create_app(settings_for(database_url, catalog_dir=catalog_dir))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            city = MiniCity(app, client)
            if populate:
                with app.state.context.database.session(write=True) as session:
                    town = create_town(session=session, caller=None, name="T", region_id="district")["id"]
                    for name in ("S1", "S2"):
                        city.stations[name] = create_station(session=session, caller=None, name=name,
                                                             town_id=town)["id"]
                    for name, role, scope in (("caseworker", Role.caseworker, {"station_id": city.stations["S1"]}),
                                              ("supervisor", Role.supervisor, {"town_ids": [town]}),
                                              ("analyst", Role.analyst, {}), ("admin", Role.admin, {})):
                        _, token = create_user(session=session, caller=None, name=name, role=role, valid_days=30,
                                               **scope)
                        city.tokens[name] = token["token"]
            yield city
    finally:
        app.state.context.database.dispose()
