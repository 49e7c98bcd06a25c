"""Hot topics over cases in the database (SQLite and PostgreSQL): a generated fortnight of everyday
cases in three prefectures, then the planted bursts of the last day; found in their own place, none
before they were planted, the alert raised once, the trend, the scope, and the page in Chromium."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from app.cases.models import Case
from app.outbox.models import OutboxMessage
from app.reports import hot_service
from app.reports.models import TopicAlert
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import add_user, make_settings
from tests.hot_corpus import PLANTED, corpus
from tests.integration.test_cases_helpers import local, world
from tests.report_month import Clock

DAYS = 15
FIRST = local(2026, 10, 17, 9, 0)  # day 0; the last day (14) is Oct 31
NOW = local(2026, 10, 31, 20, 0)


async def add_cases(app: Any, docs: list[Any], tag: str) -> None:
    async with app.state.runtime.db.sessionmaker() as s:
        for i, d in enumerate(docs):
            at = FIRST + timedelta(days=d.day, minutes=i % 600)
            s.add(
                Case(number=f"{tag}-{i}", platform=d.prefecture, prefecture=d.prefecture, channel="phone",
                     type="complaint", category_code=f"{d.category}01", summary=d.text[:255], detail="",
                     created_at=at, updated_at=at)
            )  # fmt: skip
        await s.commit()


def planted_only() -> list[Any]:
    every = corpus(DAYS, planted=True, seed=7)
    usual = corpus(DAYS, planted=False, seed=7)
    return every[len(usual) :]  # the generator appends the planted texts last


async def test_planted_bursts_found_alerted_once_and_in_scope(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        rt = w.runtime
        rt.settings.smtp_host, rt.settings.report_recipients = "127.0.0.1", ["director@hotline.test"]
        sup = w.h["prov.sup"]
        await add_cases(w.app, corpus(DAYS, planted=False, seed=7), "U")
        clock = await Clock(w).load()
        clock.at(NOW)  # time-machine, and session tokens issued at that time
        try:
            r = await w.client.get("/api/hot-topics?day=2026-10-31", headers=sup)
            assert r.status_code == 200, r.text
            assert r.json()["bursts"] == []  # everyday matters only: nothing invented
            assert r.json()["top"]  # yet the day has its words
            async with rt.db.sessionmaker() as s:
                assert await hot_service.alert_sweep(rt, s, NOW, force=True) == 0

            await add_cases(w.app, planted_only(), "P")
            hot = (await w.client.get("/api/hot-topics?day=2026-10-31", headers=sup)).json()
            places = {(b["prefecture_label"], b["category_label"]) for b in hot["bursts"]}
            assert places == {("曲靖", "城乡建设"), ("大理", "生态环境")}, hot["bursts"]
            assert any("停水" in b["term"] for b in hot["bursts"] if b["prefecture"] == "qujing")
            assert all(b["count"] >= 9 for b in hot["bursts"])
            pref = {p["prefecture"]: [t["term"] for t in p["terms"]] for p in hot["by_prefecture"]}
            assert set(pref) == {"kunming", "dali", "qujing"}

            # the alert: once per burst, with an e-mail to the report recipients
            async with rt.db.sessionmaker() as s:
                n = await hot_service.alert_sweep(rt, s, NOW, force=True)
                await s.commit()
            assert n == len(hot["bursts"])
            async with rt.db.sessionmaker() as s:
                assert await hot_service.alert_sweep(rt, s, NOW, force=True) == 0
                alerts = list(await s.scalars(select(TopicAlert)))
                mails = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "hot_topic")))
            assert {a.prefecture for a in alerts} == {"qujing", "dali"}
            assert len(mails) == 1 and mails[0].recipient == "director@hotline.test"
            assert mails[0].body.startswith("热点预警（2026-10-31）") and "曲靖 · 城乡建设" in mails[0].body
            hot = (await w.client.get("/api/hot-topics?day=2026-10-31", headers=sup)).json()
            assert len(hot["alerts"]) == len(alerts)

            # the trend of 停水 in Qujing: next to nothing, then the burst
            term = PLANTED[0][2][:0] or "停水"
            t = (
                await w.client.get(
                    f"/api/hot-topics/trend?term={term}&start=2026-10-17&end=2026-10-31&platform=qujing",
                    headers=sup,
                )
            ).json()
            counts = [d["count"] for d in t["days"]]
            assert len(counts) == 15 and counts[-1] >= 14 and max(counts[:-1]) <= 3, counts

            # scope: Kunming's supervisor sees Kunming only, where nothing burst
            km = (await w.client.get("/api/hot-topics?day=2026-10-31", headers=w.h["km.sup"])).json()
            assert km["bursts"] == [] and [p["prefecture"] for p in km["by_prefecture"]] == ["kunming"]
            r = await w.client.get("/api/hot-topics?day=2026-10-31&platform=qujing", headers=w.h["km.sup"])
            assert r.status_code == 403
            assert (
                await w.client.get("/api/hot-topics?day=2026-10-31", headers=w.h["km.agent"])
            ).status_code == 403
            r = await w.client.get(
                f"/api/hot-topics/trend?term={term}&start=2026-10-31&end=2026-10-01", headers=sup
            )
            assert r.status_code == 400
        finally:
            clock.stop()


async def test_hot_topics_page(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "prov.sup", "supervisor", platform="province")
        await add_cases(app, corpus(DAYS, planted=True, seed=7), "C")
        with time_machine.travel(NOW, tick=True):
            async with chromium() as browser:
                page = await login_page(browser, base, "prov.sup")
                await page.goto(f"{base}/ui/hot-topics?day=2026-10-31")
                await page.locator("#bursts tr[data-term]").first.wait_for()
                rows = page.locator("#bursts tr[data-term]")
                labels = {
                    await rows.nth(i).locator("td").nth(2).text_content() for i in range(await rows.count())
                }
                assert labels == {"曲靖", "大理"}
                await page.locator("#svg circle.pt").nth(29).wait_for()
                assert await page.locator("#svg circle.pt").count() == 30
                await page.locator("#bursts tr[data-term]").last.click()
                last = await rows.last.get_attribute("data-term")
                await page.wait_for_function(
                    f"() => document.getElementById('trend_term').textContent === {last!r}"
                )
                assert "曲靖" in (await page.text_content("#places") or "")
                # the map: 16 prefecture tiles with their Chinese names, the two with bursts coloured
                tiles = page.locator("#map_svg g.tile")
                assert await tiles.count() == 16
                seen = {}
                for i in range(16):
                    t = tiles.nth(i)
                    fill = await t.locator("rect").get_attribute("fill")
                    name = await t.locator("text").first.text_content()
                    seen[await t.get_attribute("data-prefecture")] = (
                        name,
                        fill,
                        await t.get_attribute("data-bursts"),
                    )
                assert (
                    seen["qujing"][0] == "曲靖" and seen["dali"][0] == "大理" and seen["diqing"][0] == "迪庆"
                )
                hot = {code for code, (_, fill, n) in seen.items() if fill != "#eceff1"}
                assert hot == {"qujing", "dali"}
                assert all(int(seen[c][2]) >= 1 for c in hot)
                assert "非真实边界" in (await page.text_content("#map h2") or "")
                await page.screenshot(path=screenshot_path("hot-topics-page"), full_page=True)
