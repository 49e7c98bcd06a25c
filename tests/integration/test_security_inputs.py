"""Issue 14, defect 6 replayed: unchecked input gave 500s (one without login) and limit=-1 returned
every row. Every input is bounded and answered with a 4xx, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.integration.test_cases_helpers import world

HUGE = str(2**70)


async def test_huge_offsets_ids_and_limits_are_422(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        await w.create()
        w.client.cookies.clear()
        r = await w.client.get("/public/cases", params={"offset": HUGE})  # no login
        assert r.status_code == 422 and "offset" in r.text
        admin = w.h["root"]
        for path, params in (
            ("/api/cases", {"offset": HUGE}),
            ("/api/calls", {"offset": HUGE}),
            ("/api/outbox", {"case_id": HUGE}),
            ("/api/voicemail", {"limit": HUGE}),
            ("/api/cases", {"limit": -1}),
            ("/api/calls", {"limit": -1}),
            ("/api/outbox", {"limit": -1}),
            ("/api/voicemail", {"limit": -1}),
            ("/public/cases", {"limit": -1}),
            ("/api/admin/users", {"limit": -1}),
        ):
            who = w.h["km.sup"] if path == "/api/voicemail" else admin  # the inbox is for staff
            r = await w.client.get(path, params=params, headers=who)
            assert r.status_code == 422, (path, params, r.status_code, r.text)
        for path in (f"/api/recordings/{HUGE}", f"/api/recordings/{HUGE}/audio"):
            assert (await w.client.get(path, headers=w.h["km.agent"])).status_code == 422
        # in-range values still work
        r = await w.client.get("/public/cases", params={"offset": 1_000_000, "limit": 200})
        assert r.status_code == 200
        assert (await w.client.get("/api/outbox", params={"case_id": 1}, headers=admin)).status_code == 200


async def test_nulls_and_overlong_strings_are_422(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        admin = w.h["root"]
        for body in ({"kind": None}, {"active": None}, {"name": None}, {"platform": None}):
            r = await w.client.patch("/api/units/km-water", json=body, headers=admin)
            assert r.status_code == 422 and "cannot be null" in r.text, (body, r.text)
        r = await w.client.patch("/api/units/km-water", json={"phone": None}, headers=admin)
        assert r.status_code == 200 and r.json()["phone"] is None  # the one field that may be cleared
        r = await w.client.get("/api/units/km-water", headers=admin)
        assert r.json()["kind"] and r.json()["active"] is True  # nothing lost
        agent = w.h["km.agent"]
        for field, value in (("platform", "x" * 33), ("category_code", "c" * 17), ("prefecture", "p" * 33),
                             ("call_uniqueid", "u" * 65), ("citizen_phone", "1" * 33)):
            r = await w.client.post("/api/cases", json={"summary": "路灯坏了", field: value}, headers=agent)
            assert r.status_code == 422, (field, r.text)
        n = (await w.create())["case"]["number"]
        r = await w.client.post(f"/api/cases/{n}/transitions",
                                json={"action": "dispatch", "unit_code": "u" * 65}, headers=agent)
        assert r.status_code == 422
        r = await w.client.post("/api/units", json={"code": "km-gas", "name": "燃气", "platform": "kunming",
                                                   "phone": "9" * 33}, headers=admin)
        assert r.status_code == 422
        r = await w.client.post("/api/cases", json={"summary": "含\u0000字符"}, headers=agent)
        assert r.status_code in (201, 422), r.text  # never a 500 (PostgreSQL refuses NUL in text)
