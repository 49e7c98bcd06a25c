"""Role and scope checks on every case/unit/outbox route."""

from __future__ import annotations

from tests.integration.test_cases_helpers import world


async def test_scope_by_unit_and_platform_on_every_case_route(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create())["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        dl = (await w.create("dl.agent", summary="洱海边噪声", citizen_phone="13700001111"))["case"]["number"]
        assert dl.startswith("DL-")

        outsiders = ["dl.agent", "housing.h", "dlwater.h"]  # another prefecture's agent; other units
        for who in outsiders:
            await w.get(who, n, expect=404)
            r = await w.client.get(f"/api/cases/{n}/events", headers=w.h[who])
            assert r.status_code == 404
            for action in ("sign", "return", "progress", "reply", "remind", "dispatch"):
                r = await w.client.post(
                    f"/api/cases/{n}/transitions", json={"action": action, "note": "x"}, headers=w.h[who]
                )
                assert r.status_code == 404, (who, action, r.text)
            r = await w.client.post(f"/api/cases/{n}/merge", json={"into": dl}, headers=w.h[who])
            assert r.status_code in (403, 404)
        # lists are scoped the same way
        r = await w.client.get("/api/cases", headers=w.h["dl.agent"])
        assert [c["number"] for c in r.json()["items"]] == [dl]
        r = await w.client.get("/api/cases", headers=w.h["water.h"])
        assert [c["number"] for c in r.json()["items"]] == [n]
        r = await w.client.get("/api/cases", headers=w.h["housing.h"])
        assert r.json()["items"] == []
        for who in ("prov.sup", "root"):  # the province and the administrator see every platform
            r = await w.client.get("/api/cases", headers=w.h[who])
            assert {c["number"] for c in r.json()["items"]} == {n, dl}
        r = await w.client.get("/api/cases/board", headers=w.h["dl.agent"])
        assert r.status_code == 200

        # roles: units cannot create, search by phone, see the board, rate or remind
        assert (
            await w.client.post("/api/cases", json={"summary": "x"}, headers=w.h["water.h"])
        ).status_code == 403
        r = await w.client.get("/api/cases", params={"citizen_phone": "13912342345"}, headers=w.h["water.h"])
        assert r.status_code == 403
        assert (await w.client.get("/api/cases/board", headers=w.h["water.h"])).status_code == 403
        r = await w.client.post(f"/api/cases/{n}/rating", json={"rating": 1}, headers=w.h["water.h"])
        assert r.status_code == 403
        r = await w.client.post(f"/api/cases/{n}/remind", json={}, headers=w.h["km.agent"])
        assert r.status_code == 403
        # a Dali agent cannot take a case for Kunming
        r = await w.client.post(
            "/api/cases", json={"summary": "x", "platform": "kunming"}, headers=w.h["dl.agent"]
        )
        assert r.status_code == 403 and "转办" in r.json()["detail"]
        # no login, forged token
        w.client.cookies.clear()  # the login call left a session cookie
        assert (await w.client.get(f"/api/cases/{n}")).status_code == 401
        r = await w.client.get("/api/cases", headers={"Authorization": "Bearer forged"})
        assert r.status_code == 401
        # the audit log has no update/delete API
        for method in ("PUT", "PATCH", "DELETE"):
            r = await w.client.request(method, f"/api/cases/{n}/events", headers=w.h["root"])
            assert r.status_code == 405


async def test_confidential_case_hides_phone_from_units(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        n = (await w.create(confidential=True, citizen_name="李四"))["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        c = await w.get("water.h", n)
        assert c["citizen_phone"] == "139****2345" and c["citizen_name"] == "李*"
        c = await w.get("km.sup", n)
        assert c["citizen_phone"] == "13912342345"


async def test_units_directory_admin_only_writes(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        body = {"code": "km-gas", "name": "昆明燃气", "kind": "utility", "platform": "kunming"}
        for who in ("km.agent", "km.sup", "water.h"):
            assert (await w.client.post("/api/units", json=body, headers=w.h[who])).status_code == 403
        r = await w.client.post("/api/units", json=body, headers=w.h["root"])
        assert r.status_code == 201 and r.json()["name"] == "昆明燃气"
        assert (await w.client.post("/api/units", json=body, headers=w.h["root"])).status_code == 409
        bad = {**body, "code": "x-gas", "platform": "atlantis"}
        r = await w.client.post("/api/units", json=bad, headers=w.h["root"])
        assert r.status_code == 422 and "未知平台" in r.json()["detail"]
        assert (await w.client.get("/api/units/nope", headers=w.h["km.agent"])).status_code == 404
        r = await w.client.patch("/api/units/km-gas", json={"active": False}, headers=w.h["root"])
        assert r.json()["active"] is False
        r = await w.client.patch("/api/units/km-gas", json={"active": True}, headers=w.h["km.sup"])
        assert r.status_code == 403
        r = await w.client.get(
            "/api/units", params={"platform": "kunming", "active": True}, headers=w.h["km.agent"]
        )
        assert [u["code"] for u in r.json()] == ["km-housing", "km-power", "km-water"]
        n = (await w.create())["case"]["number"]
        r = await w.act("km.agent", n, "dispatch", unit_code="km-gas", expect=422)
        assert "已停用" in r["detail"]
        # the outbox holds every platform's phone numbers: administrators only
        assert (await w.client.get("/api/outbox", headers=w.h["km.sup"])).status_code == 403
        r = await w.client.get("/api/outbox", headers=w.h["root"])
        assert r.status_code == 200 and r.json()[0]["kind"] == "receipt"
