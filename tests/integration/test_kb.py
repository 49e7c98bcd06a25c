"""Knowledge base on SQLite and PostgreSQL: ranked Chinese search, scope and ownership, versions,
review reminders, import, the public view, and 直接答复 citing an article."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.cases.scheduler import run_once
from app.db import utcnow
from app.outbox.models import OutboxMessage
from tests.integration.test_cases_helpers import World, world

ARTICLES = [
    # (title, keywords, category, body)
    (
        "住房公积金提取办理指南",
        "公积金 提取",
        "0105",
        "职工购买、建造、翻建、大修自住住房，或离休、退休，可以提取住房公积金。提取时携带身份证和相关证明，"
        "到公积金管理中心柜台或通过网上服务大厅办理，审核通过后三个工作日内到账。",
    ),
    (
        "住房公积金贷款额度怎么计算",
        "公积金 贷款 额度",
        "0105",
        "公积金贷款额度按照借款人缴存余额的倍数计算，同时不超过当地最高贷款额度。贷款期限最长三十年。",
    ),
    (
        "社保卡丢失怎么挂失和补办",
        "社保卡 挂失 补办",
        "0402",
        "社会保障卡丢失后，请立即拨打社保服务电话或通过手机应用办理临时挂失，再携带身份证到任一社保卡服务网点补办，"
        "补办一般当场制卡。",
    ),
    (
        "停水信息查询",
        "停水 供水",
        "0101",
        "计划停水信息会提前在供水公司网站和微信公众号公布。突发停水可拨打供水公司服务热线报修，维修期间提供临时供水。",
    ),
    (
        "医保异地就医备案",
        "医保 异地 备案",
        "0402",
        "参保人员到外地就医，应先办理异地就医备案。可以通过国家医保服务平台应用或参保地医保经办机构办理备案。",
    ),
]


async def _article(w: World, who: str = "prov.sup", expect: int = 201, **kw: Any) -> dict[str, Any]:
    r = await w.client.post("/api/kb/articles", json=kw, headers=w.h[who])
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


async def _seed_articles(w: World) -> dict[str, int]:
    ids = {}
    for title, kw, cat, body in ARTICLES:
        a = await _article(
            w, title=title, keywords=kw, category_code=cat, body=body, status="published", scope="province"
        )
        ids[title] = a["id"]
    return ids


async def _titles(w: World, who: str, url: str) -> list[str]:
    r = await w.client.get(url, headers=w.h[who])
    assert r.status_code == 200, r.text
    return [i["title"] for i in r.json()["items"]]


async def test_chinese_search_ranks_what_the_caller_asks_about_first(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        await _seed_articles(w)
        # "公积金怎么提取": the withdrawal guide first, the loan article (公积金 only) after it, nothing else
        got = await _titles(w, "km.agent", "/api/kb/articles?q=公积金怎么提取")
        assert got == ["住房公积金提取办理指南", "住房公积金贷款额度怎么计算"]
        # a word found inside a longer word: 社保 finds 社保卡
        got = await _titles(w, "km.agent", "/api/kb/articles?q=我的社保卡丢了怎么办")
        assert got[0] == "社保卡丢失怎么挂失和补办"
        assert "停水信息查询" not in got
        # a transcript-like sentence with filler words still finds the matter
        got = await _titles(
            w, "km.agent", "/api/kb/articles?q=" + "喂你好我想问一下我们小区停水了什么时候来水啊"
        )
        assert got[0] == "停水信息查询"
        # the terms a user's query was reduced to are shown (no filler words)
        r = await w.client.get("/api/kb/articles?q=我想问一下医保异地备案", headers=w.h["km.agent"])
        body = r.json()
        assert body["items"][0]["title"] == "医保异地就医备案"
        assert "我" not in body["terms"] and "医保" in body["terms"]
        assert body["items"][0]["snippet"]
        # nothing matches: an empty list, not an error
        assert await _titles(w, "km.agent", "/api/kb/articles?q=火星移民") == []
        # hostile query text is only words: FTS operators and quotes are not interpreted
        for q in ['" OR 1=1 --', "公积金 NEAR(提取)", "'|!&:*"]:
            r = await w.client.get("/api/kb/articles", params={"q": q}, headers=w.h["km.agent"])
            assert r.status_code == 200, (q, r.text)


async def test_suggestions_follow_the_category_and_the_text(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        await _seed_articles(w)
        # while the phone rings there are no words yet: the call's category gives its articles
        r = await w.client.get("/api/kb/suggest?category=0402", headers=w.h["km.agent"])
        assert {i["title"] for i in r.json()["items"]} == {"社保卡丢失怎么挂失和补办", "医保异地就医备案"}
        # words: the text decides; the category lifts its articles among equal matches
        r = await w.client.get("/api/kb/suggest", params={"text": "公积金"}, headers=w.h["km.agent"])
        assert [i["title"] for i in r.json()["items"]][:2] == [
            "住房公积金提取办理指南",
            "住房公积金贷款额度怎么计算",
        ] or [i["title"] for i in r.json()["items"]][:2] == [
            "住房公积金贷款额度怎么计算",
            "住房公积金提取办理指南",
        ]
        r = await w.client.get(
            "/api/kb/suggest", params={"text": "办理 补办 备案", "category": "0402"}, headers=w.h["km.agent"]
        )
        top = [i["title"] for i in r.json()["items"]]
        assert set(top[:2]) == {"社保卡丢失怎么挂失和补办", "医保异地就医备案"}
        # units do not take calls
        r = await w.client.get("/api/kb/suggest?text=公积金", headers=w.h["water.h"])
        assert r.status_code == 403


async def test_scope_ownership_and_versions(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        # a unit writes for its own platform and owns what it writes
        a = await _article(
            w, "water.h", title="昆明停水报修流程", body="停水请拨打供水服务热线报修。", status="published"
        )
        assert (a["scope"], a["owner_unit"], a["owner_name"], a["version"]) == (
            "kunming",
            "km-water",
            "昆明市供水公司",
            1,
        )
        # ...not for the whole province, not for another unit
        await _article(w, "water.h", 403, title="全省", body="x", scope="province")
        await _article(w, "water.h", 403, title="别人的", body="x", owner_unit="km-power")
        # agents read, never write
        await _article(w, "km.agent", 403, title="话务员", body="x")
        # another platform's agent does not see a kunming article; kunming's and the province's do
        assert await _titles(w, "dl.agent", "/api/kb/articles?q=停水报修") == []
        assert await _titles(w, "km.agent", "/api/kb/articles?q=停水报修") == ["昆明停水报修流程"]
        r = await w.client.get(f"/api/kb/articles/{a['id']}", headers=w.h["dl.agent"])
        assert r.status_code == 404
        assert await _titles(w, "prov.sup", "/api/kb/articles?q=停水报修") == ["昆明停水报修流程"]
        # another unit may not edit it; the owner may, and the old text stays in the history
        r = await w.client.patch(f"/api/kb/articles/{a['id']}", json={"body": "改"}, headers=w.h["power.h"])
        assert r.status_code == 403
        r = await w.client.patch(
            f"/api/kb/articles/{a['id']}",
            json={
                "title": "昆明市停水报修",
                "body": "停水请拨打 0871-12345 供水服务热线报修，二十四小时有人值守。",
                "note": "补充电话",
            },
            headers=w.h["water.h"],
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2
        r = await w.client.get(f"/api/kb/articles/{a['id']}/versions", headers=w.h["water.h"])
        hist = r.json()
        assert [(v["version"], v["title"]) for v in hist] == [(2, "昆明市停水报修"), (1, "昆明停水报修流程")]
        assert hist[0]["note"] == "补充电话"
        # the index follows the edit: the new words find it, the old title's wording still does via body
        assert await _titles(w, "km.agent", "/api/kb/articles?q=值守") == ["昆明市停水报修"]
        # a draft is invisible to agents and to the public, visible to its editors
        d = await _article(w, "water.h", title="草稿：水费减免", body="水费减免政策草稿")
        assert await _titles(w, "km.agent", "/api/kb/articles?q=水费减免") == []
        assert await _titles(w, "water.h", "/api/kb/articles?q=水费减免") == ["草稿：水费减免"]
        r = await w.client.get(f"/public/kb/articles/{d['id']}")
        assert r.status_code == 404
        # retiring removes it from agents' search
        r = await w.client.patch(
            f"/api/kb/articles/{a['id']}", json={"status": "retired"}, headers=w.h["km.sup"]
        )
        assert r.status_code == 200 and r.json()["version"] == 3
        assert await _titles(w, "km.agent", "/api/kb/articles?q=值守") == []
        # bad input: unknown category and scope are refused with the reason
        r = await w.client.post(
            "/api/kb/articles",
            json={"title": "x", "body": "y", "category_code": "9999"},
            headers=w.h["km.sup"],
        )
        assert r.status_code == 422 and "未知分类" in r.json()["detail"]
        r = await w.client.post(
            "/api/kb/articles", json={"title": "x", "body": "y", "scope": "mars"}, headers=w.h["km.sup"]
        )
        assert r.status_code == 422 and "适用范围" in r.json()["detail"]


async def test_review_date_passed_sends_one_reminder_to_the_owner(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        yesterday = (utcnow() + timedelta(hours=8) - timedelta(days=1)).date().isoformat()
        a = await _article(
            w,
            "water.h",
            title="水表报装",
            body="水表报装需要房产证。",
            status="published",
            review_due=yesterday,
        )
        await _article(w, "water.h", title="未到期", body="内容", status="published", review_due="2099-01-01")
        r = await w.client.get("/api/kb/articles/" + str(a["id"]), headers=w.h["water.h"])
        assert r.json()["review_overdue"] is True
        r = await w.client.get("/api/kb/articles?review_overdue=true", headers=w.h["water.h"])
        assert [i["title"] for i in r.json()["items"]] == ["水表报装"]
        await run_once(w.runtime)
        await run_once(w.runtime)  # idempotent: one reminder per review date
        async with w.session() as s:
            msgs = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "kb_review")))
        assert [(m.channel, m.recipient) for m in msgs] == [("unit", "km-water")]
        assert "水表报装" in msgs[0].body and yesterday in msgs[0].body
        # a new review date (also past) gets its own reminder
        r = await w.client.patch(
            f"/api/kb/articles/{a['id']}", json={"review_due": "2020-01-01"}, headers=w.h["water.h"]
        )
        assert r.status_code == 200
        await run_once(w.runtime)
        async with w.session() as s:
            n = len(list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "kb_review"))))
        assert n == 2


CSV = """标题,正文,关键词,分类,复审日期
燃气开户,燃气开户请携带身份证和房产证到燃气公司营业厅办理。,燃气 开户,0103,2027-06-30
"路灯不亮, 怎么报修",路灯故障可以拨打12345或市政热线报修。,路灯,0104,
"""
MARKDOWN = """# 出租车投诉
分类: 0202
关键词: 出租车 拒载

