"""An administrator sets an agent's skills with levels on 用户管理 (headless Chromium): the saved
skills are shown again after a reload, bad input is refused with a Chinese message and nothing is
changed, and only agents have the field."""

from __future__ import annotations

from sqlalchemy import select

from tests.browser import PW_TIMEOUT_MS, chromium, live_server, login_page
from tests.conftest import add_user, make_settings


async def _skills(app, username: str) -> str | None:
    from app.auth.models import User

    async with app.state.runtime.db.sessionmaker() as s:
        return await s.scalar(select(User.skills).where(User.username == username))


async def test_admin_sets_an_agents_skills_on_the_users_page(tmp_path, db_url):
    async with live_server(make_settings(tmp_path, db_url)) as (app, base):
        await add_user(app, "root", "admin")
        await add_user(app, "shi.km", "agent", platform="kunming", sip_endpoint="agent-1001")
        async with chromium() as browser:
            page = await login_page(browser, base, "root")
            await page.goto(f"{base}/ui/admin/users")
            row = "tr[data-user='shi.km']"
            await page.wait_for_selector(f"{row} input.skills")
            assert await page.locator("tr[data-user='root'] input.skills").count() == 0  # admins hold no skills
            await page.wait_for_selector("#skillhelp:has-text('market＝市场监管（12315）')", timeout=PW_TIMEOUT_MS)
            assert "等待 30 秒" in (await page.text_content("#skillhelp") or "")

            await page.fill(f"{row} input.skills", "market:5，yi:3")
            await page.click(f"{row} button[data-act=skills]")
            await page.wait_for_selector("#msg:has-text('已保存 shi.km 的技能')", timeout=PW_TIMEOUT_MS)
            assert await _skills(app, "shi.km") == "market:5,yi:3"

            await page.reload()
            await page.wait_for_selector(f"{row} input.skills")
            assert await page.input_value(f"{row} input.skills") == "market:5,yi:3"

            # an unknown skill: refused by the server, in Chinese; the stored skills stay
            await page.fill(f"{row} input.skills", "cooking:3")
            await page.click(f"{row} button[data-act=skills]")
            await page.wait_for_selector("#err:has-text('未知技能')", timeout=PW_TIMEOUT_MS)
            # a level out of range: refused on the page
            await page.fill(f"{row} input.skills", "market:8")
            await page.click(f"{row} button[data-act=skills]")
            await page.wait_for_selector("#err:has-text('等级（1-5）')", timeout=PW_TIMEOUT_MS)
            assert await _skills(app, "shi.km") == "market:5,yi:3"

            # clearing the field removes every skill
            await page.fill(f"{row} input.skills", "")
            await page.click(f"{row} button[data-act=skills]")
            await page.wait_for_selector("#msg:has-text('已保存 shi.km 的技能')", timeout=PW_TIMEOUT_MS)
            assert await _skills(app, "shi.km") is None
