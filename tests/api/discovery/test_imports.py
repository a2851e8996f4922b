"""Department files loaded as records: columns and signals from the source's data file, ID numbers only as keyed
hashes (and encrypted while the person may need contacting), re-imports adding nothing, and every refused row
reported with file, row, column and reason, with nothing stored."""

from __future__ import annotations

import hashlib
import hmac

from datetime import date

from sqlalchemy import inspect, text

from api.discovery.definitions import discovery_of
from api.discovery.service import import_records
from api.households.service import rotate_keys
from api.security import Keys

from tests.api.discovery.helpers import DISABILITY, MEDICAL, csv_bytes, days_ago, upload
from tests.api.factories import household_payload, resident_id_number
from tests.api.support import DATA_KEY, HASH_KEY, count_rows, snapshot


def every_text_in_the_database(app) -> str:
    """Every value of every column of every table, as text."""
    engine = app.state.context.database.engine
    parts = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_an_import_keeps_id_numbers_only_as_keyed_hashes_and_a_second_import_adds_nothing(client, city, app):
    number = resident_id_number(301, birth="19560412")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in number)  # as some departments' exports write it
    content = csv_bytes(DISABILITY, [[fullwidth, "王 秀英", "1956-04-12", "T1", days_ago(10), "二级"],
                                     ["", "刘强", "1980/2/3", str(city.towns["T2"]), days_ago(20), "四级"]])
    first = upload(client, city, "disability", content, name="残联2026.csv")
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["rows"], report["added"], report["already_known"], report["refused"]) == (2, 2, 0, [])
    stored = every_text_in_the_database(app)
    assert number not in stored and number[:17] not in stored and fullwidth not in stored
    assert "王秀英" not in stored and "王 秀英" not in stored and "刘强" not in stored
    expected_hash = hmac.new(HASH_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    with app.state.context.database.engine.connect() as connection:
        hashes = connection.execute(text("SELECT id_number_hash, signal, detail, town_id FROM discovery_records "
                                         "ORDER BY id")).all()
    assert [tuple(h) for h in hashes] == [(expected_hash, "disability", "二级", city.towns["T1"]),
                                          (None, "disability", "四级", city.towns["T2"])]
    before = snapshot(app)
    again = upload(client, city, "disability", content, name="残联2026-again.csv")
    assert again.status_code == 201, again.text
    assert (again.json()["added"], again.json()["already_known"], again.json()["matching"]) == (0, 2, None)
    after = snapshot(app)
    assert after.pop("audit_log") == before.pop("audit_log") + 1  # the attempt is audited, nothing else added
    assert after == before


def test_every_refused_row_is_reported_and_nothing_is_stored(client, city, app):
    good = resident_id_number(302)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    content = csv_bytes(MEDICAL, [[good, "张三", "1970-01-01", "T1", days_ago(5), "25,000"],
                                  [wrong_check, "李四", "1970-01-01", "T1", days_ago(5), "30000"],
                                  ["", "", "1970-13-01", "无此镇", "yesterday", "很多"],
                                  ["12345", "赵六", "1970-01-01", "T1", "2999-01-01", "100"]])
    before = snapshot(app)
    answer = upload(client, city, "medical_bills", content, name="医保.csv")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["errors"][0]["code"] == "rows_refused" and body["refused_total"] == 8
    refused = {(r["file"], r["row"], r["column"], r["code"]) for r in body["refused"]}
    assert refused == {("医保.csv", 3, "身份证号", "invalid_id_number"),
                       ("医保.csv", 4, "姓名", "name_required"), ("医保.csv", 4, "出生日期", "invalid_date"),
                       ("医保.csv", 4, "镇街", "unknown_town"), ("医保.csv", 4, "结算日期", "invalid_date"),
                       ("医保.csv", 4, "个人自付金额", "invalid_number"),
                       ("医保.csv", 5, "身份证号", "invalid_id_number"), ("医保.csv", 5, "结算日期", "future_date")}
    assert all(r["message_zh"] and r["message_en"] for r in body["refused"])
    assert snapshot(app) == before
    partial = upload(client, city, "medical_bills", content, name="医保.csv", skip_refused=True)
    assert partial.status_code == 201, partial.text
    assert partial.json()["added"] == 1 and len(partial.json()["refused"]) == 8
    with app.state.context.database.engine.connect() as connection:
        assert connection.execute(text("SELECT detail_number FROM discovery_records")).scalar_one() == 25000


def test_a_bad_file_is_answered_with_a_clear_report_and_nothing_stored(client, city, app):
    before = snapshot(app)
    wrong_columns = csv_bytes(("身份证号", "姓名", "出生年月", "镇街", "登记日期"), [["", "张三", "1970", "T1", "2026-01-01"]])
    answer = upload(client, city, "disability", wrong_columns)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "missing_columns"
    assert answer.json()["missing_columns"] == ["出生日期", "残疾等级"]
    unknown = upload(client, city, "weather_bureau", csv_bytes(DISABILITY, []))
    assert (unknown.status_code, unknown.json()["errors"][0]["path"]) == (422, "source")
    assert "disability" in unknown.json()["errors"][0]["message_en"]
    not_csv = upload(client, city, "disability", b"\xff\xfe\x00garbage", name="x.csv")
    assert not_csv.status_code == 422 and not_csv.json()["errors"][0]["code"] == "unreadable_file"
    other_kind = upload(client, city, "disability", b"a,b", name="x.pdf")
    assert other_kind.status_code == 422 and other_kind.json()["errors"][0]["code"] == "unsupported_file"
    assert snapshot(app) == before


def test_only_supervisors_and_admins_import(client, city, app):
    content = csv_bytes(DISABILITY, [["", "张三", "1970-01-01", "T1", days_ago(1), "一级"]])
    for user in ("caseworker_s1", "analyst"):
        assert upload(client, city, "disability", content, user=user).status_code == 403
    assert count_rows(app, "discovery_records") == 0
    assert upload(client, city, "disability", content, user="admin").status_code == 201


def test_the_sources_are_listed_from_their_data_files(client, city):
    answer = client.get("/v1/discovery/sources", headers=city.auth("caseworker_s1"))
    assert answer.status_code == 200
    sources = {s["id"]: s for s in answer.json()}
    assert {"disability", "medical_bills", "discharges", "unemployment", "utility_arrears", "school_dropouts",
            "lapsed_applications", "deaths_moves"} <= set(sources)
    assert sources["medical_bills"]["columns"]["detail"] == "个人自付金额"
    assert (sources["medical_bills"]["detail_type"], sources["medical_bills"]["fresh_days"]) == ("number", 365)


def test_headers_with_spaces_around_them_and_a_broken_spreadsheet(client, city, app):
    header = tuple("".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in h) + " "
                   for h in ("身份证号", "姓名", "出生日期", "镇街", "登记日期", "残疾等级"))
    answer = upload(client, city, "disability", csv_bytes(header, [["", "张三", "1970-01-01", "T1", days_ago(1), "一级"]]))
    assert answer.status_code == 201, answer.text
    broken = upload(client, city, "disability", b"PK\x03\x04 not really a spreadsheet", name="x.xlsx")
    assert broken.status_code == 422 and broken.json()["errors"][0]["code"] == "unreadable_file"


