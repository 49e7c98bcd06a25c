"""Units as peers: a utility's own system, a separate process on loopback implementing the exchange
protocol with the standard library only (tests/unit_peer.py: HMAC signing and checking included),
and the hotline, a real uvicorn server in its own process with its own database (SQLite, PostgreSQL).

A case dispatched to the unit goes out as a signed message carrying the same deadlines a unit page
shows; the unit's system signs for it, reports progress, asks for an extension (the supervisor
decides on our page and the unit hears it), is supervised (督办) and replies — each step taken through
the case table as a unit user's click would be. Another case is returned by the unit and then
dispatched to a page-based unit: the unit's system hears nothing more of it. A tampered delivery is
refused and changes nothing; a duplicated one is applied once; deliveries sent in reverse order are
applied in the order they were made; a step that does not fit the case is refused (409)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO, free_port
from tests.exchange_cluster import Node, base_settings
from tests.exchange_helpers import key
from tests.waiting import wait_until

UNIT_KEY = key("kmwater-1")


class UnitSystem:
    """tests/unit_peer.py in its own process, stopped by its PID."""

    def __init__(self, d: Path, hotline: Node) -> None:
        self.port = free_port()
        self.cfg = {
            "port": self.port, "node": "km-water-sys", "hotline_node": "km-node", "hotline_url": hotline.url,
            "key_id": UNIT_KEY["id"], "secret": UNIT_KEY["secret"], "unit": "km-water",
        }  # fmt: skip
        self.dir = d
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "unit.json").write_text(json.dumps(self.cfg), encoding="utf-8")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(REPO / "tests" / "unit_peer.py"), str(self.dir / "unit.json")
        )

        async def up() -> bool:
            assert self.proc is not None and self.proc.returncode is None
            try:
                await self.state()
            except httpx.HTTPError:
                return False
            return True

        await wait_until(up, 60, "the unit's system answering")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            await self.proc.wait()

    async def state(self) -> dict[str, Any]:
        async with httpx.AsyncClient(trust_env=False) as c:
            return (await c.get(self.url + "/control/state")).json()  # type: ignore[no-any-return]

    async def case(self, number: str) -> dict[str, Any] | None:
        return (await self.state())["cases"].get(number)

    async def post(self, path: str, **body: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(trust_env=False, timeout=60) as c:
            r = await c.post(self.url + path, json=body)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def act(self, number: str, action: str, note: str | None = None, deliver: str = "send") -> Any:
        return await self.post("/control/act", case_number=number, action=action, note=note, deliver=deliver)


def hotline(tmp: Path, db_url: str) -> Node:
    node = Node("km", tmp / "km", {}, users=[
        {"username": "km.agent", "role": "agent", "platform": "kunming"},
        {"username": "km.sup", "role": "supervisor", "platform": "kunming"},
        {"username": "kmpower.h", "role": "unit", "platform": "kunming", "unit_code": "km-power"},
    ], units=[("km-water", "昆明供水公司", "utility", "kunming"), ("km-power", "昆明供电局", "utility", "kunming")])  # fmt: skip
    return node


def at(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


async def test_a_utilitys_own_system_signs_replies_and_returns_over_the_protocol(tmp_path: Path, db_url: str):
    km = hotline(tmp_path, db_url)
    unit = UnitSystem(tmp_path / "unit", km)
    km.settings = base_settings(km.dir, db_url, "km-node", exchange_platforms=["kunming"], exchange_peers=[
        {"name": "km-water-sys", "url": unit.url, "platforms": [], "units": ["km-water"], "keys": [UNIT_KEY]},
    ])  # fmt: skip
    try:
        await asyncio.gather(km.start(), unit.start())
        await km.login("km.agent", "km.sup", "kmpower.h")

        async def new_case(summary: str) -> str:
            c = await km.call("POST", "/api/cases", "km.agent", expect=201, json={"summary": summary})
            return str(c["case"]["number"])

        async def status(number: str, want: str) -> dict[str, Any] | None:
            c = await km.case("km.sup", number)
            return c if c is not None and c["status"] == want else None

        async def unit_heard(number: str, n: int) -> dict[str, Any] | None:
            c = await unit.case(number)
            return c if c is not None and len(c["events"]) >= n else None

        # 派单 to the water company: its system receives the case with our deadlines
        a = await new_case("金碧路停水三天无人处理")
        await km.act("km.agent", a, "dispatch", unit_code="km-water", note="请核查")
        got = await wait_until(lambda: unit_heard(a, 1), 60, "the dispatch at the unit's system")
        ours = await km.case("km.sup", a)
        assert got["events"][0]["action"] == "dispatch" and got["events"][0]["data"]["unit"] == "km-water"
        assert got["snapshot"]["summary"] == "金碧路停水三天无人处理" and got["status"] == "dispatched"
        assert at(got["snapshot"]["due_at"]) == at(ours["sign_due"]) == at(ours["due_at"])  # 签收期限
        assert at(got["snapshot"]["handle_due"]) == at(ours["handle_due"])  # 办理期限
        assert ours["lead_unit"] == "km-water"

        # 签收, sent twice (a retry): applied once, deadlines as for a page-based unit
        r = await unit.act(a, "sign", deliver="twice")
        assert [x["answer"]["status"] for x in r["results"]] == ["applied", "duplicate"], r
        c = await km.case("km.sup", a)
        assert (
            c["status"] == "signed" and c["return_due"] is not None and at(c["due_at"]) == at(c["handle_due"])
        )
        signs = [e for e in c["events"] if e["action"] == "sign"]
        assert (
            len(signs) == 1
            and signs[0]["actor_name"] == "王工（km-water-sys）"
            and signs[0]["actor_role"] == "unit"
        )

        # tampered on the way: refused, nothing changed; the unit's system sends it again, intact
        before = await km.case("km.sup", a)
        r = await unit.act(a, "progress", note="已派抢修队", deliver="tamper")
        assert r["results"][0]["http"] == 401 and r["results"][0]["answer"]["error"] == "bad_signature"
        assert (await km.case("km.sup", a))["events"] == before["events"]
        r = await unit.post("/control/resend", raw=json.dumps(r["message"], ensure_ascii=False))
        assert r["results"][0]["answer"]["status"] == "applied"
        assert (await km.case("km.sup", a))["status"] == "in_progress"

        # 督办: the supervisor's reminder reaches the unit's system
        n = len((await unit.case(a))["events"])
        await km.act("km.sup", a, "remind", note="市民多次来电，请加快")
        heard = await wait_until(lambda: unit_heard(a, n + 1), 60, "the 督办 at the unit's system")
        assert (
            heard["events"][-1]["action"] == "remind"
            and heard["events"][-1]["note"] == "市民多次来电，请加快"
        )

        # 申请延期 over the protocol; the supervisor approves on our side; the unit hears the new deadline
        await unit.act(a, "request_extension", note="管网更换需五个工作日")
        await wait_until(lambda: status(a, "extension_requested"), 30, "the extension request")
        old_due = at((await km.case("km.sup", a))["handle_due"])
        await km.act("km.sup", a, "approve_extension")
        heard = await wait_until(lambda: unit_heard(a, n + 2), 60, "the approval at the unit's system")
        assert heard["events"][-1]["action"] == "approve_extension" and heard["status"] == "in_progress"
        new_due = at(heard["snapshot"]["handle_due"])
        assert new_due is not None and old_due is not None and new_due > old_due
        assert new_due == at((await km.case("km.sup", a))["handle_due"])

        # a second case: three steps made by the unit and delivered in reverse order — parked, then
        # applied in the order they were made
        b = await new_case("北京路燃气表漏水")
        await km.act("km.agent", b, "dispatch", unit_code="km-water")
        await wait_until(lambda: unit_heard(b, 1), 60, "the second dispatch")
        for action, note in (("sign", None), ("progress", "已到场"), ("reply", "已更换水表，恢复供水")):
            await unit.act(b, action, note=note, deliver="hold")
        r = await unit.post("/control/release", order="reverse")
        assert [x["answer"]["status"] for x in r["results"]] == ["parked", "parked", "applied"], r
        c = await km.case("km.sup", b)
        assert c["status"] == "replied" and c["answer"] == "已更换水表，恢复供水"
        assert [e["action"] for e in c["events"]][-3:] == ["sign", "progress", "reply"]

        # a step that does not fit the case (退回 after 办结): refused with the reason, nothing changed
        r = await unit.act(b, "return", note="不属于我司")
        assert r["results"][0]["http"] == 409 and r["results"][0]["answer"]["error"] == "conflict"
        assert (await km.case("km.sup", b))["status"] == "replied"

        # a third case returned by the unit with its reason; re-dispatched to a page-based unit, whose
        # user signs it on our side; the water company's system hears nothing of it after its return
        d = await new_case("路灯电缆被挖断")
        await km.act("km.agent", d, "dispatch", unit_code="km-water")
        await wait_until(lambda: unit_heard(d, 1), 60, "the third dispatch")
        r = await unit.act(d, "return", note="属供电部门职责")
        assert r["results"][0]["answer"]["status"] == "applied"
        c = await km.case("km.sup", d)
        assert c["status"] == "returned" and c["events"][-1]["note"] == "属供电部门职责"
        await km.act("km.agent", d, "dispatch", unit_code="km-power")
        await km.act("kmpower.h", d, "sign")
        await km.act("km.sup", a, "remind", note="第二次督办")  # a marker: case a's traffic still flows
        await wait_until(lambda: unit_heard(a, n + 3), 60, "the second 督办")
        assert len((await unit.case(d))["events"]) == 1  # only its dispatch; not the re-dispatch nor 签收

        # our messages reached it signed and checked: nothing refused on its side
        assert (await unit.state())["refusals"] == []
        # both sides agree on what the unit did: every step of case a appears once here
        acts = [e["action"] for e in (await km.case("km.sup", a))["events"]]
        assert acts == ["create", "dispatch", "sign", "progress", "remind", "request_extension",
                        "approve_extension", "remind"]  # fmt: skip
    finally:
        await asyncio.gather(km.stop(), unit.stop())


async def test_what_a_units_system_does_is_published_like_a_unit_users_click(tmp_path: Path, db_url: str):
    """The pages and the wallboard hear of a unit system's 签收 as of a unit user's (case.transition,
    after the commit); a refused step publishes nothing."""
    from app.cases.models import Case
    from tests.conftest import make_settings, running_app
    from tests.exchange_helpers import dumps, message, signed
    from tests.integration.test_cases_helpers import seed, write_rules

    settings = make_settings(
        tmp_path, db_url, exchange_node="km-node", exchange_platforms=["kunming"],
        exchange_peers=[{"name": "km-water-sys", "url": "http://127.0.0.1:9", "platforms": [],
                         "units": ["km-water"], "keys": [UNIT_KEY]}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        h = await seed(app, client)
        seen: list[tuple[str, str | None, str | None, str | None]] = []

        async def on_event(ev: Any) -> None:
            async with app.state.runtime.db.sessionmaker() as s:  # committed: another session reads it
                from sqlalchemy import select

                case = await s.scalar(select(Case).where(Case.number == ev.data["number"]))
                seen.append(
                    (ev.topic, ev.data.get("to"), ev.data.get("lead_unit"), case.status if case else None)
                )

        r = await client.post("/api/cases", json={"summary": "水管爆裂"}, headers=h["km.agent"])
        number = r.json()["case"]["number"]
        r = await client.post(f"/api/cases/{number}/transitions", headers=h["km.agent"],
                              json={"action": "dispatch", "unit_code": "km-water"})  # fmt: skip
        assert r.status_code == 200, r.text
        app.state.runtime.hub.subscribe("case.", on_event)

        def from_unit(seq: int, action: str, frm: str, to: str) -> bytes:
            m = message("km-water-sys", "km-node", number, seq, action=action, actor="王工", actor_role="unit",
                        data={"unit": "km-water"}, **{"from": frm, "to": to})  # fmt: skip
            return dumps(m)

        body = from_unit(1, "sign", "dispatched", "signed")
        r = await client.post("/exchange/v1/messages", content=body, headers=signed(body, UNIT_KEY["id"]))
        assert r.status_code == 200 and r.json()["status"] == "applied", r.text
        await wait_until(lambda: seen, 10, "the 签收 event")
        assert seen == [("case.transition", "signed", "km-water", "signed")]
        body = from_unit(2, "sign", "dispatched", "signed")  # again: does not fit (already signed)
        r = await client.post("/exchange/v1/messages", content=body, headers=signed(body, UNIT_KEY["id"]))
        assert r.status_code == 409 and r.json()["error"] == "conflict"
        body = from_unit(3, "reply", "signed", "replied")  # in a batch this time
        batch = dumps({"protocol": "hotline-exchange/1", "messages": [json.loads(body)]})
        r = await client.post(
            "/exchange/v1/batch",
            content=batch,
            headers=signed(batch, UNIT_KEY["id"], path="/exchange/v1/batch"),
        )
        assert r.json()["results"][0]["status"] == "applied", r.text
        assert len(seen) <= 2 and seen[0][1] == "signed"  # nothing for the refused step
        await wait_until(lambda: len(seen) == 2, 10, "the 办结 event")
        assert seen[1] == ("case.transition", "replied", "km-water", "replied")
