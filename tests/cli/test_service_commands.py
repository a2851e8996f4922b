"""The service commands: db upgrade, user add (token works against the app), and the demo city."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.app import create_app
from api.demo import seed
from api.referrals.workflow import workflow
from api.settings import Settings
from api.assessments.tables import Assessment, HouseholdLatest
from cli.main import app as cli
from tests.api.factories import household_payload, resident_id_number
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
    assert datetime.fromisoformat(me["token_expires_at"]) == expires and analyst["token_expires_at"] is None
    negative = runner.invoke(cli, ["user", "add", "temp", "--role", "analyst", "--valid-days", "-1"])
    assert negative.exit_code == 2 and "--valid-days" in negative.output


def test_user_token_issues_another_and_user_revoke_ends_them_all(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name, value in (("ASSESS_DATABASE_URL", url), ("ASSESS_DATA_KEY", DATA_KEY), ("ASSESS_HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    first = runner.invoke(cli, ["user", "add", "boss", "--role", "admin"]).stdout.strip()
    second = runner.invoke(cli, ["user", "token", "boss", "--valid-days", "7"])
    assert second.exit_code == 0, second.output
    expires = datetime.fromisoformat(second.stderr.removeprefix("valid until ").strip())
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=7)) < timedelta(minutes=5)
    app = create_app(settings_for(url))

    def me(token: str) -> int:
        return client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code

    with TestClient(app) as client:
        assert me(first) == 200 and me(second.stdout.strip()) == 200
        revoked = runner.invoke(cli, ["user", "revoke", "boss"])
        assert revoked.exit_code == 0 and revoked.stdout.strip() == "2 token(s) of boss revoked"
        assert me(first) == 401 and me(second.stdout.strip()) == 401
        third = runner.invoke(cli, ["user", "token", "boss"]).stdout.strip()
        entries = client.get("/v1/audit", headers={"Authorization": f"Bearer {third}"}).json()
    app.state.context.database.dispose()
    assert [e["action"] for e in entries][:3] == ["issue_token", "revoke_tokens", "issue_token"]
    unknown = runner.invoke(cli, ["user", "token", "nobody"])
    assert unknown.exit_code == 2 and "nobody" in unknown.stderr and count_rows(app, "tokens") == 3
    refused = runner.invoke(cli, ["user", "add", "worker", "--role", "caseworker"])
    assert refused.exit_code == 2 and "station" in refused.output


def test_demo_city_gives_a_working_token_per_role(database_url):
    app = create_app(settings_for(database_url))
    context = app.state.context
    with context.database.session(write=True) as session:
        tokens = seed(session=session, keys=context.keys, scorer=context.scorer, households=30, seed=3)
    assert set(tokens) == {"caseworker", "supervisor", "analyst", "admin", "provider"}
    assert count_rows(app, "households") == 30 and count_rows(app, "assessments") >= 30
    with TestClient(app) as client:
        for role, token in tokens.items():
            me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
            assert me["role"] == role
        caseworker = {"Authorization": f"Bearer {tokens['caseworker']}"}
        supervisor = {"Authorization": f"Bearer {tokens['supervisor']}"}
        listed = client.get("/v1/households", headers=caseworker).json()
        assert listed["total"] >= 3 and all(h["personal_view"] == "full" for h in listed["items"])
        # one of each review to try: a transfer for the caseworker's station, an appeal, an exit proposal, a check
        [waiting] = client.get("/v1/transfers", params={"direction": "incoming"}, headers=caseworker).json()["items"]
        assert waiting["status"] == "requested"
        [appeal] = client.get("/v1/appeals", headers=supervisor).json()["items"]
        assert appeal["status"] == "open"
        assert client.get("/v1/exit-proposals", headers=caseworker).json()["total"] >= 1
        assert count_rows(app, "tier_verifications") == 1
        statuses = {r["status"] for r in client.get("/v1/referrals", params={"limit": 500}, headers=caseworker)
                    .json()["items"]}
        assert statuses == set(workflow().statuses)  # every page has something to show
        inbox = client.get("/v1/referrals", params={"limit": 500},
                           headers={"Authorization": f"Bearer {tokens['provider']}"}).json()["items"]
        assert {r["status"] for r in inbox} == set(workflow().statuses) - {"draft"}
        assert any(r["overdue"] for r in inbox)
    with context.database.session(write=True) as session:  # a second run only issues new tokens
        again = seed(session=session, keys=context.keys, scorer=context.scorer, households=30, seed=3)
    assert set(again) == set(tokens) and again != tokens and count_rows(app, "households") == 30
    context.database.dispose()


def personal_column(app) -> list[str]:
    with app.state.context.database.engine.connect() as connection:
        return list(connection.execute(text("SELECT personal FROM households ORDER BY id")).scalars())


def test_keys_rotate_re_encrypts_with_the_first_key_and_re_hashes_id_numbers(app, client, city, database_url,
                                                                            monkeypatch):
    id_numbers = [resident_id_number(41), resident_id_number(42)]
    for id_number in id_numbers:
        response = client.post("/v1/households", json=household_payload(city.stations["S1"], id_number=id_number),
                               headers=city.auth("caseworker_s1"))
        assert response.status_code == 201
    new_key, new_hash = Fernet.generate_key().decode(), "a-new-hash-key-after-a-suspected-leak-0123456789"
    runner = CliRunner()
    for name, value in (("ASSESS_DATABASE_URL", database_url), ("ASSESS_ENV", "production"),
                        ("ASSESS_HASH_KEY", new_hash)):
        monkeypatch.setenv(name, value)

    monkeypatch.setenv("ASSESS_DATA_KEY", f"{new_key},{DATA_KEY}")
    stray = client.post("/v1/households", json=household_payload(city.stations["S1"]),
                        headers=city.auth("caseworker_s1")).json()["id"]
    stray_token = personal_column(app)[-1]

    def set_stray(token: str) -> None:
        with app.state.context.database.engine.begin() as connection:
            connection.execute(text("UPDATE households SET personal = :token WHERE id = :id"),
                               {"token": token, "id": stray})

    set_stray(Fernet(Fernet.generate_key()).encrypt(b"{}").decode())  # written with a key nobody configured
    before = personal_column(app)
    refused = runner.invoke(cli, ["keys", "rotate"])
    assert refused.exit_code == 2 and f"household {stray}: no configured data key" in refused.stderr
    assert personal_column(app) == before  # the households before it are not rotated either: all or none
    set_stray(stray_token)
    id_numbers.append(json.loads(Fernet(DATA_KEY).decrypt(stray_token.encode()))["id_number"])

    done = runner.invoke(cli, ["keys", "rotate"])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("3 households and 0 members re-encrypted")  # their members have no ID numbers
    assert "3 ID number hashes changed" in done.stdout
    for token in personal_column(app):  # the new key alone reads every household now
        assert json.loads(Fernet(new_key).decrypt(token.encode()))["id_number"] in id_numbers

    rotated = create_app(Settings(database_url=database_url, data_key=new_key, hash_key=new_hash, env="production"))
    with TestClient(rotated) as after:
        found = after.post("/v1/households/lookup", json={"id_number": id_numbers[0]},
                           headers=city.auth("caseworker_s1")).json()
        assert [h["personal"]["id_number"] for h in found] == [id_numbers[0]]
        duplicate = after.post("/v1/households", json=household_payload(city.stations["S3"], id_number=id_numbers[1]),
                               headers=city.auth("caseworker_s3"))
        assert duplicate.status_code == 409  # duplicates are still found under the new hash key
        [entry] = after.get("/v1/audit", params={"action": "rotate_keys"}, headers=city.auth("admin")).json()
        assert entry["details"] == {"households": 3, "members": 0, "rehashed": 3, "normalised": 0}
        assert entry["user_id"] is None
    rotated.state.context.database.dispose()


@pytest.mark.parametrize("today", [None, date(2031, 6, 1)])
def test_the_demo_is_dated_before_the_day_it_runs_with_few_households_overdue(database_url, today):
    app = create_app(settings_for(database_url))
    context = app.state.context
    day = today or date.today()
    with context.database.session(write=True) as session:
        seed(session=session, keys=context.keys, scorer=context.scorer, households=200, seed=5, today=today)
        dates = session.scalars(select(Assessment.assessed_on)).all()
        latest = session.execute(select(HouseholdLatest.assessed_on, HouseholdLatest.due_on)
                                 .where(HouseholdLatest.status == "active")).all()
    context.database.dispose()
    assert max(dates) <= day and min(dates) >= day - timedelta(days=500)
    assert all(day - timedelta(days=200) <= assessed_on <= day for assessed_on, _ in latest)
    overdue = sum(due_on < day for _, due_on in latest)
    assert 0 < overdue < 0.2 * len(latest)  # a few to show on the alerts page, not nearly all


def test_serve_refuses_several_workers_on_an_in_memory_database(monkeypatch):
    for name, value in (("ASSESS_DATABASE_URL", "sqlite://"), ("ASSESS_DATA_KEY", DATA_KEY),
                        ("ASSESS_HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "--workers" in result.output


def test_providers_export_and_import_and_a_provider_user(tmp_path, monkeypatch):
    """`assess providers export` writes the directory; `import` reads it into another database (refused
    entries listed, exit code 3), twice without adding anything; `user add --role provider --provider ID`."""
    source, target = f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    for name, value in (("ASSESS_DATA_KEY", DATA_KEY), ("ASSESS_HASH_KEY", HASH_KEY)):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    monkeypatch.setenv("ASSESS_DATABASE_URL", source)
    app = create_app(settings_for(source))
    with TestClient(app) as client:
        token = runner.invoke(cli, ["user", "add", "boss", "--role", "admin"]).stdout.strip()
        admin = {"Authorization": f"Bearer {token}"}
        for name, services in (("慈善总会", ["meal_assistance"]), ("志愿队", ["home_cleaning", "visiting_care"])):
            assert client.post("/v1/providers", json={"name": name, "kind": "charity", "services": services,
                                                      "capacity": 4}, headers=admin).status_code == 201
    app.state.context.database.dispose()
    path = tmp_path / "directory.json"
    exported = runner.invoke(cli, ["providers", "export", "-o", str(path)])
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.strip() == f"2 provider(s), 3 service(s) written to {path}"
    document = json.loads(path.read_text(encoding="utf-8"))
    monkeypatch.setenv("ASSESS_DATABASE_URL", target)
    first = runner.invoke(cli, ["providers", "import", str(path)])
    assert first.exit_code == 0 and first.stdout.strip().startswith("2 provider(s) added, 0 changed"), first.output
    again = runner.invoke(cli, ["providers", "import", str(path)])
    assert again.stdout.strip().startswith("0 provider(s) added, 0 changed, 2 unchanged"), again.output
    document["organizations"][0]["id"] = "not-a-uuid"
    path.write_text(json.dumps(document), encoding="utf-8")
    refused = runner.invoke(cli, ["providers", "import", str(path)])
    assert refused.exit_code == 3 and "organizations.0: invalid_id" in refused.stderr
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert runner.invoke(cli, ["providers", "import", str(tmp_path / "broken.json")]).exit_code == 2
    user = runner.invoke(cli, ["user", "add", "meals", "--role", "provider", "--provider", "1"])
    assert user.exit_code == 0, user.output
    missing = runner.invoke(cli, ["user", "add", "nobody", "--role", "provider"])
    assert missing.exit_code == 2 and "provider" in missing.stderr
    app = create_app(settings_for(target))
    with TestClient(app) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {user.stdout.strip()}"}).json()
    app.state.context.database.dispose()
    assert me["role"] == "provider" and me["provider_id"] == 1
