"""Fixtures: a real app on a fresh database per test (SQLite always, PostgreSQL when
ASSESS_TEST_DATABASE_URL is set), and a small city with one user per role and scope."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import db
from api.app import create_app
from api.auth.access import Role
from api.auth.service import create_user
from api.geography.service import create_station, create_town
from api.tables import metadata
from tests.api.support import settings_for

POSTGRES_URL = os.environ.get("ASSESS_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + ([pytest.param("postgresql", marks=pytest.mark.postgres)] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


def fresh_postgres_database() -> tuple[str, callable]:
    """Create a new database on the test server; returns its URL and a function that drops it."""
    server = create_engine(db.normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"assess_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    url = make_url(db.normalise_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    return url, drop


@pytest.fixture(scope="session")
def postgres_database():
    url, drop = fresh_postgres_database()
    db.upgrade(url)
    yield url
    drop()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "assess.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = create_engine(url)
    with engine.begin() as connection:  # the app commits, so each test empties the tables it used
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(database_url):
    application = create_app(settings_for(database_url))
    yield application
    application.state.context.database.dispose()


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def server(app):
    """The app served by uvicorn on a free loopback port, in a thread, with its lifespan (on PostgreSQL the
    usual submissions then run on the server's event loop); its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(timeout=20)
    sock.close()


@dataclass
class City:
    """Two regions; towns T1, T2 (region A) and T3 (region B); stations S1, S2 in T1, S3 in T2, S4 in T3."""

    towns: dict[str, int] = field(default_factory=dict)
    stations: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, user: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture
def city(app) -> City:
    context = app.state.context
    regions = [r.id for r in context.scorer.catalog.regions if r.parent]
    result = City()
    with context.database.session(write=True) as session:
        for name, region in (("T1", regions[0]), ("T2", regions[0]), ("T3", regions[1])):
            result.towns[name] = create_town(session=session, caller=None, name=name, region_id=region)["id"]
        for name, town in (("S1", "T1"), ("S2", "T1"), ("S3", "T2"), ("S4", "T3")):
            result.stations[name] = create_station(session=session, caller=None, name=name,
                                                   town_id=result.towns[town])["id"]
        users = {"caseworker_s1": (Role.caseworker, {"station_id": result.stations["S1"]}),
                 "caseworker_s3": (Role.caseworker, {"station_id": result.stations["S3"]}),
                 "supervisor_t1": (Role.supervisor, {"town_ids": [result.towns["T1"]]}),
                 "supervisor_t3": (Role.supervisor, {"town_ids": [result.towns["T3"]]}),
                 "analyst": (Role.analyst, {}), "admin": (Role.admin, {})}
        for name, (role, scope) in users.items():
            user, token = create_user(session=session, caller=None, name=name, role=role, valid_days=30, **scope)
            result.tokens[name], result.user_ids[name] = token["token"], user["id"]
    return result


@pytest.fixture
def catalog(app):
    return app.state.context.scorer.catalog
