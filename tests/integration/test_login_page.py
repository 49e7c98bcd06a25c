"""The login page in headless Chromium: wrong password shows an error; right password goes to the role's home."""

from __future__ import annotations

from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import add_user, make_settings


async def test_login_page_in_browser(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "wang.sup", "supervisor", platform="kunming")
        async with chromium() as browser:
            page = await login_page(browser, base, "wang.sup", "wrong-password")
            assert await page.text_content("#err") == "用户名或密码错误"
            await page.screenshot(path=str(screenshot_path("login-error")))
            await page.fill("#p", "correct-horse-42")
            await page.click("button[type=submit]")
            await page.wait_for_url("**/ui/wallboard*")
