"""The scorer's champion: looked up again in the background while requests keep the model they had."""

from __future__ import annotations

import threading
import time

from api.assessments.scoring import ChampionCache
from tests.api.support import settings_for


class SlowRegistry(ChampionCache):
    """Champions "v1", "v2", ...; a lookup after the first waits until `proceed` is set."""

    def __init__(self):
        super().__init__(settings_for("sqlite://", model_refresh_seconds=0))
        self.lookups, self.started, self.proceed = 0, threading.Event(), threading.Event()

    def _load(self, current):
        self.lookups += 1
        if self.lookups > 1:
            self.started.set()
            assert self.proceed.wait(30)
        return f"v{self.lookups}"


def test_a_later_champion_lookup_runs_in_the_background_while_requests_keep_the_model_they_had():
    cache = SlowRegistry()
    assert cache.get() == "v1"  # the first lookup is waited for
    assert cache.get() == "v1"  # stale at once (0 s): starts a lookup and does not wait for it
    assert cache.started.wait(30)
    assert cache.get() == "v1" and cache.lookups == 2  # no second lookup while one runs
    cache.proceed.set()
    deadline = time.monotonic() + 30
    while cache.get() == "v1" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get() in ("v2", "v3")  # the lookup's champion, or the one after it (0 s: always stale)
