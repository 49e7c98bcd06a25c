"""Three deployments on loopback, each a real uvicorn server in its own process with its own
database (the province on PostgreSQL, the prefectures on SQLite): a case goes Kunming → province →
Dali and on to 办结 and 回访; Kunming sees each status. Then a peer is killed by its PID in the middle of
an exchange, messages are sent meanwhile, it is restarted: every message is applied exactly once and
both sides agree."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.cases import workflow as wf
from tests.conftest import _pg_admin
from tests.exchange_cluster import Node, province_and_prefectures
from tests.waiting import wait_until

pytestmark = pytest.mark.needs("postgres")


@asynccontextmanager
async def cluster(tmp_path: Path, pg_database: str, with_dali: bool = True) -> AsyncIterator[dict[str, Node]]:
    name = f"{pg_database.rsplit('/', 1)[1]}_{uuid.uuid4().hex[:6]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    urls = {
        "prov": f"{pg_database.rsplit('/', 1)[0]}/{name}",
        "km": f"sqlite+aiosqlite:///{tmp_path / 'km.db'}",
        "dl": f"sqlite+aiosqlite:///{tmp_path / 'dl.db'}",
    }
    nodes = province_and_prefectures(tmp_path, urls, with_dali)
    try:
        await asyncio.gather(*(n.start() for n in nodes.values()))
        yield nodes
    finally:
        await asyncio.gather(*(n.stop() for n in nodes.values()))
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _status(node: Node, who: str, number: str, status: str) -> dict | None:
    c = await node.case(who, number)
    return c if c is not None and c["status"] == status else None


def _replays(events: list[dict]) -> str:
    return wf.replay(wf.INTAKE, [(e["from_status"], e["action"], e["to_status"]) for e in events[1:]])


async def test_case_goes_prefecture_province_prefecture_and_back_to_visited(tmp_path, pg_database):
    async with cluster(tmp_path, pg_database) as n:
        km, prov, dl = n["km"], n["prov"], n["dl"]
        await km.login("km.agent", "km.root")
        await prov.login("prov.sup", "prov.root")
        await dl.login("dl.agent", "dlwater.h")
        created = await km.call("POST", "/api/cases", "km.agent", expect=201, json={
            "summary": "昆明至大理客运班车停运", "type": "complaint", "citizen_phone": "13912342345",
        })  # fmt: skip
        number = created["case"]["number"]
        await km.act("km.agent", number, "hand_over", target_platform="province", note="涉及跨州市客运")

        c = await wait_until(
            lambda: _status(prov, "prov.sup", number, "handed_over"), 60, "the 移交 at the province"
        )
        assert c["number"] == number and c["platform"] == "kunming" and c["transfer_to"] == "province"
        assert c["allowed_actions"] == ["accept_handover", "refuse_handover"]
        assert c["citizen_phone"] == "13912342345" and c["summary"] == "昆明至大理客运班车停运"
        await prov.act("prov.sup", number, "accept_handover")
        k = await wait_until(
            lambda: _status(km, "km.agent", number, "intake"), 60, "Kunming seeing the acceptance"
        )
        assert k["platform"] == "province" and k["allowed_actions"] == []  # Kunming only follows it now
        r = await km.call("POST", f"/api/cases/{number}/transitions", "km.root", expect=403,
                          json={"action": "dispatch", "unit_code": "km-water"})  # fmt: skip
        assert "只同步其状态" in r["detail"]  # not even Kunming's administrator acts on the province's case

        await prov.act("prov.sup", number, "hand_over", target_platform="dali", note="请大理州办理")
        d = await wait_until(lambda: _status(dl, "dl.agent", number, "handed_over"), 60, "the 移交 at Dali")
        assert d["allowed_actions"] == ["accept_handover", "refuse_handover"]
        seen = [
            (await wait_until(lambda: _status(km, "km.agent", number, "handed_over"), 60, "km: 移交待接收"))[
                "status_label"
            ]
        ]
        steps = [
            (dl, "dl.agent", "accept_handover", {}, "intake"),
            (dl, "dl.agent", "dispatch", {"unit_code": "dl-water"}, "dispatched"),
            (dl, "dlwater.h", "sign", {}, "signed"),
            (dl, "dlwater.h", "reply", {"note": "班车已恢复运营"}, "replied"),
            (dl, "dl.agent", "feedback", {}, "fed_back"),
            (dl, "dl.agent", "rate", {"rating": 1}, "visited"),
        ]  # fmt: skip
        for node, who, action, kw, status in steps:
            await node.act(who, number, action, **kw)
            k = await wait_until(
                lambda s=status: _status(km, "km.agent", number, s), 60, f"Kunming seeing {status}"
            )  # fmt: skip
            seen.append(k["status_label"])
            assert k["allowed_actions"] == []
        assert seen == ["移交待接收", "已受理", "已派单", "已签收", "已办结", "已反馈", "已回访"]
        assert k["platform"] == "dali" and k["answer"] == "班车已恢复运营" and k["rating"] == 1
        out = await km.call("GET", "/api/case-handovers?direction=out", "km.agent")
        assert [(h["state_label"], h["case_status_label"], h["rating"]) for h in out["items"]] == [
            ("已接收", "已回访", 1)
        ]

        # all three agree on the case and their audit logs replay through the transition table
        p = await wait_until(
            lambda: _status(prov, "prov.sup", number, "visited"), 60, "the province seeing 回访"
        )
        for c in (k, p, await dl.case("dl.agent", number)):
            assert c is not None and c["status"] == "visited" and _replays(c["events"]) == "visited"
        assert [e["action"] for e in k["events"]][-6:] == [s[2] for s in steps]
        for node, who in ((km, "km.root"), (prov, "prov.root")):
            peers = (await node.call("GET", "/api/exchange/peers", who))["peers"]
            assert all(x["pending"] == 0 and x["rejected"] == 0 and x["sent"] > 0 for x in peers), peers
            assert await node.call("GET", "/api/exchange/inbox?state=rejected", who) == []


async def _peer(node: Node, who: str) -> dict:
    return (await node.call("GET", "/api/exchange/peers", who))["peers"][0]


async def test_peer_killed_mid_exchange_every_message_applied_once(tmp_path, pg_database):
    async with cluster(tmp_path, pg_database, with_dali=False) as n:
        km, prov = n["km"], n["prov"]
        await km.login("km.agent", "km.root")
        await prov.login("prov.sup", "prov.root")
        numbers = []
        for i in range(6):
            c = await km.call(
                "POST", "/api/cases", "km.agent", expect=201, json={"summary": f"跨州市事项 {i}"}
            )
            numbers.append(c["case"]["number"])
        for number in numbers[:3]:
            await km.act("km.agent", number, "hand_over", target_platform="province", note="请省平台协调")
        await prov.kill()  # in the middle: some of these may have arrived, some not
        for number in numbers[3:]:
            await km.act("km.agent", number, "hand_over", target_platform="province", note="请省平台协调")

        async def down() -> dict | None:
            p = await _peer(km, "km.root")
            return p if p["health"] == "down" and p["pending"] >= 3 else None

        p = await wait_until(down, 60, "Kunming's administrator seeing the province down")
        assert p["last_error"] and p["oldest_pending_at"]
        undelivered = await km.call("GET", "/api/exchange/messages?status=pending", "km.root")
        assert {m["case_number"] for m in undelivered} >= set(numbers[3:])
        assert all(m["last_error"] for m in undelivered) and max(m["attempts"] for m in undelivered) >= 1

        await prov.start()
        await prov.login("prov.sup", "prov.root")
        for number in numbers:
            await wait_until(
                lambda x=number: _status(prov, "prov.sup", x, "handed_over"), 90, f"{number} at the province"
            )
        await wait_until(lambda: _peer(km, "km.root"), 60, "km peer")
        for number in numbers:
            await prov.act("prov.sup", number, "accept_handover")
        await km.kill()  # now the other way round
        for number in numbers[:2]:
            await prov.act("prov.sup", number, "hand_over", target_platform="qujing", note="属曲靖市事项")
        await km.start()
        await km.login("km.agent", "km.root")

        async def drained() -> bool:
            return (await _peer(km, "km.root"))["pending"] == 0 and (await _peer(prov, "prov.root"))[
                "pending"
            ] == 0

        await wait_until(drained, 90, "both outboxes drained")
        expected = ["create", "hand_over", "accept_handover"]
        for i, number in enumerate(numbers):
            status = "handed_over" if i < 2 else "intake"
            k = await wait_until(
                lambda x=number, s=status: _status(km, "km.agent", x, s), 60, f"{number} {status} at km"
            )
            p = await prov.case("prov.sup", number)
            assert p is not None
            want = expected + (["hand_over"] if i < 2 else [])
            assert [e["action"] for e in k["events"]] == want, k["events"]  # each applied exactly once
            assert [e["action"] for e in p["events"]] == want, p["events"]
            assert (k["status"], k["platform"], k["transfer_to"]) == (
                p["status"],
                p["platform"],
                p["transfer_to"],
            )
        for node, who, other in ((km, "km.root", prov), (prov, "prov.root", km)):
            assert await node.call("GET", "/api/exchange/inbox?state=rejected", who) == []
            assert await node.call("GET", "/api/exchange/inbox?state=parked", who) == []
            applied = await node.call("GET", "/api/exchange/inbox?state=applied", who)
            sent = await other.call(
                "GET", "/api/exchange/messages?status=sent", "km.root" if other is km else "prov.root"
            )
            assert sorted(m["message_id"] for m in applied) == sorted(m["message_id"] for m in sent)
