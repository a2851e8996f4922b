"""Pulling submissions from an ODK Central form's OData feed, from a stored checkpoint.

`GET {server}/v1/projects/{project}/forms/{form}.svc/Submissions` with `$filter=__system/submissionDate ge
{checkpoint}`, `$orderby=__system/submissionDate asc` and `$top`/`$skip` paging (or the server's
`@odata.nextLink`); each row of `value` is taken as a posted submission (api.intake.service.take), each in a
transaction of its own, and the checkpoint moves to the latest submission date of each page once the page is
taken. `ge` rather than `gt`: submissions sharing the checkpoint's instant are fetched again and found by their
instance ids, so none is missed and none is stored twice.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import httpx
from sqlalchemy import select

from api.intake import service
from api.intake.tables import IntakeCheckpoint

MAX_PAGES = 100_000  # a server that keeps sending full pages of the same rows cannot hold a pull forever


def checkpoint_key(server: str, project: str, form: str) -> str:
    return f"{server.rstrip('/')}|{project}|{form}"[:500]


def read_checkpoint(session, key: str) -> str | None:
    return session.scalar(select(IntakeCheckpoint.submitted_until).where(IntakeCheckpoint.source == key))


def write_checkpoint(session, key: str, submitted_until: str) -> None:
    row = session.get(IntakeCheckpoint, key)
    if row is None:
        session.add(IntakeCheckpoint(source=key, submitted_until=submitted_until))
    elif submitted_until > row.submitted_until:
        row.submitted_until = submitted_until
    session.flush()


def feed_pages(client: httpx.Client, server: str, project: str, form: str, since: str | None, page_size: int):
    """The feed's rows, a page at a time, oldest first, from `since` (None: from the start)."""
    url = (f"{server.rstrip('/')}/v1/projects/{quote(str(project), safe='')}/forms/{quote(form, safe='')}.svc"
           "/Submissions")
    params: dict | None = {"$top": page_size, "$skip": 0, "$orderby": "__system/submissionDate asc"}
    if since:
        params["$filter"] = f"__system/submissionDate ge {since}"
    for _ in range(MAX_PAGES):
        response = client.get(url, params=params)
        response.raise_for_status()
        document = response.json()
        rows = document.get("value", []) if isinstance(document, dict) else []
        yield rows
        next_link = document.get("@odata.nextLink") if isinstance(document, dict) else None
        if next_link:
            url, params = next_link, None
        elif len(rows) < page_size:
            return
        else:
            params["$skip"] += page_size


def pull(*, database, keys, scorer, caller, station_id: int, server: str, project: str, form: str,
         auth: tuple[str, str] | None, earliest_assessed_on: date, page_size: int = 250,
         client: httpx.Client | None = None) -> dict[str, int]:
    """Take every submission of the form after the checkpoint; counts of what was stored, queued and already
    received."""
    key = checkpoint_key(server, project, form)
    with database.session() as session:
        since = read_checkpoint(session, key)
    counts = {"stored": 0, "queued": 0, "already_received": 0, "rejected": 0}
    own_client = client is None
    client = client or httpx.Client(auth=auth, timeout=60, follow_redirects=True)
    try:
        for rows in feed_pages(client, server, project, form, since, page_size):
            latest = None
            for row in rows:
                with database.session(write=True) as session:
                    record, new = service.take(session=session, station_id=station_id, caller=caller, keys=keys,
                                               scorer=scorer, body=row, earliest_assessed_on=earliest_assessed_on)
                counts[record["status"] if new else "already_received"] += 1
                submitted = (row.get("__system") or {}).get("submissionDate") if isinstance(row, dict) else None
                if isinstance(submitted, str) and (latest is None or submitted > latest):
                    latest = submitted
            if latest is not None:
                with database.session(write=True) as session:
                    write_checkpoint(session, key, latest)
    finally:
        if own_client:
            client.close()
    return counts
