"""The unit handler's page and the supervision board in headless Chromium."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.cases import service
from app.cases.context import of_runtime
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.db import utcnow
from app.units.schemas import UnitCreate
from app.units.service import create_unit
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import add_user, make_settings
from tests.integration.test_cases_helpers import local, write_rules


async def _setup(app, then: datetime, extension: bool = False) -> list[str]:
    """Two cases of km-water dispatched at `then`; with `extension`, the second signed and asking
    for an extension (its due time is then the handling deadline)."""
    await add_user(
        app, "water.h", "unit", platform="kunming", unit_code="km-water", display_name="供水经办人"
    )
    await add_user(app, "km.sup", "supervisor", platform="kunming", display_name="督办员")
    ctx = of_runtime(app.state.runtime)
    numbers = []
    async with app.state.runtime.db.sessionmaker() as s:
        await create_unit(
            s, UnitCreate(code="km-water", name="昆明市供水公司", kind="utility", platform="kunming")
        )
        sup = await s.scalar(select(User).where(User.username == "km.sup"))
        unit = await s.scalar(select(User).where(User.username == "water.h"))
        for summary in ("小区停水三天", "水压不足"):
            c = await service.create_case(
                s,
                CaseCreate(summary=summary, citizen_phone="13912342345", platform="kunming"),
                sup,
                now=then,
                ctx=ctx,
            )
            await service.transition(s, c, "dispatch", sup, now=then, ctx=ctx, unit_code="km-water")
            numbers.append(c.number)
        if extension:
            await service.transition(s, c, "sign", unit, now=then, ctx=ctx)
            await service.transition(s, c, "request_extension", unit, "需更换管道", now=then, ctx=ctx)
        await s.commit()
    return numbers


async def test_unit_handler_signs_a_case_in_the_page(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base):
        first, _ = await _setup(app, utcnow() - timedelta(minutes=5))
        async with chromium() as browser:
            page = await login_page(browser, base, "water.h")
            await page.wait_for_url("**/ui/unit")
            row = page.locator(f"tr[data-number='{first}']")
            await row.wait_for()
            assert await row.locator(".status").text_content() == "已派单"
            await row.locator("button.open").click()
            # the lead unit is offered exactly what the transition table allows, with its labels
            await page.locator("#d-actions button[data-action=sign]").wait_for()
            assert await page.locator("#d-actions button").all_text_contents() == ["退回", "签收"]
            await page.locator("#d-actions button[data-action=sign]").click()
            await page.wait_for_function(
                f"() => document.querySelector(\"tr[data-number='{first}'] .status\").textContent === '已签收'"
            )
            await page.wait_for_function("() => document.getElementById('d-title').textContent.includes('已签收')")
            await page.screenshot(path=str(screenshot_path("cases-unit-signed")), full_page=True)
            # a return needs a reason: the page shows the refusal, nothing changes
            await page.locator("#d-actions button[data-action=return]").click()
            await page.wait_for_function("() => document.getElementById('err').textContent.includes('操作失败')")
    async with app.state.runtime.db.sessionmaker() as s:
        case = await s.scalar(select(Case).where(Case.number == first))
        assert case.status == "signed" and case.signed_at is not None


# The clock is pinned (time_machine, ticking from there) to days chosen for the calendar: cases dispatched
# 10 days earlier are late to sign (2 working hours) every time; the one asking for an extension is
# late only if its 5 working days have passed, which holidays and swapped working days decide.
BOARD_DAYS = [
    pytest.param(local(2026, 11, 26, 10, 0), 2, id="ordinary-thursday"),
    pytest.param(local(2026, 2, 13, 10, 0), 2, id="eve-of-spring-festival"),  # dispatched Tue 3 Feb
    # a swapped working Saturday: dispatched Wed 18 Feb in the holiday, 5 working days end 28 Feb 10:00
    pytest.param(local(2026, 2, 28, 14, 0), 2, id="tiaoxiu-saturday-after-spring-festival"),
    # a swapped working Saturday: dispatched Wed 30 Sep, National Day 1-7 Oct: due Tue 13 Oct
    pytest.param(local(2026, 10, 10, 10, 0), 1, id="tiaoxiu-saturday-after-national-day"),
]


@pytest.mark.parametrize(("now", "n_red"), BOARD_DAYS)
async def test_supervision_board_shows_red_case_and_sends_reminder(tmp_path, sqlite_url, now, n_red):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    with time_machine.travel(now, tick=True):  # pinned before the app starts: one clock throughout
        async with live_server(settings) as (app, base):
            await _board(app, base, now, n_red)


async def _board(app, base: str, now: datetime, n_red: int) -> None:
    late, ext = await _setup(app, now - timedelta(days=10), extension=True)
    async with chromium() as browser:
        page = await login_page(browser, base, "km.sup")
        await page.goto(f"{base}/ui/office")
        red = page.locator(f"#board tr.red[data-number='{late}']")
        await red.wait_for()
        assert "超期" in await red.text_content()
        assert await page.text_content("#n-red") == str(n_red)  # the extension request late or not
        assert await page.locator("#board tr.red").count() == n_red
        color = await red.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert color == "rgb(253, 228, 228)"  # red row
        await page.screenshot(path=str(screenshot_path("cases-office-board")), full_page=True)
        await red.locator("button.remind").click()
        await page.locator(f"#ext tr[data-number='{ext}'] button.ok").click()
        await page.wait_for_function("() => document.getElementById('n-ext').textContent === '0'")
    async with app.state.runtime.db.sessionmaker() as s:
        case = await s.scalar(select(Case).where(Case.number == late))
        events = [e.action for e in await service.events_of(s, case)]
        assert events[-1] == "remind"
        case = await s.scalar(select(Case).where(Case.number == ext))
        assert case.status == "in_progress" and case.extension_count == 1


async def test_agent_creates_and_dispatches_in_the_page(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base):
        await add_user(app, "km.agent", "agent", platform="kunming", display_name="话务员")
        async with app.state.runtime.db.sessionmaker() as s:
            await create_unit(
                s, UnitCreate(code="km-water", name="昆明市供水公司", kind="utility", platform="kunming")
            )
            await s.commit()
        async with chromium() as browser:
            page = await login_page(browser, base, "km.agent")
            await page.goto(f"{base}/ui/cases")
            await page.wait_for_function("() => document.getElementById('unit').options.length === 1")
            await page.select_option("#type", "complaint")
            await page.select_option("#cat", "0101")
            await page.fill("#summary", "小区停水")
            await page.fill("#phone", "13912342345")
            await page.click("#f button[type=submit]")
            await page.wait_for_function("() => document.getElementById('created').textContent.includes('已受理')")
            number = (await page.text_content("#created")).split("：")[1]
            await page.fill("#summary", "又停水了")
            await page.click("#f button[type=submit]")
            await page.wait_for_function(
                "() => document.querySelectorAll('#dups button').length === 1"
            )  # duplicate offered
            row = page.locator("#rows tr", has_text=number)
            await row.locator("button.disp").click()
            await row.wait_for(state="detached")
            await page.screenshot(path=str(screenshot_path("cases-agent-page")), full_page=True)
    async with app.state.runtime.db.sessionmaker() as s:
        case = await s.scalar(select(Case).where(Case.number == number))
        assert case.status == "dispatched" and case.lead_unit == "km-water" and case.category_code == "0101"
