"""The caseworker pages without a network (Playwright's offline mode): the household list and questionnaires
opened before come from the device, finished questionnaires wait in the outbox and are stored when the
connection returns; a household assessed on the server meanwhile is a conflict; sign-out deletes it all."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from api.assessments.tables import Assessment
from api.households.tables import Household
from api.security import decrypt_json
from tests.api.factories import calm_answers
from tests.web.conftest import sign_in
from tests.web.test_caseworker import answer

pytestmark = pytest.mark.browser
KEPT_URLS = "async () => { const urls = []; for (const name of await caches.keys()) { const cache = " \
            "await caches.open(name); for (const request of await cache.keys()) urls.push([name, request.url]); }" \
            " return urls; }"


def station_households(site, count: int) -> list[tuple[int, str]]:
    """Households the caseworker's station serves, among the newest (on the list's first page), with names."""
    keys = site.app.state.context.keys
    with site.session() as session:
        rows = session.execute(select(Household.id, Household.personal)
                               .where(Household.station_id == site.caseworker_station,
                                      Household.id != site.own_household)
                               .order_by(Household.id.desc()).limit(count + 1)).all()
    return [(household_id, decrypt_json(keys, personal)["name"]) for household_id, personal in rows[1:]]


def assessments_of(site, household_id: int) -> list[Assessment]:
    with site.session() as session:
        return session.scalars(select(Assessment).where(Assessment.household_id == household_id)
                               .order_by(Assessment.id)).all()


def wait_until_kept(page, path: str, containing: str = "", timeout: float = 15) -> None:
    """Until the service worker has kept the page at `path` (with `containing` in it)."""
    deadline = time.monotonic() + timeout
    script = "async ([url, text]) => { const kept = await caches.match(url); return Boolean(kept) && " \
             "(await kept.text()).includes(text); }"
    while not page.evaluate(script, [path, containing]):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} was not kept for offline use")
        time.sleep(0.1)


def open_online(page, path: str) -> None:
    page.goto(path)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    wait_until_kept(page, path)


def fill_questionnaire(page, catalog, answers: dict) -> dict:
    """Answer every question shown; the answers typed."""
    typed = {}
    for indicator in catalog.indicators:
        if page.locator(f"#q-{indicator.id}").is_visible():
            answer(page, indicator, answers[indicator.id])
            typed[indicator.id] = answers[indicator.id]
    return typed


OFFLINE_COOKIE = "assess_test_offline"
# Chromium's offline emulation reaches a document only once it has started, so a page loaded at that moment may
# see itself online and send: every document reads `navigator.onLine` through this cookie, before its own scripts.
OFFLINE_AS_THE_COOKIE_SAYS = """
(() => {
  const online = Object.getOwnPropertyDescriptor(Navigator.prototype, "onLine").get;
  Object.defineProperty(Navigator.prototype, "onLine", {configurable: true, get() {
    return !document.cookie.split("; ").includes("%s=1") && online.call(this);
  }});
})();
""" % OFFLINE_COOKIE


def go_offline(context) -> None:
    """Playwright's offline mode, and the API cut off as well: Chromium's emulation does not always hold back a
    request of a page its service worker served, where a real lost connection would."""
    origin = re.match(r"^https?://[^/]+", context.pages[0].url).group(0)
    context.add_cookies([{"name": OFFLINE_COOKIE, "value": "1", "url": origin}])
    context.add_init_script(OFFLINE_AS_THE_COOKIE_SAYS)
    for page in context.pages:
        page.evaluate(OFFLINE_AS_THE_COOKIE_SAYS)
    context.set_offline(True)
    context.route("**/v1/**", lambda route: route.abort("internetdisconnected"))


def come_online(context) -> None:
    context.clear_cookies(name=OFFLINE_COOKIE)
    context.unroute("**/v1/**")
    context.set_offline(False)


def outbox_row(page, submission_id: str):
    return page.locator(f'#outbox tr[data-submission="{submission_id}"]')


def queued(page) -> list[dict]:
    return page.evaluate("Outbox.load()")


def test_questionnaires_filled_offline_are_stored_when_back_online_and_a_conflict_is_shown(site, context, page,
                                                                                             shot):
    catalog = site.app.state.context.scorer.catalog
    (first, first_name), (second, second_name) = station_households(site, 2)
    before = {first: assessments_of(site, first), second: assessments_of(site, second)}
    sign_in(page, site, "caseworker")
    open_online(page, "/app/households")
    for household_id in (first, second):
        open_online(page, f"/app/households/{household_id}/assess")
    assert page.goto(f"/app/households/{site.other_household}/assess").status == 403
    kept = [url for _, url in page.evaluate(KEPT_URLS)]
    assert not [url for url in kept if f"/households/{site.other_household}" in url]  # another station's: never
    pages = {re.sub(r"^https?://[^/]+", "", url) for url in kept if "/static/" not in url}
    assert pages == {"/app/households", "/app/outbox", f"/app/households/{first}/assess",
                     f"/app/households/{second}/assess"}

    manifest = page.request.get(page.get_attribute('link[rel="manifest"]', "href"))
    assert manifest.headers["content-type"] == "application/manifest+json"
    fields = manifest.json()
    assert (fields["scope"], fields["start_url"], fields["display"]) == ("/app/", "/app/households", "standalone")
    assert all(page.request.get(icon["src"]).ok for icon in fields["icons"])
    assert f"{site.url}/app/static/icon.svg" in kept and f"{site.url}/app/static/questionnaire.js" in kept

    go_offline(context)
    page.goto("/app/households")  # from the device: the list as the caseworker sees it, names shown
    names = page.locator("#households tbody tr td:nth-child(2)").all_inner_texts()
    assert first_name in names and second_name in names
    shot(page, "households-offline")

    answers, typed = calm_answers(catalog), {}
    for household_id in (first, second):
        page.locator(f'#households a.assess[href$="/households/{household_id}/assess"]').click()
        page.wait_for_url(f"**/households/{household_id}/assess")
        typed[household_id] = fill_questionnaire(page, catalog, answers)
        page.wait_for_selector("#live-index:has-text('离线')")
        page.click("#submit")
        page.wait_for_url("**/app/outbox")
        if household_id == first:
            page.goto("/app/households")
    page.wait_for_function("() => Outbox.load().every((item) => item.state !== 'sent')")  # a try in flight
    items = queued(page)
    assert [(item["household"], item["state"]) for item in items] == [(str(first), "waiting"), (str(second), "waiting")]
    for item in items:
        uuid.UUID(item["submission_id"])
        assert outbox_row(page, item["submission_id"]).locator(".state").inner_text() == "等待发送"
    assert page.locator("#outbox-count").inner_text() == "2"
    assert page.locator("#connection").inner_text().startswith("当前离线")
    shot(page, "outbox-offline")
    assert [a.id for a in assessments_of(site, first)] == [a.id for a in before[first]]  # nothing sent yet

    # Meanwhile someone assesses the second household on the server.
    with httpx.Client(base_url=site.url) as http:
        meanwhile = http.post(f"/v1/households/{second}/assessments", headers={
            "Authorization": f"Bearer {site.tokens['caseworker']}"}, json={
            "submission_id": str(uuid.uuid4()), "answers": typed[second], "assessed_on": date.today().isoformat()})
    assert meanwhile.status_code == 201

    come_online(context)  # the connection returns: the outbox sends what waits
    stored_row, conflict_row = (outbox_row(page, item["submission_id"]) for item in items)
    stored_row.locator(".state:has-text('已保存')").wait_for()
    conflict_row.locator(".state:has-text('冲突')").wait_for()
    assert page.locator("#connection").inner_text() == "已联网。"
    shot(page, "outbox-stored-and-conflict")

    stored = assessments_of(site, first)
    assert len(stored) == len(before[first]) + 1
    assert stored[-1].idempotency_key == items[0]["submission_id"] and stored[-1].answers == typed[first]
    tier = next(t.label.zh for t in catalog.tiers if t.id == stored[-1].tier)
    assert stored_row.locator("a.result").inner_text() == f"评估 {stored[-1].id}:指数 {stored[-1].index:.1f},{tier}"
    # The conflict: nothing of the questionnaire stored, the server's assessment untouched, the change named.
    second_now = assessments_of(site, second)
    assert [a.id for a in second_now] == [a.id for a in before[second]] + [meanwhile.json()["id"]]
    assert conflict_row.locator(".problems li").inner_text().startswith("打开此问卷后该家庭已有新的评估")
    assert page.locator("#outbox-count").inner_text() == "1"

    # Resolved by the caseworker: sent again, as a new assessment beside the server's.
    conflict_row.locator("button[data-action=send-anyway]").click()
    conflict_row.locator(".state:has-text('已保存')").wait_for()
    second_after = assessments_of(site, second)
    assert [a.id for a in second_after[:-1]] == [a.id for a in second_now]
    assert second_after[-1].idempotency_key == items[1]["submission_id"]
    assert second_after[-2].answers == second_now[-1].answers
    assert page.locator("#outbox-count").inner_text() == ""
    stored_row.locator("a.result").click()
    page.wait_for_url(f"**/app/assessments/{stored[-1].id}")


def test_a_refused_questionnaire_needs_fixing_and_sign_out_deletes_what_the_device_kept(site, context, page, shot):
    catalog = site.app.state.context.scorer.catalog
    (household_id, _), = station_households(site, 3)[2:]
    sign_in(page, site, "caseworker")
    open_online(page, "/app/households")
    open_online(page, f"/app/households/{household_id}/assess")

    go_offline(context)
    page.reload()
    fill_questionnaire(page, catalog, {**calm_answers(catalog), "fam_household_size": 0})
    page.click("#submit")
    page.wait_for_url("**/app/outbox")
    item, = queued(page)
    user = page.evaluate("document.body.dataset.user")
    kept_keys = page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('assess-'))")
    assert kept_keys == [f"assess-outbox:{user}"]  # the draft is gone: the questionnaire waits in the outbox

    come_online(context)
    row = outbox_row(page, item["submission_id"])
    row.locator(".state:has-text('需要修改')").wait_for()
    assert row.locator(".problems li").inner_text() == "家庭共同生活人口数:0 超出范围 1–20"
    shot(page, "outbox-needs-fixing")

    # Fixed in the questionnaire (offline again), under the same submission id; then stored.
    go_offline(context)
    row.locator("button[data-action=fix]").click()
    page.wait_for_url(f"**/households/{household_id}/assess")
    assert page.input_value("#a-fam_household_size") == "0"
    page.fill("#a-fam_household_size", "2")
    page.click("#submit")
    page.wait_for_url("**/app/outbox")
    assert [i["submission_id"] for i in queued(page)] == [item["submission_id"]]
    come_online(context)
    row.locator(".state:has-text('已保存')").wait_for()
    latest = assessments_of(site, household_id)[-1]
    assert latest.idempotency_key == item["submission_id"]
    wait_until_kept(page, f"/app/households/{household_id}/assess", f'data-based-on="{latest.id}"')  # renewed

    # A second one waits, refused again; signing out warns, then deletes the queue, drafts and kept pages.
    go_offline(context)
    page.goto(f"/app/households/{household_id}/assess")
    page.fill("#a-fam_household_size", "0")
    page.click("#submit")
    page.wait_for_url("**/app/outbox")
    come_online(context)
    page.locator("#outbox tr[data-state=needs_fixing]").wait_for()
    page.goto(f"/app/households/{household_id}/assess")
    page.fill("#a-fam_household_size", "3")  # a draft on the device too
    page.wait_for_selector("#draft-status:has-text('草稿已保存')")
    assert page.evaluate(KEPT_URLS)
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.locator("header form button").click()
    page.wait_for_url("**/app/sign-in")
    assert dialogs == ["本设备上还有 1 份问卷未保存到服务器,退出后将被删除。确定退出?"]
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('assess-'))") == []
    assert page.evaluate(KEPT_URLS) == []
    shot(page, "signed-out")


def test_a_supervisors_pages_are_never_kept_on_the_device(site, page):
    sign_in(page, site, "supervisor")
    page.goto("/app/households")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"/app/households/{site.own_household}/assess")
    page.goto("/app/outbox")
    wait_until_kept(page, "/app/static/offline.js")
    page.evaluate("async () => (await navigator.serviceWorker.ready, true)")
    kept = [url for _, url in page.evaluate(KEPT_URLS)]
    assert kept and all("/app/static/" in url for url in kept)
