"""The administrator's 拒收邮件 page in headless Chromium: a hostile mail delivered into a real Dovecot
mailbox is refused by the reader and shown on the page (masked sender, reason, what was kept), reached
from the navigation bar; taken in again it is still refused (the page says why), and the administrator
dismisses it with a reason; an agent's page shows nothing of it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.mail.models import RefusedMail
from app.settings import MailboxSetting
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import free_port, make_settings
from tests.dovecot import Dovecot
from tests.integration.test_cases_helpers import seed, write_rules
from tests.system.test_mail_imap import _many_parts
from tests.waiting import wait_until

pytestmark = pytest.mark.needs("dovecot", "chromium")


async def test_admin_sees_refused_mail_in_the_page(tmp_path, sqlite_url):
    dovecot = Dovecot(tmp_path / "dovecot", free_port())
    try:  # stopped (by PID) even when its start fails half-way
        dovecot.start()
        box = MailboxSetting(platform="kunming", host="127.0.0.1", port=dovecot.port, tls="none",
                             user=dovecot.user, password=dovecot.password)  # fmt: skip
        settings = make_settings(tmp_path, sqlite_url, mailboxes=[box], mail_poll_s=0.3)
        write_rules(settings.var_dir)
        async with live_server(settings) as (app, base):
            async with httpx.AsyncClient(base_url=base) as client:
                await seed(app, client)
            dovecot.deliver(_many_parts(60))

            async def refused() -> list[RefusedMail]:
                async with app.state.runtime.db.sessionmaker() as s:
                    return list(await s.scalars(select(RefusedMail)))

            await wait_until(refused, 60, "the hostile mail refused and kept")
            async with chromium() as browser:
                page = await login_page(browser, base, "root")
                await page.goto(f"{base}/ui/exchange")
                await page.click("nav#nav >> text=拒收邮件")
                await page.wait_for_url(f"{base}/ui/mail")
                row = page.locator("#rows tr", has_text="e***@spam.test")
                await row.wait_for()
                text = await row.inner_text()
                assert "领奖通知" in text and "邮件分段超过 50 个" in text and "邮件原文" in text
                assert "evil@spam.test" not in await page.content()
                # taken in again it is still refused, and the page says why; then dismissed with a reason
                await row.locator("button.retake").click()
                await page.wait_for_function("() => document.getElementById('err').textContent.includes('重新受理失败')")
                assert "仍无法受理：邮件分段超过 50 个" in await page.locator("#err").inner_text()
                await row.locator("input").fill("群发广告，不予受理")
                await row.locator("button.dismiss").click()
                await page.wait_for_function("() => document.getElementById('ok').textContent.includes('不予受理')")
                assert "没有待处理的拒收邮件" in await page.locator("#rows").inner_text()
                await page.select_option("#st", "")
                row = page.locator("#rows tr", has_text="e***@spam.test")
                await row.wait_for()
                assert "不予受理" in await row.inner_text() and "群发广告" in await row.inner_text()
                await page.screenshot(path=str(screenshot_path("mail-refused-admin")), full_page=True)

                agent = await login_page(browser, base, "km.agent")
                await agent.goto(f"{base}/ui/mail")
                await agent.wait_for_function("() => document.getElementById('err').textContent !== ''")
                assert "e***@spam.test" not in await agent.locator("#rows").inner_text()
                assert await agent.locator("nav#nav >> text=拒收邮件").count() == 0
    finally:
        dovecot.stop()
