"""The service commands: db upgrade, user add (token works against the app), and the demo city."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.services.demo import seed
from cli.main import app as cli
from tests.api.support import DATA_KEY, HASH_KEY, count_rows, settings_for


def test_db_upgrade_and_user_add_print_a_working_token(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name, value in (("ASSESS_DATABASE_URL", url), ("ASSESS_DATA_KEY", DATA_KEY), ("ASSESS_HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["user", "add", "boss", "--role", "admin"])
    assert result.exit_code == 0, result.output
    [token] = result.stdout.split()  # the token alone on standard output, for scripts
    expires = datetime.fromisoformat(result.stderr.removeprefix("valid until ").strip())
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=180)) < timedelta(minutes=5)
    forever = runner.invoke(cli, ["user", "add", "auditor", "--role", "analyst", "--valid-days", "0"])
    assert forever.exit_code == 0 and forever.stderr.strip() == "valid until revoked"
    app = create_app(settings_for(url))
    with TestClient(app) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        analyst = client.get("/v1/me", headers={"Authorization": f"Bearer {forever.stdout.strip()}"}).json()
    app.state.context.database.dispose()
    assert me["name"] == "boss" and me["role"] == "admin" and analyst["name"] == "auditor"
    negative = runner.invoke(cli, ["user", "add", "temp", "--role", "analyst", "--valid-days", "-1"])
    assert negative.exit_code == 2 and "--valid-days" in negative.output
    refused = runner.invoke(cli, ["user", "add", "worker", "--role", "caseworker"])
    assert refused.exit_code == 2 and "station" in refused.output


def test_demo_city_gives_a_working_token_per_role(database_url):
    app = create_app(settings_for(database_url))
    context = app.state.context
    with context.database.session(write=True) as session:
        tokens = seed(session=session, keys=context.keys, scorer=context.scorer, households=30, seed=3)
    assert set(tokens) == {"caseworker", "supervisor", "analyst", "admin"}
    assert count_rows(app, "households") == 30 and count_rows(app, "assessments") >= 30
    with TestClient(app) as client:
        for role, token in tokens.items():
            me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
            assert me["role"] == role
        caseworker = {"Authorization": f"Bearer {tokens['caseworker']}"}
        listed = client.get("/v1/households", headers=caseworker).json()
        assert listed["total"] >= 3 and all(h["personal_view"] == "full" for h in listed["items"])
    with context.database.session(write=True) as session:  # a second run only issues new tokens
        again = seed(session=session, keys=context.keys, scorer=context.scorer, households=30, seed=3)
    assert set(again) == set(tokens) and again != tokens and count_rows(app, "households") == 30
    context.database.dispose()
