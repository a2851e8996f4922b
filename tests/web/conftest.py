"""A real uvicorn server on 127.0.0.1 (random port) over a temporary SQLite database seeded with the
demo city, and headless Chromium driven by Playwright.

Chromium is Debian's `chromium` package. When it is missing these tests fail (CI must install it);
set ASSESS_SKIP_BROWSER=1 to skip them instead.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from api import demo
from api.app import create_app
from api.auth.tables import User
from api.geography.tables import Station
from api.households.tables import Household
from api.referrals import providers
from tests.api.support import settings_for

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DEMO_HOUSEHOLDS = 80
PROVIDERS = {"区社会救助服务中心": ["basic_living_allowance", "emergency_assistance"]}


def chromium_path() -> str:
    """Debian's chromium, or a loud failure (a clear skip only when ASSESS_SKIP_BROWSER=1)."""
    if os.environ.get("ASSESS_SKIP_BROWSER") == "1":
        pytest.skip("ASSESS_SKIP_BROWSER=1: browser tests skipped")
    path = os.environ.get("ASSESS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium` "
                    "(or set ASSESS_SKIP_BROWSER=1 to skip the browser tests)", pytrace=False)
    return path


@dataclass
class LiveSite:
    """The running server, the demo users' tokens, and a few households to visit."""

    url: str
    app: object
    tokens: dict[str, str]
    own_household: int = 0
    other_household: int = 0
    caseworker_station: int = 0
    shots: list[Path] = field(default_factory=list)

    def session(self, *, write: bool = False):
        return self.app.state.context.database.session(write=write)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> LiveSite:
    chromium_path()  # fail or skip before seeding anything
    database = tmp_path_factory.mktemp("web") / "assess.db"
    app = create_app(settings_for(f"sqlite:///{database}"))
    context = app.state.context
    with context.database.session(write=True) as session:
        tokens = demo.seed(session=session, keys=context.keys, scorer=context.scorer, households=DEMO_HOUSEHOLDS)
        for name, services in PROVIDERS.items():
            providers.create_provider(session=session, caller=None, catalog=context.scorer.catalog, name=name,
                                      kind="social_organisation", services=services)
        station = session.scalar(select(User.station_id).where(User.role == "caseworker"))
        own = session.scalar(select(Household.id).where(Household.station_id == station).order_by(Household.id))
        other = session.scalar(select(Household.id).join(Station, Household.station_id == Station.id)
                               .where(Household.station_id != station).order_by(Household.id))
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    host, port = sock.getsockname()
    yield LiveSite(url=f"http://{host}:{port}", app=app, tokens=tokens, own_household=own, other_household=other,
                   caseworker_station=station)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def context(browser, site):
    """A fresh browser profile (cookies, localStorage) per test, phone-sized when a test asks."""
    created = browser.new_context(base_url=site.url, accept_downloads=True, viewport={"width": 1100, "height": 900})
    created.set_default_timeout(15000)
    yield created
    created.close()


@pytest.fixture
def page(context):
    return context.new_page()


class Shots:
    """Screenshots of each page a test visits, named after the test, in visiting order."""

    def __init__(self, test_name: str):
        self.prefix = re.sub(r"[^a-z0-9_]+", "_", test_name.lower())
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request) -> Shots:
    return Shots(request.node.name)


def sign_in(page, site: LiveSite, role: str, shot: Shots | None = None) -> None:
    """Sign in with the keyboard only: type the token, press Enter."""
    page.goto("/app/")
    page.wait_for_url("**/app/sign-in**")
    if shot:
        shot(page, "sign-in")
    page.keyboard.press("Tab")  # skip link
    page.locator("#token").focus()
    page.keyboard.type(site.tokens[role])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/sign-in" not in url)


WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


class Browsing:
    """Signed-in pages of several users at once, each in a browser profile of its own, at one width."""

    def __init__(self, browser, site: LiveSite, width: str):
        self.browser, self.site, self.width = browser, site, width
        self.contexts = []

    def page_of(self, user: str, shot: Shots | None = None):
        context = self.browser.new_context(base_url=self.site.url, accept_downloads=True,
                                           viewport=WIDTHS[self.width], is_mobile=self.width == "phone")
        context.set_default_timeout(15000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, self.site, user, shot)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(params=list(WIDTHS))
def browsing(request, browser, site):
    """Pages at 1280 and at 390 pixels wide (phone)."""
    opened = Browsing(browser, site, request.param)
    yield opened
    opened.close()


def add_user(site: LiveSite, name: str, role, **scope) -> str:
    """A user of the demo city (a token kept in `site.tokens[name]`); its name is unique per call."""
    from api.auth.service import create_user

    with site.session(write=True) as session:
        _, token = create_user(session=session, caller=None, name=name, role=role, valid_days=0, **scope)
    site.tokens[name] = token["token"]
    return name


def problem_beside(page, form, path: str) -> str:
    """The message shown beside a form's field (the container marked with the field's data-path)."""
    field = page.locator(f'{form} [data-path="{path}"]')
    field.locator(".field-error:not(:empty)").wait_for()
    return field.locator(".field-error").inner_text().strip()
