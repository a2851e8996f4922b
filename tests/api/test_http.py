"""The service over real HTTP connections (uvicorn on a free loopback port): the body size limit, and
keep-alive connections after errors."""

from __future__ import annotations

import http.client
import json
import select
import socket
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import insert

from api.households.tables import Household
from tests.api.factories import household_payload
from tests.api.support import snapshot

FIFTY_MB = 50 * 1024 * 1024


def _address(server: str) -> tuple[str, int]:
    parts = urlsplit(server)
    return parts.hostname, parts.port


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response with a Content-Length, read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a whole response: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of the body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def _request_head(path: str, token: str, extra: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\n{extra}\r\n").encode("ascii")


def _assert_too_large(status: int, headers: dict, body: bytes, limit: int) -> None:
    assert status == 413
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 413
    [error] = problem["errors"]
    assert error["code"] == "content_too_large" and str(limit) in error["message_en"] and error["message_zh"]


def test_a_declared_50_mb_body_is_refused_before_any_of_it_is_sent(server, city, app):
    """The 413 comes back while the client has sent the headers alone: the server cannot have read, let
    alone held, the body. It then closes the connection, as the body will not be read."""
    limit = app.state.context.settings.max_body_bytes
    assert limit < FIFTY_MB
    before = snapshot(app)
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(_request_head("/v1/households", city.tokens["caseworker_s1"],
                                   f"Content-Length: {FIFTY_MB}\r\n"))
        _assert_too_large(*_read_response(sock), limit)
        assert sock.recv(1) == b""  # closed by the server
    assert snapshot(app) == before


def test_a_chunked_body_is_refused_once_it_passes_the_limit(server, city, app):
    """Without a Content-Length the body is counted as it arrives: the 413 comes back after about the limit,
    long before the 50 MB the client would send."""
    limit = app.state.context.settings.max_body_bytes
    before = snapshot(app)
    piece = b" " * 65536  # white space is valid JSON padding, so only the size can be refused
    frame = f"{len(piece):x}\r\n".encode("ascii") + piece + b"\r\n"
    sent = 0
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(_request_head("/v1/households", city.tokens["caseworker_s1"], "Transfer-Encoding: chunked\r\n"))
        while sent < FIFTY_MB and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        _assert_too_large(*_read_response(sock), limit)
    assert limit < sent < FIFTY_MB // 4
    assert snapshot(app) == before


def test_a_body_within_the_limit_is_served_as_before(server, city, app):
    connection = http.client.HTTPConnection(*_address(server), timeout=30)
    body = json.dumps(household_payload(city.stations["S1"])).encode()
    connection.request("POST", "/v1/households", body=body, headers={
        "Authorization": f"Bearer {city.tokens['caseworker_s1']}", "Content-Type": "application/json"})
    assert connection.getresponse().status == 201
    connection.close()


def _undecryptable_household(app, city) -> int:
    """A household whose personal data no configured key decrypts: reading it is a genuine 500."""
    foreign = Fernet(Fernet.generate_key()).encrypt(b'{"name": "x"}').decode()
    with app.state.context.database.session(write=True) as session:
        return session.scalar(insert(Household).returning(Household.id), [{
            "station_id": city.stations["S1"], "status": "active", "personal": foreign,
            "id_number_hash": "0" * 64, "created_by": city.user_ids["caseworker_s1"]}])


def test_a_keep_alive_connection_serves_the_next_request_after_any_error(server, city, app):
    """After a 4xx the same connection serves the next request; after a 500 the response says
    `Connection: close`, so the client opens a new one instead of writing into a closed socket."""
    broken = _undecryptable_household(app, city)
    auth = {"Authorization": f"Bearer {city.tokens['caseworker_s1']}"}
    json_auth = {**auth, "Content-Type": "application/json"}
    bad_requests = [
        ("GET", "/v1/households/2147483648", None, auth, 422),
        ("POST", "/v1/households", b"{not json", json_auth, 422),
        ("POST", "/v1/households", '{"personal": {"name": "\\ud800"}}'.encode(), json_auth, 422),
        ("GET", "/v1/households/424242", None, auth, 404),
        ("GET", "/v1/households", None, {}, 401),
        ("GET", "/v1/users", None, auth, 403),
        ("PUT", "/v1/score", None, auth, 405),
    ]
    connection = http.client.HTTPConnection(*_address(server), timeout=30)
    connection.request("GET", "/v1/me", headers=auth)
    assert connection.getresponse().read() and connection.sock is not None
    sock = connection.sock
    for method, path, body, headers, status in bad_requests:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        assert (response.status, response.getheader("connection")) == (status, None), path
        response.read()
        connection.request("GET", "/v1/me", headers=auth)
        good = connection.getresponse()
        assert good.status == 200 and json.loads(good.read())["role"] == "caseworker"
        assert connection.sock is sock, f"the connection was not kept after {method} {path}"

    connection.request("GET", f"/v1/households/{broken}", headers=auth)
    response = connection.getresponse()
    assert response.status == 500 and response.getheader("connection") == "close"
    response.read()
    connection.request("GET", "/v1/me", headers=auth)  # on a new connection, as the server said
    assert connection.getresponse().status == 200
    connection.close()
