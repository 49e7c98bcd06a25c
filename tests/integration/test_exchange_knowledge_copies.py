"""The province's published knowledge in Kunming's own knowledge base, between two deployments in
processes of their own (the province's on SQLite and on PostgreSQL, Kunming's on SQLite): Kunming pulls
by itself every second; a Kunming agent's search finds the province's articles (whole province and
Kunming's scope, not Dali's, not drafts), marked with where they come from; nobody edits a copy; an
edit and a withdrawal at the province reach it; with the province down a pull says so and keeps every
copy; Kunming never passes the copies on (the province-wide one would go back to the province)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.exchange import knowledge_copies as kc
from app.exchange.models import KnowledgePull
from app.kb.models import KbArticle
from app.settings import ExchangePeer
from tests.exchange_cluster import province_and_prefectures
from tests.exchange_helpers import key
from tests.integration.test_cases_helpers import world
from tests.integration.test_exchange_knowledge import _article
from tests.waiting import wait_until


async def test_kunming_agents_find_the_provinces_knowledge_kept_in_step(tmp_path: Path, db_url: str):
    nodes = province_and_prefectures(
        tmp_path, {"prov": db_url, "km": f"sqlite+aiosqlite:///{tmp_path / 'km.db'}"}, with_dali=False
    )
    prov, km = nodes["prov"], nodes["km"]
    km.settings["exchange_peers"][0]["knowledge"] = True
    km.settings["exchange_knowledge_pull_s"] = 1
    try:
        await asyncio.gather(prov.start(), km.start())
        await prov.login("prov.root")
        await km.login("km.root", "km.agent")
        whole = await _article(prov, "居住证办理指南", "province")
        mine = await _article(prov, "昆明公交卡退卡", "kunming")
        await _article(prov, "大理古城停车", "dali")
        await _article(prov, "社保卡草稿", "province", status="draft")

        async def found(q: str) -> dict[str, dict[str, Any]]:
            r = await km.call("GET", "/api/kb/articles", "km.agent", params={"q": q})
            return {a["title"]: a for a in r["items"]}

        hits = await wait_until(lambda: found("居住证 公交卡 停车 社保卡"), 60, "the province's articles at Kunming",
                                check=lambda h: "居住证办理指南" in h and "昆明公交卡退卡" in h)  # fmt: skip
        assert set(hits) == {"居住证办理指南", "昆明公交卡退卡"}  # not Dali's, not a draft
        assert hits["居住证办理指南"]["origin"] == "prov-node" and hits["居住证办理指南"]["scope"] == "province"
        assert hits["昆明公交卡退卡"]["scope"] == "kunming"
        copy = await km.call("GET", f"/api/kb/articles/{hits['居住证办理指南']['id']}", "km.root")
        assert copy["origin"] == "prov-node" and copy["can_edit"] is False
        assert copy["body"] == "居住证办理指南：办理地点与材料。"
        # nobody edits a copy here, not even the administrator
        await km.call("PATCH", f"/api/kb/articles/{copy['id']}", "km.root", expect=403, json={"title": "改"})

        # the province edits one and withdraws the other: both reach Kunming by themselves
        await prov.call("PATCH", f"/api/kb/articles/{whole}", "prov.root", json={"title": "居住证办理指南（2027版）"})
        await prov.call("PATCH", f"/api/kb/articles/{mine}", "prov.root", json={"status": "retired"})
        hits = await wait_until(lambda: found("居住证 公交卡"), 60, "the edit and the withdrawal at Kunming",
                                check=lambda h: set(h) == {"居住证办理指南（2027版）"})  # fmt: skip
        assert hits["居住证办理指南（2027版）"]["id"] == copy["id"]  # the same copy, a new version
        versions = await km.call("GET", f"/api/kb/articles/{copy['id']}/versions", "km.root")
        assert [v["version"] for v in versions] == [2, 1] and "prov-node" in versions[0]["edited_by"]

        # Kunming passes on only what it wrote itself: the province's article does not come back to it
        theirs = await prov.call("GET", "/api/exchange/peers/km-node/knowledge", "prov.root")
        assert theirs["articles"] == []

        # the province is down: a pull by hand says so, the automatic ones record it, no copy is lost
        await prov.stop()
        r = await km.call("POST", "/api/exchange/peers/prov-node/knowledge/sync", "km.root", expect=502)
        assert "prov-node 不可达" in r["detail"]
        status = await km.call("GET", "/api/exchange/knowledge", "km.root")
        assert status[0]["peer"] == "prov-node" and status[0]["every_s"] == 1 and status[0]["copies"] == 1
        assert "不可达" in status[0]["last_error"]
        assert set(await found("居住证")) == {"居住证办理指南（2027版）"}

        # back up: the next pull clears the error, with nothing new to bring
        await prov.start()
        done = await km.call("POST", "/api/exchange/peers/prov-node/knowledge/sync", "km.root")
        assert (done["added"], done["updated"], done["withdrawn"], done["copies"], done["error"]) == (0, 0, 0, 1, None)
        status = await wait_until(lambda: km.call("GET", "/api/exchange/knowledge", "km.root"), 30,
                                  "the error cleared", check=lambda s: s[0]["last_error"] is None)  # fmt: skip
        assert status[0]["pulled_at"]
        await km.call("POST", "/api/exchange/peers/prov-node/knowledge/sync", "km.agent", expect=403)
    finally:
        await asyncio.gather(*(n.stop() for n in nodes.values()))


async def test_a_page_that_fails_applies_nothing_and_the_cursor_stays(tmp_path, db_url):
    """A peer answering a page that says there is more without moving on (it would be pulled for
    ever), or a page with one bad article among good ones: nothing of it is applied, the cursor stays.
    (The peer is an httpx transport: a deployment of this software does not answer so.)"""
    peer = ExchangePeer(name="prov-node", url="http://127.0.0.1:9", platforms=["province"], keys=[key("k1")])
    good = {"id": 7, "status": "published", "version": 1, "title": "居住证办理", "body": "材料：身份证。",
            "scope": "province", "updated_at": "2026-12-04T08:00:00+00:00"}  # fmt: skip
    async with world(tmp_path, db_url) as w:
        async with w.session() as s:
            s.add(KnowledgePull(peer="prov-node", updated_since="2026-12-04T07:00:00+00:00", after_id=3, copies=0))
            await s.commit()
        stuck = {"articles": [good], "more": True, "next": {"updated_since": "2026-12-04T07:00:00+00:00", "after_id": 3}}
        bad = {"articles": [good, {**good, "id": 8, "body": ""}], "more": False, "next": None}
        for answer, says in ((stuck, "还有下一页，却没有给出新的位置"), (bad, "has no title or no text")):
            transport = httpx.MockTransport(lambda _r, a=answer: httpx.Response(200, json=a))
            async with httpx.AsyncClient(transport=transport) as client:
                try:
                    await kc._one_page(w.runtime, peer, client, {}, kc.PullResult("prov-node"))
                except kc.PullError as e:
                    assert says in str(e)
                else:
                    raise AssertionError(f"{says}: not refused")
        async with w.session() as s:
            cur = await s.get(KnowledgePull, "prov-node")
            copies = list(await s.scalars(select(KbArticle).where(KbArticle.origin == "prov-node")))
        assert (cur.updated_since, cur.after_id, copies) == ("2026-12-04T07:00:00+00:00", 3, [])
