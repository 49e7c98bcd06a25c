"""A citizen on a phone (390×844, headless Chromium): submits a request with a photo, sees the case
number at once; after the unit replies and the office feeds back, tracks it with number + phone,
reads the reply and rates it 满意."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from app.cases.models import Case
from tests.browser import PW_TIMEOUT_MS, chromium, live_server, screenshot_path
from tests.conftest import make_settings
from tests.integration.test_cases_helpers import seed, write_rules

PHONE = "13987112345"
REPLY = "已安排维修人员于12月3日更换灯泡，现已恢复照明。"


async def _act(client, h, number, action, **kw):
    r = await client.post(f"/api/cases/{number}/transitions", json={"action": action, **kw}, headers=h)
    assert r.status_code == 200, r.text


async def test_citizen_submits_tracks_reads_reply_and_rates_on_a_phone(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    photo = tmp_path / "lamp.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)
    async with live_server(settings) as (app, base), httpx.AsyncClient(base_url=base) as api:
        h = await seed(app, api)
        async with chromium() as browser:
            ctx = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                            is_mobile=True, has_touch=True)  # fmt: skip
            page = await ctx.new_page()
            page.set_default_timeout(PW_TIMEOUT_MS)
            await page.goto(f"{base}/citizen")
            await page.wait_for_selector("#type option[value=complaint]", state="attached")
            await page.select_option("#type", "complaint")
            await page.fill("#text", "我家小区门口的路灯坏了一个多星期，晚上出行很不安全。")
            await page.fill("#place", "昆明市五华区翠湖南路")
            await page.fill("#phone", PHONE)
            await page.set_input_files("#file", str(photo))
            await page.click("#sbtn")
            number = (await (await page.wait_for_selector("#done-number")).text_content() or "").strip()
            assert "已受理" in (await page.text_content("#sdone") or "")
            await page.screenshot(path=screenshot_path("citizen-submitted-phone"), full_page=True)
            # the page fits the phone: nothing wider than the screen
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390

            async with app.state.runtime.db.sessionmaker() as s:
                case = await s.scalar(select(Case).where(Case.number == number))
            assert case.channel == "web" and case.platform == "kunming"

            # the office dispatches, the unit signs and replies, the office feeds back
            await _act(api, h["km.agent"], number, "dispatch", unit_code="km-power")
            await _act(api, h["power.h"], number, "sign")
            await _act(api, h["power.h"], number, "reply", note=REPLY)
            await _act(api, h["km.agent"], number, "feedback")

            await page.click("#tab-track")
            await page.fill("#tnum", number)
            await page.fill("#tphone", PHONE)
            await page.click("#tf button[type=submit]")
            await page.wait_for_selector("#r-answer-box:not([hidden])")
            assert await page.text_content("#r-answer") == REPLY
            assert await page.text_content("#r-status") == "已反馈"
            await page.click("#r-rate button[data-r='1']")
            await page.wait_for_selector("#r-rated:not([hidden])")
            assert await page.text_content("#r-rated") == "您的评价：满意"
            await page.screenshot(path=screenshot_path("citizen-tracked-phone"), full_page=True)

            # someone else's number with this case: nothing shown
            await page.fill("#tphone", "13987100000")
            await page.click("#tf button[type=submit]")
            await page.wait_for_selector("#tres", state="hidden")
            assert await page.text_content("#terr") == "工单号或手机号不正确"
        async with app.state.runtime.db.sessionmaker() as s:
            case = await s.scalar(select(Case).where(Case.number == number))
        assert case.rating == 1
