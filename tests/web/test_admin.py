"""The administrator's pages at 1280 and 390 pixels wide: users and tokens (add, issue, revoke), providers (add,
edit, deactivate; the directory exported and imported back), decision reasons, and the audit log filtered and
paged. Each form is first sent with a mistake: the message is beside the field and nothing typed is lost."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from api.audit.tables import AuditEntry
from api.referrals.tables import Provider, ReferralReason
from tests.api.support import snapshot
from tests.web.conftest import problem_beside

pytestmark = pytest.mark.browser


def me(site, token: str) -> int:
    return httpx.get(f"{site.url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_an_admin_adds_a_user_issues_and_revokes_tokens_and_filters_the_audit_log(site, browsing, shot):
    width = browsing.width
    page = browsing.page_of("admin")
    page.click("#nav-users")
    page.wait_for_url("**/app/admin/users")
    shot(page, f"{width}-users")
    name = f"worker-{width}"
    page.fill("#user-name", name)
    page.select_option("#user-role", "caseworker")
    before = snapshot(site.app)
    page.click("#add-user-form button[type=submit]")
    assert problem_beside(page, "#add-user-form", "station_id") == "角色 caseworker 必须指定一个驿站。"
    assert page.input_value("#user-name") == name
    assert snapshot(site.app) == before
    shot(page, f"{width}-user-without-station")
    page.select_option("#user-station", str(site.caseworker_station))
    page.click("#add-user-form button[type=submit]")
    page.locator("#add-user-form .token-result:not([hidden])").wait_for()
    first = page.locator("#new-token").inner_text()
    assert first.startswith("as_") and me(site, first) == 200
    shot(page, f"{width}-user-added")

    page.reload()
    row = page.locator(f'#users tr[data-name="{name}"]')
    row.locator("form.issue-token button").click()
    row.locator(".token-result:not([hidden])").wait_for()
    second = row.locator(".token-box").inner_text()
    assert second.startswith("as_") and second != first and me(site, second) == 200
    shot(page, f"{width}-token-issued")
    row.locator("form.revoke-tokens button").click()  # the confirmation is accepted
    row.locator(".revoked:has-text('2')").wait_for()
    assert me(site, first) == 401 and me(site, second) == 401
    shot(page, f"{width}-tokens-revoked")

    # The audit log: by user and action, a range of days that runs backwards, paging.
    with site.session() as session:
        user_id = session.scalar(select(AuditEntry.details["target_user_id"].as_integer())
                                 .where(AuditEntry.action == "revoke_tokens").order_by(AuditEntry.id.desc()))
    page.click("#nav-audit")
    page.wait_for_url("**/app/admin/audit")
    page.select_option("#action", "revoke_tokens")
    page.click("#apply-filters")
    page.wait_for_url("**action=revoke_tokens**")
    actions = set(page.locator("#audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)"))
    assert actions == {"revoke_tokens"}
    assert f"target_user_id={user_id}" in page.inner_text("#audit tbody tr:first-child")
    shot(page, f"{width}-audit-revocations")
    page.select_option("#action", "")
    page.fill("#date_from", "2030-01-02")
    page.fill("#date_to", "2030-01-01")
    page.click("#apply-filters")
    page.wait_for_url("**date_from=2030-01-02**")
    assert page.inner_text("#date_from-error").strip() == "开始日期晚于结束日期。"
    assert page.input_value("#date_from") == "2030-01-02" and page.locator("#audit").count() == 0
    shot(page, f"{width}-audit-bad-range")
    page.goto("/app/admin/audit")
    entries = "rows => rows.map(r => Number(r.dataset.entry))"
    first_page = page.locator("#audit tbody tr").evaluate_all(entries)
    assert len(first_page) == 50 and first_page == sorted(first_page, reverse=True)
    page.click("#audit-next")
    page.wait_for_url("**page=2**")
    assert page.inner_text("#audit-range").startswith("第 51–")
    second_page = page.locator("#audit tbody tr").evaluate_all(entries)
    assert second_page and max(second_page) < min(first_page)  # newest first, no entry twice


def test_an_admin_keeps_providers_reasons_and_the_directory(site, browsing, shot, tmp_path):
    width = browsing.width
    page = browsing.page_of("admin")
    page.click("#nav-providers")
    page.wait_for_url("**/app/admin/providers")
    name = f"测试机构{width}"
    page.fill("#provider-name", name)
    page.select_option("#provider-kind", "volunteer_team")
    page.fill("#provider-capacity", "8")
    before = snapshot(site.app)
    page.click("#add-provider-form button[type=submit]")
    assert problem_beside(page, "#add-provider-form", "services") == "条目太少"
    assert page.input_value("#provider-name") == name and page.input_value("#provider-capacity") == "8"
    assert snapshot(site.app) == before
    shot(page, f"{width}-provider-without-services")
    page.check('#add-provider-form input[value="meal_assistance"]')
    page.click("#add-provider-form button[type=submit]")
    page.wait_for_selector(f'#providers tr:has-text("{name}")')
    with site.session() as session:
        provider = session.scalar(select(Provider).where(Provider.name == name))
    assert (provider.kind, provider.services, provider.capacity) == ("volunteer_team", ["meal_assistance"], 8)
    page.click(f'#providers tr[data-provider="{provider.id}"] a.button')
    page.wait_for_url(f"**/app/admin/providers/{provider.id}")
    page.fill("#provider-name", "")
    page.fill("#provider-capacity", "")
    page.fill("#provider-contact", "李队长 13800000000")
    page.click("#edit-provider-form button[type=submit]")
    assert problem_beside(page, "#edit-provider-form", "name") == "name 不能为空。"
    assert page.input_value("#provider-contact") == "李队长 13800000000"
    shot(page, f"{width}-provider-name-cleared")
    page.fill("#provider-name", name)
    page.click("#edit-provider-form button[type=submit]")
    page.wait_for_url("**/app/admin/providers")
    page.goto(f"/app/admin/providers/{provider.id}")
    page.click("#toggle-provider-form button")
    page.wait_for_selector("#provider-state:has-text('已停用')")
    with site.session() as session:
        changed = session.get(Provider, provider.id)
    assert (changed.capacity, changed.contact, changed.active) == (None, "李队长 13800000000", False)
    shot(page, f"{width}-provider-deactivated")

    # The directory: exported, then imported back (nothing new).
    page.goto("/app/admin/providers")
    with page.expect_download() as download:
        page.click("#export-directory")
    document = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert any(o["name"] == name for o in document["organizations"])
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json", encoding="utf-8")
    page.set_input_files("#import-file", str(broken))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-form .form-error:has-text('文件不是 JSON。')")
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    page.set_input_files("#import-file", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report:not([hidden])")
    assert page.inner_text("#import-report .summary") == \
        f"新增 0,更新 0,未变 {len(document['organizations'])},未导入 0。"
    shot(page, f"{width}-directory-imported")

    # Decision reasons: a code that is no code is explained; a reason added, renamed and retired.
    page.click("#nav-reasons")
    page.wait_for_url("**/app/admin/reasons")
    code = f"no_vehicle_{width}"
    page.select_option("#reason-status", "rejected")
    page.fill("#reason-code", "No Vehicle")
    page.fill("#reason-zh", "没有车辆")
    page.fill("#reason-en", "No vehicle")
    page.click("#add-reason-form button[type=submit]")
    assert problem_beside(page, "#add-reason-form", "code").startswith("code 须为")
    assert page.input_value("#reason-zh") == "没有车辆"
    shot(page, f"{width}-reason-bad-code")
    page.fill("#reason-code", code)
    page.click("#add-reason-form button[type=submit]")
    row = page.locator(f'tr[data-reason="{code}"]')
    row.wait_for()
    row.locator('input[name="label_zh"]').fill("")
    row.locator("form.rename button").click()
    assert problem_beside(page, f'tr[data-reason="{code}"] form.rename', "label_zh") == "label_zh 不能为空。"
    row.locator('input[name="label_zh"]').fill("暂无车辆")
    row.locator("form.rename button").click()
    page.wait_for_selector(f'tr[data-reason="{code}"] input[value="暂无车辆"]')
    page.locator(f'tr[data-reason="{code}"] form.toggle button').click()
    page.wait_for_selector(f'tr[data-reason="{code}"][data-active="false"]')
    with site.session() as session:
        reason = session.scalar(select(ReferralReason).where(ReferralReason.code == code))
    assert (reason.status, reason.label_zh, reason.active) == ("rejected", "暂无车辆", False)
    shot(page, f"{width}-reasons")
