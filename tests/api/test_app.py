"""The application as a whole: how many requests it runs at a time."""

from __future__ import annotations

from tests.api.support import settings_for


def test_the_server_runs_at_most_worker_threads_requests_at_a_time(tmp_path):
    from anyio import to_thread
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(settings_for(f"sqlite:///{tmp_path / 'threads.db'}", worker_threads=3))
    with TestClient(app) as client:
        assert client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens) == 3
