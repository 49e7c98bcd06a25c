"""Signed knowledge pull between two deployments, each a real uvicorn server in its own process with
its own database (the province's on SQLite and on PostgreSQL): Kunming's administrator pulls the
province's published articles over the exchange protocol — only published ones, of the whole
province or Kunming's scope — then only what changed since, including a withdrawn article; an
unsigned or replayed pull is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from app.exchange import protocol as p
from tests.exchange_cluster import province_and_prefectures
from tests.exchange_helpers import signed


async def _article(prov, title: str, scope: str, status: str = "published") -> int:
    a = await prov.call("POST", "/api/kb/articles", "prov.root", expect=201, json={
        "title": title, "body": f"{title}：办理地点与材料。", "scope": scope, "status": status,
    })  # fmt: skip
    return int(a["id"])


async def test_kunming_pulls_the_provinces_published_knowledge_incrementally(tmp_path: Path, db_url: str):
    nodes = province_and_prefectures(
        tmp_path, {"prov": db_url, "km": f"sqlite+aiosqlite:///{tmp_path / 'km.db'}"}, with_dali=False
    )
    prov, km = nodes["prov"], nodes["km"]
    try:
        await asyncio.gather(prov.start(), km.start())
        await prov.login("prov.root")
        await km.login("km.root", "km.agent")
        whole = await _article(prov, "全省通用：居住证办理", "province")
        mine = await _article(prov, "昆明：公交卡退卡", "kunming")
        await _article(prov, "大理：古城停车", "dali")  # another prefecture's: not Kunming's to read
        draft = await _article(prov, "全省草稿：尚未发布", "province", status="draft")

        page = await km.call("GET", "/api/exchange/peers/prov-node/knowledge", "km.root")
        assert page["node"] == "prov-node" and page["more"] is False
        got = {a["id"]: a for a in page["articles"]}
        assert set(got) == {whole, mine}
        assert got[whole]["title"] == "全省通用：居住证办理" and got[whole]["scope"] == "province"
        assert got[mine]["scope"] == "kunming" and got[mine]["body"] == "昆明：公交卡退卡：办理地点与材料。"
        cursor = page["next"]

        # nothing changed: an incremental pull brings nothing
        again = await km.call("GET", "/api/exchange/peers/prov-node/knowledge", "km.root", params=cursor)
        assert again["articles"] == []

        # an edit, a withdrawal and a first publication: exactly those three, in the order they happened
        await prov.call(
            "PATCH", f"/api/kb/articles/{whole}", "prov.root", json={"title": "全省通用：居住证办理（新）"}
        )
        await prov.call("PATCH", f"/api/kb/articles/{mine}", "prov.root", json={"status": "retired"})
        await prov.call("PATCH", f"/api/kb/articles/{draft}", "prov.root", json={"status": "published"})
        delta = await km.call("GET", "/api/exchange/peers/prov-node/knowledge", "km.root", params=cursor)
        assert [(a["id"], a["status"]) for a in delta["articles"]] == [
            (whole, "published"), (mine, "withdrawn"), (draft, "published"),
        ]  # fmt: skip
        assert delta["articles"][0]["title"] == "全省通用：居住证办理（新）"
        assert "title" not in delta["articles"][1] and "body" not in delta["articles"][1]

        # paging: one article per page, following ``next``, gives the same three
        seen, cur = [], cursor
        for _ in range(5):
            one = await km.call(
                "GET", "/api/exchange/peers/prov-node/knowledge", "km.root", params={**cur, "limit": 1}
            )
            seen += [a["id"] for a in one["articles"]]
            cur = one["next"]
            if not one["more"]:
                break
        assert seen == [whole, mine, draft]

        # only administrators pull; the province answers only signed, fresh requests
        await km.call("GET", "/api/exchange/peers/prov-node/knowledge", "km.agent", expect=403)
        async with httpx.AsyncClient(base_url=prov.url, trust_env=False) as c:
            r = await c.get(p.KNOWLEDGE_PATH)
            assert r.status_code == 401 and r.json()["error"] == "unsigned"
            path = f"{p.KNOWLEDGE_PATH}?limit=10"
            h = signed(b"", "km-prov-1", path=path, method="GET")
            r = await c.get(path, headers=h)
            assert r.status_code == 200 and {a["id"] for a in r.json()["articles"]} == {whole, draft}
            r = await c.get(path, headers=h)
            assert r.status_code == 409 and r.json()["error"] == "replayed_nonce"
            r = await c.get(
                f"{p.KNOWLEDGE_PATH}?limit=11", headers=signed(b"", "km-prov-1", path=path, method="GET")
            )
            assert r.status_code == 401 and r.json()["error"] == "bad_signature"
    finally:
        await asyncio.gather(*(n.stop() for n in nodes.values()))
