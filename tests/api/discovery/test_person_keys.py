"""Names and birth dates of heads, members and department records kept only as keyed hashes (worked by hand), moved
when a name changes, and re-hashed with the hash key by `assess keys rotate`."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import text

from api.households.service import rotate_keys
from api.security import Keys
from tests.api.discovery.helpers import DISABILITY, csv_bytes, days_ago, upload
from tests.api.discovery.test_imports import every_text_in_the_database
from tests.api.discovery.test_matching import register
from tests.api.factories import resident_id_number
from tests.api.support import DATA_KEY, HASH_KEY

NEW_HASH_KEY = "another-hash-key-for-rotation-0123456789"


def keyed(text_: str, key: str = HASH_KEY) -> str:
    return hmac.new(key.encode(), text_.encode(), hashlib.sha256).hexdigest()


def stored_hashes(app) -> tuple:
    with app.state.context.database.engine.connect() as connection:
        return (connection.execute(text("SELECT name_birth_hash FROM households")).scalar_one(),
                connection.execute(text("SELECT name_birth_hash FROM household_members ORDER BY position")).all(),
                connection.execute(text("SELECT name_birth_hash FROM discovery_records ORDER BY id")).all())


def test_names_are_stored_only_encrypted_and_as_keyed_hashes(client, city, app):
    register(client, city, id_number=resident_id_number(430, birth="19560412"), name="王 秀英", members=[
        {"relation": "head", "birth_year": 1956}, {"relation": "spouse", "birth_year": 1955, "name": "刘·建军"}])
    content = csv_bytes(DISABILITY, [["", "陈 静", "1980/2/3", "T1", days_ago(5), "二级"],
                                     [resident_id_number(431), "周明", "1970-01-01", "T1", days_ago(5), "二级"]])
    assert upload(client, city, "disability", content).status_code == 201
    stored = every_text_in_the_database(app)
    for name in ("王 秀英", "王秀英", "刘·建军", "刘建军", "陈 静", "陈静", "周明"):
        assert name not in stored
    head, members, records = stored_hashes(app)
    assert head == keyed("name_birth\x1f王秀英\x1f1956-04-12")
    assert [m[0] for m in members] == [None, keyed("name\x1f刘建军")]  # no name; a birth year only
    assert [r[0] for r in records] == [keyed("name_birth\x1f陈静\x1f1980-02-03"), None]  # with an ID number: none


def test_a_members_new_name_moves_its_hash_and_its_matches(client, city, app):
    household = register(client, city, id_number=resident_id_number(432), members=[
        {"relation": "head", "birth_year": 1970}, {"relation": "spouse", "birth_year": 1968, "name": "李建国"}])
    renamed = client.patch(f"/v1/households/{household}", headers=city.auth("caseworker_s1"), json={"members": [
        {"relation": "head", "birth_year": 1970}, {"relation": "spouse", "birth_year": 1968, "name": "李国强"}]})
    assert renamed.status_code == 200, renamed.text
    assert [m[0] for m in stored_hashes(app)[1]] == [None, keyed("name\x1f李国强")]
    content = csv_bytes(DISABILITY, [["", "李建国", "1968-05-20", "T1", days_ago(3), "二级"],
                                     ["", "李国强", "1968-05-20", "T1", days_ago(3), "二级"]])
    assert upload(client, city, "disability", content).json()["matching"]["matched_by_name_to_confirm"] == 1
    with app.state.context.database.engine.connect() as connection:
        matched = connection.execute(text("SELECT household_id FROM discovery_records ORDER BY id")).scalars().all()
    assert matched == [None, household]


def test_a_households_new_name_moves_its_hash(client, city, app):
    household = register(client, city, id_number=resident_id_number(433, birth="19500307"), name="赵春华")
    assert stored_hashes(app)[0] == keyed("name_birth\x1f赵春华\x1f1950-03-07")
    answer = client.patch(f"/v1/households/{household}", headers=city.auth("caseworker_s1"), json={"name": "赵 春 花"})
    assert answer.status_code == 200, answer.text
    assert stored_hashes(app)[0] == keyed("name_birth\x1f赵春花\x1f1950-03-07")


def test_key_rotation_re_hashes_names_and_birth_dates(client, city, app):
    register(client, city, id_number=resident_id_number(434, birth="19600501"), name="张三", members=[
        {"relation": "head", "birth_year": 1960}, {"relation": "child", "birth_year": 1990, "name": "张小"}])
    content = csv_bytes(DISABILITY, [["", "孙丽", "1962-07-08", "T1", days_ago(3), "二级"]])
    assert upload(client, city, "disability", content).status_code == 201
    with app.state.context.database.session(write=True) as session:
        rotate_keys(session=session, keys=Keys((DATA_KEY,), NEW_HASH_KEY))
    head, members, records = stored_hashes(app)
    assert head == keyed("name_birth\x1f张三\x1f1960-05-01", NEW_HASH_KEY)
    assert [m[0] for m in members] == [None, keyed("name\x1f张小", NEW_HASH_KEY)]
    assert [r[0] for r in records] == [keyed("name_birth\x1f孙丽\x1f1962-07-08", NEW_HASH_KEY)]
