"""`assess intake pull` against a loopback server that serves recorded submissions as ODK Central's OData feed
does (`value` rows with `__id` and `__system`, `$filter` on `__system/submissionDate`, `$top`/`$skip`, basic
authentication): new submissions taken from the checkpoint on, each once."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from api.intake.tables import IntakeCheckpoint
from cli.main import app as cli
from indicators.xlsform import form_version
from tests.api.factories import calm_answers, with_answer
from tests.api.support import count_rows
from tests.api.workflow_helpers import new_household
from tests.cli.test_import_command import environment

runner = CliRunner()
ACCOUNT = ("collector@example.org", "central-password")
FILTER = re.compile(r"^__system/submissionDate ge (\S+)$")


class Central:
    """The recorded submissions of one form, served as ODK Central's OData feed; every query it answered."""

    def __init__(self, project: str, form: str):
        self.path = f"/v1/projects/{project}/forms/{form}.svc/Submissions"
        self.rows: list[dict] = []
        self.queries: list[dict] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self):
        central = self
        expected = "Basic " + base64.b64encode(":".join(ACCOUNT).encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                if self.headers.get("Authorization") != expected:
                    return self._send(401, {"code": 401.2, "message": "Could not authenticate with the provided "
                                                                       "credentials."})
                if url.path != central.path:
                    return self._send(404, {"code": 404.1, "message": "Could not find the resource you were "
                                                                       "looking for."})
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                central.queries.append(query)
                rows = sorted(central.rows, key=lambda row: row["__system"]["submissionDate"])
                if "$filter" in query:
                    since = FILTER.match(query["$filter"]).group(1)
                    rows = [row for row in rows if row["__system"]["submissionDate"] >= since]
                skip, top = int(query.get("$skip", 0)), int(query.get("$top", 1000))
                self._send(200, {"@odata.context": f"{central.url}/v1/projects/1/forms/hardship.svc/$metadata"
                                                   "#Submissions", "value": rows[skip:skip + top]})

            def _send(self, status: int, document: dict):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def central():
    server = Central("1", "hardship")
    yield server
    server.close()


def odk_row(catalog, household, answers: dict, submitted: str, instance: str | None = None) -> dict:
    """A row of `value` as ODK Central's OData feed serves it: groups as objects, system fields under __system."""
    instance = instance or f"uuid:{uuid.uuid4()}"
    row = {"__id": instance, "household_id": household, "today": submitted[:10], "meta": {"instanceID": instance},
           "__system": {"submissionDate": submitted, "updatedAt": None, "submitterId": "5",
                        "submitterName": "collect-1", "attachmentsPresent": 0, "attachmentsExpected": 0,
                        "status": None, "reviewState": None, "deviceId": None, "edits": 0,
                        "formVersion": form_version(catalog)}}
    for key, value in answers.items():
        row.setdefault(catalog.indicator_by_id[key].dimension, {})[key] = value
    return row


def pull(central, city, page_size: int = 2):
    return runner.invoke(cli, ["intake", "pull", "--odk", central.url, "--project", "1", "--form", "hardship",
                               "--station", str(city.stations["S1"]), "--user", "caseworker_s1",
                               "--odk-user", ACCOUNT[0], "--page-size", str(page_size)])


def test_pull_takes_new_submissions_from_the_checkpoint(app, client, city, catalog, database_url, monkeypatch,
                                                        central):
    environment(monkeypatch, database_url)
    monkeypatch.setenv("ASSESS_ODK_PASSWORD", ACCOUNT[1])
    household = new_household(client, city, "S1", "caseworker_s1")
    calm = calm_answers(catalog)
    size = catalog.indicator_by_id["fam_household_size"].answer
    central.rows = [odk_row(catalog, household, calm, f"2026-03-0{day}T08:00:00.000Z") for day in (1, 2, 3, 4)]
    central.rows.append(odk_row(catalog, household, with_answer(calm, fam_household_size=size.max + 1),
                                "2026-03-05T08:00:00.000Z"))
    first = pull(central, city)
    assert first.exit_code == 0, first.output
    assert "hardship: 4 stored, 1 queued, 0 received before" in first.output
    assert [q.get("$skip") for q in central.queries] == ["0", "2", "4"]  # pages of 2, the last one short
    assert all("$filter" not in q for q in central.queries)  # no checkpoint yet
    with app.state.context.database.session() as session:
        assert session.get(IntakeCheckpoint, f"{central.url}|1|hardship").submitted_until == \
            "2026-03-05T08:00:00.000Z"
    assert count_rows(app, "assessments") == 4 and count_rows(app, "intake_submissions") == 5

    central.queries.clear()
    central.rows += [odk_row(catalog, household, calm, "2026-03-06T09:30:00.000Z"),
                     odk_row(catalog, household, calm, "2026-03-07T09:30:00.000Z")]
    second = pull(central, city, page_size=10)
    assert second.exit_code == 0, second.output
    assert central.queries[0]["$filter"] == "__system/submissionDate ge 2026-03-05T08:00:00.000Z"
    # the submission at the checkpoint's instant comes again and is found by its instance id
    assert "hardship: 2 stored, 0 queued, 1 received before" in second.output
    assert count_rows(app, "assessments") == 6 and count_rows(app, "intake_submissions") == 7
    third = pull(central, city)
    assert "hardship: 0 stored, 0 queued, 1 received before" in third.output
    assert count_rows(app, "assessments") == 6


def test_a_pulled_instance_posted_by_kobo_too_is_stored_once(app, client, city, catalog, database_url, monkeypatch,
                                                            central):
    environment(monkeypatch, database_url)
    monkeypatch.setenv("ASSESS_ODK_PASSWORD", ACCOUNT[1])
    household = new_household(client, city, "S1", "caseworker_s1")
    row = odk_row(catalog, household, calm_answers(catalog), "2026-03-01T08:00:00.000Z")
    central.rows = [row]
    token = client.post("/v1/intake/tokens", json={"station_id": city.stations["S1"], "label": "Kobo"},
                        headers=city.auth("supervisor_t1")).json()["token"]
    posted = client.post("/v1/intake/submissions", json=row, headers={"Authorization": f"Bearer {token}"})
    assert posted.status_code == 201 and posted.json()["status"] == "stored"
    result = pull(central, city)
    assert "hardship: 0 stored, 0 queued, 1 received before" in result.output
    assert count_rows(app, "assessments") == 1


def test_wrong_credentials_end_the_pull_with_the_servers_answer(app, city, database_url, monkeypatch, central):
    environment(monkeypatch, database_url)
    monkeypatch.setenv("ASSESS_ODK_PASSWORD", "wrong")
    result = pull(central, city)
    assert result.exit_code == 2 and "401" in result.output
    assert count_rows(app, "intake_checkpoints") == 0