乘客遇到出租车拒载、绕路，可以记下车牌号拨打12345投诉。

# 噪声扰民
分类: 0301
夜间施工噪声扰民，可向生态环境部门反映。
"""


async def test_import_csv_and_markdown_all_or_nothing(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        r = await w.client.post(
            "/api/kb/import",
            json={"format": "csv", "content": CSV, "status": "published"},
            headers=w.h["km.sup"],
        )
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 2
        r = await w.client.post(
            "/api/kb/import",
            json={"format": "markdown", "content": MARKDOWN, "status": "published"},
            headers=w.h["km.sup"],
        )
        assert r.status_code == 200 and r.json()["created"] == 2
        assert await _titles(w, "km.agent", "/api/kb/articles?q=路灯坏了") == ["路灯不亮, 怎么报修"]
        assert await _titles(w, "km.agent", "/api/kb/articles?q=出租车拒载") == ["出租车投诉"]
        a = (await w.client.get("/api/kb/articles?q=燃气开户", headers=w.h["km.agent"])).json()["items"][0]
        full = (await w.client.get(f"/api/kb/articles/{a['id']}", headers=w.h["km.agent"])).json()
        assert (full["category_code"], full["review_due"], full["scope"]) == ("0103", "2027-06-30", "kunming")
        # one bad row: nothing imported, the line is named
        bad = "标题,正文,分类\n好的一条,内容,0101\n坏的一条,内容,9999\n"
        r = await w.client.post(
            "/api/kb/import", json={"format": "csv", "content": bad}, headers=w.h["km.sup"]
        )
        assert r.status_code == 422 and "line 3" in r.text
        assert await _titles(w, "km.sup", "/api/kb/articles?q=好的一条") == []
        r = await w.client.post(
            "/api/kb/import", json={"format": "csv", "content": "a,b\n1,2\n"}, headers=w.h["km.sup"]
        )
        assert r.status_code == 422 and "header" in r.text
        # hostile CSV (found by the schema fuzzer): a bare carriage return inside a field, a field over the
        # csv module's limit — a clear refusal naming the line, never a server error
        for content, said in (("标题,正文\n好\r的,内容\n", "line 2: body"), ("标题,正文\nx," + "长" * 140_000 + "\n", "line 2: not readable as CSV")):
            r = await w.client.post("/api/kb/import", json={"format": "csv", "content": content}, headers=w.h["km.sup"])
            assert r.status_code == 422 and said in r.text, r.text[:300]
        r = await w.client.post(
            "/api/kb/import", json={"format": "csv", "content": CSV}, headers=w.h["km.agent"]
        )
        assert r.status_code == 403


async def test_public_reads_published_articles_without_internal_fields(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ids = await _seed_articles(w)
        await _article(w, "water.h", title="内部草稿公积金", body="公积金内部口径")
        r = await w.client.get("/public/kb/articles", params={"q": "公积金提取"})
        assert r.status_code == 200
        items = r.json()
        assert [i["title"] for i in items] == ["住房公积金提取办理指南", "住房公积金贷款额度怎么计算"]
        assert set(items[0]) == {"id", "title", "body", "category_name", "scope_name", "updated_at"}
        r = await w.client.get(f"/public/kb/articles/{ids['社保卡丢失怎么挂失和补办']}")
        assert r.status_code == 200 and r.json()["scope_name"] == "全省"
        page = await w.client.get("/public/kb")
        assert page.status_code == 200 and "知识库" in page.text


async def test_direct_answer_citing_an_article_closes_the_consultation(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ids = await _seed_articles(w)
        case = (await w.create(type="consultation", summary="咨询公积金提取"))["case"]
        art = ids["住房公积金提取办理指南"]
        r = await w.client.post(
            f"/api/kb/articles/{art}/answer", json={"case_number": case["number"]}, headers=w.h["km.agent"]
        )
        assert r.status_code == 200, r.text
        got = await w.get("km.agent", case["number"])
        assert got["status"] == "answered_directly" and "提取住房公积金" in got["answer"]
        ev = got["events"][-1]
        assert (ev["action"], ev["action_label"]) == ("answer_kb", "知识库直接答复")
        assert ev["data"]["article"] == {"id": art, "title": "住房公积金提取办理指南", "version": 1}
        assert (await w.client.get(f"/api/kb/articles/{art}", headers=w.h["km.agent"])).json()["cited"] == 1
        # once answered it cannot be answered again; another platform's agent cannot see the case
        r = await w.client.post(
            f"/api/kb/articles/{art}/answer", json={"case_number": case["number"]}, headers=w.h["km.agent"]
        )
        assert r.status_code == 409
        other = (await w.create(type="consultation", summary="咨询"))["case"]
        r = await w.client.post(
            f"/api/kb/articles/{art}/answer", json={"case_number": other["number"]}, headers=w.h["dl.agent"]
        )
        assert r.status_code == 404
        # the plain transition endpoint cannot fake a citation
        r = await w.client.post(
            f"/api/cases/{other['number']}/transitions",
            json={"action": "answer_kb", "note": "x"},
            headers=w.h["km.agent"],
        )
        assert r.status_code == 422 and "article" in r.text
        # a unit cannot answer on the hotline's behalf
        r = await w.client.post(
            f"/api/kb/articles/{art}/answer", json={"case_number": other["number"]}, headers=w.h["water.h"]
        )
        assert r.status_code == 403


async def test_direct_answer_from_an_article_counts_in_the_report_figures(tmp_path, db_url):
    """直接答复 from the knowledge base counts as a direct answer (and as finished, on time) in the
    reports, and the drill-down of 直接答复占比 lists the case."""
    from zoneinfo import ZoneInfo

    async with world(tmp_path, db_url) as w:
        ids = await _seed_articles(w)
        answered = (await w.create(type="consultation", summary="咨询公积金提取"))["case"]
        await w.create(type="consultation", summary="另一件咨询")
        r = await w.client.post(
            f"/api/kb/articles/{ids['住房公积金提取办理指南']}/answer", json={"case_number": answered["number"]},
            headers=w.h["km.agent"],
        )  # fmt: skip
        assert r.status_code == 200, r.text
        today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
        span = f"start={today}&end={today}&period=total"
        r = await w.client.get(f"/api/reports?{span}", headers=w.h["prov.sup"])
        assert r.status_code == 200, r.text
        t = r.json()["total"]
        assert (t["cases"], t["direct"], t["finished"]) == (2, 1, 1)
        assert t["direct_share"] == 0.5 and t["on_time_rate"] == 1.0
        drill = await w.client.get(f"/api/reports/drill?{span}&figure=direct_share", headers=w.h["prov.sup"])
        assert drill.status_code == 200, drill.text
        assert answered["number"] in drill.text and "另一件咨询" not in drill.text