def test_key_rotation_re_hashes_the_records_that_keep_personal_data_and_their_candidates(client, city, app):
    on_file, alone = resident_id_number(311), resident_id_number(312)
    assert client.post("/v1/households", headers=city.auth("caseworker_s1"),
                       json=household_payload(city.stations["S1"], id_number=on_file)).status_code == 201
    content = csv_bytes(DISABILITY, [[on_file, "赵春华", "1970-01-01", "T1", days_ago(3), "一级"],
                                     [alone, "钱七", "1970-01-01", "T1", days_ago(3), "一级"],
                                     ["", "孙八", "1960-06-01", "T2", days_ago(3), "二级"]])
    assert upload(client, city, "disability", content).json()["matching"]["candidates_new"] == 2
    new_hash_key = "another-hash-key-for-rotation-0123456789"
    with app.state.context.database.session(write=True) as session:
        done = rotate_keys(session=session, keys=Keys((DATA_KEY,), new_hash_key))
    assert (done["discovery_records"], done["discovery_records_not_rehashed"]) == (2, 1)
    with app.state.context.database.engine.connect() as connection:
        hashes = [r[0] for r in connection.execute(text("SELECT id_number_hash FROM discovery_records ORDER BY id"))]
        keys_of_candidates = {r[0] for r in connection.execute(text("SELECT person_key FROM discovery_candidates"))}
        keys_of_records = {r[0] for r in connection.execute(text(
            "SELECT person_key FROM discovery_records WHERE personal IS NOT NULL"))}
    new_hash = hmac.new(new_hash_key.encode(), alone.encode(), hashlib.sha256).hexdigest()
    old_hash = hmac.new(HASH_KEY.encode(), on_file.encode(), hashlib.sha256).hexdigest()
    assert hashes == [old_hash, new_hash, None]  # the matched record keeps its old hash
    assert keys_of_candidates == keys_of_records and new_hash in keys_of_candidates
    with app.state.context.database.session(write=True) as session:
        again = import_records(session=session, keys=Keys((DATA_KEY,), new_hash_key),
                               discovery=discovery_of(app.state.context), caller=None, source_id="disability",
                               content=content, file_name="again.csv", today=date.today())
    assert (again["added"], again["already_known"]) == (1, 2)  # only the matched row is not recognised


def test_every_source_file_loads_with_its_columns_and_gives_its_signal(client, city, app):
    sources = client.get("/v1/discovery/sources", headers=city.auth("supervisor_t1")).json()
    for position, source in enumerate(sources):
        columns = source["columns"]
        header = [columns[f] for f in ("id_number", "name", "birth_date", "town", "recorded_on")]
        row = [resident_id_number(330 + position), "周九", "1955-05-05", "T1", days_ago(2)]
        if columns["detail"]:
            header.append(columns["detail"])
            row.append("12" if source["detail_type"] == "number" else "一级")
        answer = upload(client, city, source["id"], csv_bytes(header, [row]), name=f"{source['id']}.csv")
        assert answer.status_code == 201, (source["id"], answer.text)
        assert answer.json()["added"] == 1
    with app.state.context.database.engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT source, signal FROM discovery_records")).all())
    assert stored == {s["id"]: s["signal"] for s in sources}
