"""At 390 pixels wide no page of any role scrolls sideways (the document is no wider than the screen, with the
forms that open on a page opened too), and no table cell or fact wraps its text one character per line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.assessments.tables import Assessment
from api.auth.tables import User
from api.configs import service as configs
from api.households.tables import Household
from api.referrals.tables import Referral
from tests.web.conftest import WIDTHS, sign_in

pytestmark = pytest.mark.browser

# The cells and facts whose visible text is laid out one character per line (at least two characters, as
# many lines as characters): a column squeezed too narrow.
SQUEEZED = """() => [...document.querySelectorAll('td, th, dd, dt')].filter((cell) => {
  const text = cell.innerText.trim();
  if ([...text].length < 2 || !cell.offsetParent || cell.getBoundingClientRect().width < 4) return false;
  const tops = [];
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (!walker.currentNode.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    tops.push(...[...range.getClientRects()].filter((r) => r.width > 0).map((r) => r.top));
  }
  const half = parseFloat(getComputedStyle(cell).fontSize) / 2;
  let lines = 0, last = -Infinity;
  for (const top of tops.sort((x, y) => x - y)) if (top - last > half) { lines += 1; last = top; }
  return lines >= [...text].length;
}).map((cell) => cell.innerText.trim().slice(0, 20))"""


def pages_of_every_role(site) -> dict[str, list[str]]:
    catalog = site.app.state.context.scorer.catalog
    with site.session(write=True) as session:
        household = site.own_household
        assessment = session.scalar(select(Assessment.id).where(Assessment.household_id == household))
        station_households = session.scalars(select(Household.id).where(
            Household.station_id == site.caseworker_station).order_by(Household.id).limit(3)).all()
        provider_id = session.scalar(select(User.provider_id).where(User.name == "demo-provider"))
        referrals = list({status: referral_id for referral_id, status in session.execute(
            select(Referral.id, Referral.status).where(Referral.provider_id == provider_id)
            .order_by(Referral.id.desc()))}.values())  # one of each status
        draft = configs.create_draft(session=session, caller=None, catalog=catalog,
                                     document={"tier_cutoffs": {"severe": 55}})
    station = ["/app/households", "/app/households/new", f"/app/households/{household}",
               f"/app/households/{household}/edit", f"/app/households/{household}/assess",
               f"/app/households/{household}/assess?corrects={assessment}", f"/app/assessments/{assessment}",
               "/app/referrals/open", *[f"/app/referrals/{r}" for r in referrals],
               "/app/households/print?" + "&".join(f"id={h}" for h in station_households)]
    return {
        "caseworker": station,
        "supervisor": [*station, "/app/ranking", "/app/alerts", "/app/referrals", "/app/admin/providers"],
        "provider": ["/app/inbox", *[f"/app/inbox?group={g}" for g in ("accepted", "in-progress", "on-hold", "closed")],
                     *[f"/app/referrals/{r}" for r in referrals]],
        "admin": ["/app/households", f"/app/households/{household}", "/app/referrals", "/app/admin/users",
                  "/app/admin/providers", f"/app/admin/providers/{provider_id}", "/app/admin/reasons",
                  "/app/admin/audit", "/app/ranking", "/app/alerts", "/app/configurations"],
        "analyst": ["/app/configurations", f"/app/configurations/{draft['id']}", "/app/ranking", "/app/referrals"],
    }


def test_no_page_of_any_role_scrolls_sideways_at_390_pixels(site, browser, shot):
    wide = []
    for role, urls in pages_of_every_role(site).items():
        context = browser.new_context(base_url=site.url, viewport=WIDTHS["phone"], is_mobile=True)
        try:
            page = context.new_page()
            sign_in(page, site, role)
            for url in urls:
                response = page.goto(url)
                assert response.status == 200, (role, url, response.status)
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > WIDTHS["phone"]["width"]:
                    wide.append(f"{role} {url}: {width} pixels wide")
                squeezed = page.evaluate(SQUEEZED)
                if squeezed:
                    wide.append(f"{role} {url}: one character per line in {squeezed[:5]}")
                shot(page, f"{role}-{url.strip('/').replace('/', '-').replace('?', '-')}"[:80])
        finally:
            context.close()
    assert not wide, "\n".join(wide)
